"""The lab and swarmctl's plumbing, on real hosts over SSH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import ansible_cmd, lab_leftovers, on, swarmctl

pytestmark = pytest.mark.lab


def test_every_host_answers_ansible_over_ssh(shared_lab):
    lab, result = shared_lab
    inventory = Path(result["inventory"])
    ping = ansible_cmd(inventory, "all", "ping")
    assert ping.rc == 0, ping
    names = [h["name"] for h in result["hosts"]]
    for name in names:
        assert f"{name} | SUCCESS" in ping.stdout
    facts = ansible_cmd(inventory, "all", "setup", "gather_subset=!all,!min,distribution filter=ansible_distribution*")
    assert facts.rc == 0, facts
    assert facts.stdout.count('"ansible_distribution_major_version": "12"') == len(names)
    # Reached over SSH as an unprivileged user that may become root, like a real server.
    whoami = ansible_cmd(inventory, "all", "command", "id -un", become=True)
    assert whoami.stdout.count("(stdout) root") == len(names), whoami


def test_hosts_have_their_own_ssh_host_keys_and_no_docker(shared_lab):
    lab, result = shared_lab
    known = Path(lab.known_hosts_path).read_text().split("\n")
    keys = [line.split()[2] for line in known if line.strip()]
    assert len(keys) == len(result["hosts"]) == len(set(keys))
    # A fresh server: the toolkit installs the engine itself.
    check = ansible_cmd(Path(result["inventory"]), "all", "command", "systemctl is-system-running")
    assert check.stdout.count("running") >= len(result["hosts"]), check


def test_inventory_is_a_normal_yaml_inventory(shared_lab):
    lab, result = shared_lab
    data = yaml.safe_load(Path(result["inventory"]).read_text())
    children = data["all"]["children"]
    assert list(children["managers"]["hosts"]) == ["base2"]
    assert list(children["workers"]["hosts"]) == ["base3", "base4"]
    assert list(children["registry"]["hosts"]) == ["foundation78"]
    assert children["managers"]["hosts"]["base2"]["ansible_host"] == "172.25.90.12"
    key = Path(data["all"]["vars"]["ansible_ssh_private_key_file"])
    assert key.stat().st_mode & 0o777 == 0o600


def test_lab_up_on_a_running_lab_changes_nothing(shared_lab):
    lab, _ = shared_lab
    again = swarmctl("lab", "up", "--name", lab.name, "--json")
    assert again.rc == 0, again
    (event,) = [e for e in again.json_lines() if e["event"] == "lab"]
    assert event["changed"] is False and event["image_built"] is False


def test_lab_status_reports_every_host(shared_lab):
    lab, result = shared_lab
    status = swarmctl("lab", "status", "--name", lab.name, "--json")
    assert status.rc == 0, status
    (event,) = status.json_lines()
    assert [(h["name"], h["state"], h["ssh"]) for h in event["hosts"]] == [
        (h["name"], "running", True) for h in result["hosts"]
    ]


def test_up_twice_second_run_changes_nothing(converged):
    _, result, first = converged
    assert first.summary()["changed"] > 0
    # From bare hosts, each engine is installed with its daemon.json already written: none needs a restart.
    restarts = [(e["host"], a) for e in first.json_lines() if e.get("event") == "host_result"
                for a in e.get("actions", []) if a == "restarted docker"]
    assert restarts == [], restarts
    second = swarmctl("up", "-i", result["inventory"], "--json")
    assert second.rc == 0, second
    summary = second.summary()
    assert summary["status"] == "successful" and summary["changed"] == 0
    assert set(summary["hosts"]) >= {h["name"] for h in result["hosts"]}


def test_seed_topology_forms_one_manager_two_workers(converged):
    lab, _, _ = converged
    listed = on(lab, "base2", "docker", "node", "ls", "--format", "{{json .}}")
    nodes = {n["Hostname"]: n for n in map(json.loads, listed.splitlines())}
    assert set(nodes) == {"base2", "base3", "base4"}
    assert all(n["Status"] == "Ready" for n in nodes.values())
    assert nodes["base2"]["ManagerStatus"] == "Leader"
    assert nodes["base3"]["ManagerStatus"] == "" and nodes["base4"]["ManagerStatus"] == ""


def _write_inventory(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _lab_inventory(result) -> dict:
    return yaml.safe_load(Path(result["inventory"]).read_text())


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda inv: inv["all"]["children"].pop("managers"), "no hosts in group 'managers'"),
        (lambda inv: inv["all"]["children"]["workers"]["hosts"].update(
            {"base2": {"ansible_host": "172.25.90.12"}}), "in both 'managers' and 'workers'"),
        (lambda inv: inv["all"]["children"]["workers"]["hosts"]["base4"].update(
            {"ansible_host": "172.25.90.13"}), "share the address 172.25.90.13"),
    ],
    ids=["no-managers", "host-in-two-roles", "duplicate-address"],
)
def test_broken_inventory_is_refused_before_any_host_is_touched(shared_lab, tmp_path, mutate, expected):
    _, result = shared_lab
    inventory = _lab_inventory(result)
    mutate(inventory)
    run = swarmctl("up", "-i", str(_write_inventory(tmp_path / "inv.yml", inventory)))
    assert run.rc == 2, run  # bad input, not a host that failed
    assert expected in run.stdout
    assert "Gathering Facts" not in run.stdout, "nothing may run after a failed inventory check"


def test_unparsable_inventory_is_an_error(tmp_path):
    bad = tmp_path / "inv.yml"
    bad.write_text("all:\n  children: [unclosed\n")
    run = swarmctl("up", "-i", str(bad), "--json")
    assert run.rc == 2, run
    (error,) = [e for e in run.json_lines() if e.get("event") == "error"]
    assert error["kind"] == "usage" and "is not valid YAML (line 3" in error["msg"]


def test_unreachable_host_fails_early_with_exit_code_4(shared_lab, tmp_path):
    _, result = shared_lab
    inventory = _lab_inventory(result)
    inventory["all"]["children"]["workers"]["hosts"]["base9"] = {"ansible_host": "172.25.90.59"}
    run = swarmctl("up", "-i", str(_write_inventory(tmp_path / "inv.yml", inventory)), "--json")
    assert run.rc == 4, run
    events = run.json_lines()  # every line parses as JSON
    unreachable = [e for e in events if e["event"] == "host_result" and e["status"] == "unreachable"]
    assert [e["host"] for e in unreachable] == ["base9"]
    assert "172.25.90.59" in unreachable[0]["msg"]
    assert run.summary()["status"] == "unreachable"


def test_custom_topology_comes_up_and_down_leaves_nothing(engine):
    name = "pytest-tmp"
    swarmctl("lab", "down", "--name", name, "--yes")
    up = swarmctl("lab", "up", "--name", name, "--managers", "3", "--workers", "2",
                  "--subnet", "172.25.95.0/24", "--no-registry", "--json")
    try:
        assert up.rc == 0, up
        (event,) = [e for e in up.json_lines() if e["event"] == "lab"]
        groups = [h["group"] for h in event["hosts"]]
        assert groups == ["managers"] * 3 + ["workers"] * 2
        ping = ansible_cmd(Path(event["inventory"]), "all", "ping")
        assert ping.rc == 0 and ping.stdout.count("SUCCESS") == 5, ping
        # Growing in place adds a host and keeps the others.
        grow = swarmctl("lab", "up", "--name", name, "--workers", "3", "--json")
        assert grow.rc == 0, grow
        (grown,) = [e for e in grow.json_lines() if e["event"] == "lab"]
        assert grown["changed"] and [h["name"] for h in grown["hosts"]][-1] == "base7"
        shrink = swarmctl("lab", "up", "--name", name, "--workers", "1")
        assert shrink.rc == 1 and "only grows in place" in shrink.stderr
    finally:
        down = swarmctl("lab", "down", "--name", name, "--yes", "--json")
    assert down.rc == 0, down
    assert lab_leftovers(engine, name) == {"containers": [], "volumes": [], "networks": []}
    again = swarmctl("lab", "down", "--name", name, "--yes", "--json")
    assert again.rc == 0 and again.json_lines()[-1]["changed"] is False


def test_no_engine_gives_a_clear_message():
    run = swarmctl("lab", "status", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert run.rc == 1
    assert "No Docker engine is reachable" in run.stderr and "apt-get install -y docker.io" in run.stderr

"""Bad input, table-driven, against the shared lab: each gets the documented exit code, a message that names the
bad value, no traceback, and leaves the cluster exactly as it was. Then what users see of secrets and warnings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import ansible_cmd, swarmctl
from swarmctl import paths
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab


def cluster(lab) -> dict:
    """What a bad input must not change: nodes (role, availability, labels) and services (spec version, image)."""
    def docker(*argv):
        return subprocess.run(["docker", "exec", container_name(lab.name, "base2"), "docker", *argv], check=True,
                              stdout=subprocess.PIPE, text=True).stdout

    nodes = json.loads(docker("node", "inspect", *docker("node", "ls", "-q").split()))
    services = json.loads(docker("service", "inspect", *docker("service", "ls", "-q").split()))
    return {"nodes": sorted((n["ID"], n["Spec"].get("Role"), n["Spec"].get("Availability"),
                             json.dumps(n["Spec"].get("Labels") or {}, sort_keys=True)) for n in nodes),
            "services": sorted((s["Spec"]["Name"], s["Version"]["Index"],
                                s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]) for s in services)}


def inventory_with(result, tmp_path: Path, change) -> str:
    inventory = yaml.safe_load(Path(result["inventory"]).read_text())
    change(inventory)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def hosts(inv):
    return inv["all"]["children"]


def web(**changes):
    spec = {"name": "web", "image": "westos.org/web:v1", "replicas": 6, "expose": {"port": 8080, "target": 80}}
    spec.update(changes)
    return json.dumps({"swarmctl_services": [spec]})


# (id, argv, inventory, exit code, words the message must hold). Inventory: None the lab's, False none given,
# a string the text of a broken one, a function a change to a copy of the lab's.
CASES = [
    # The command line
    ("json-syntax", ["up", "-e", "{bad json"], None, 2, ["{bad json", "JSON or YAML"]),
    ("missing-vars-file", ["up", "-e", "@missing.yml"], None, 2, ["missing.yml", "no such file"]),
    ("not-key-value", ["up", "-e", "justaword"], None, 2, ["'justaword' is not key=value"]),
    ("bad-variable-name", ["up", "-e", "1st=2"], None, 2, ["'1st' is not a variable name"]),
    ("vars-not-a-mapping", ["up", "-e", "[1, 2]"], None, 2, ["JSON object"]),
    ("missing-inventory", ["up", "-i", "/nonexistent/inventory.yml"], False, 2, ["does not exist"]),
    ("lab-name-escapes", ["up", "--lab", "../.."], False, 2, ["lab name '../..' is not allowed"]),
    ("lab-down-escapes", ["lab", "down", "--name", "../..", "--yes"], False, 2, ["is not allowed"]),
    ("lab-status-escapes", ["lab", "status", "--name", "a/../../b"], False, 2, ["is not allowed"]),
    ("dashboard-port", ["dashboard", "--port", "99999"], False, 2, ["'99999' is not a TCP port"]),
    ("dashboard-bind", ["dashboard", "--bind", "my-laptop"], False, 2, ["'my-laptop' is not an IP address"]),
    ("scale-negative", ["scale", "web=-1"], None, 2, ["SERVICE=REPLICAS", "'web=-1'"]),
    ("scale-no-count", ["scale", "web"], None, 2, ["SERVICE=REPLICAS"]),
    ("remove-without-yes", ["remove-node", "base4"], None, 2, ["--yes"]),
    ("recover-without-yes", ["recover"], None, 2, ["--yes"]),
    ("recover-with-quorum", ["recover", "--yes"], None, 2, ["quorum is not lost", "remove-node"]),
    ("restore-no-backup", ["restore", "--from", "/nonexistent", "--yes"], None, 2, ["holds no swarm.tar.gz"]),
    ("update-bad-image", ["update", "web", "--image", "Westos.org/Web:V2!"], None, 2, ["--image", "Web:V2!"]),
    ("remove-every-manager", ["remove-node", "base2", "--yes"], None, 2, ["without a manager", "base2"]),
    ("add-unknown-host", ["add-node", "base9"], None, 2, ["base9: not in the inventory's managers or workers"]),
    # The inventory
    ("inventory-yaml", ["up"], "all:\n  children: [unclosed\n", 2, ["is not valid YAML (line 3"]),
    ("no-managers", ["up"], lambda inv: hosts(inv).pop("managers"), 2, ["no hosts in group 'managers'"]),
    ("host-in-two-groups", ["up"], lambda inv: hosts(inv)["workers"]["hosts"].update(
        {"base2": hosts(inv)["managers"]["hosts"]["base2"]}), 2, ["in both 'managers' and 'workers'"]),
    ("duplicate-address", ["up"], lambda inv: hosts(inv)["workers"]["hosts"]["base4"].update(
        {"ansible_host": hosts(inv)["workers"]["hosts"]["base3"]["ansible_host"]}), 2, ["share the address"]),
    ("ssh-to-this-machine", ["up"], lambda inv: hosts(inv)["workers"]["hosts"]["base4"].update(
        {"ansible_host": "127.0.0.1"}), 2, ["points at this machine", "ansible_connection: local"]),
    ("advertise-not-an-ip", ["up"], lambda inv: hosts(inv)["workers"]["hosts"]["base4"].update(
        {"swarmctl_advertise_addr": "eth0"}), 2, ["swarmctl_advertise_addr 'eth0'"]),
    ("node-availability", ["up"], lambda inv: hosts(inv)["workers"]["hosts"]["base3"].update(
        {"swarm_node_availability": "drained"}), 2, ["host base3: swarm_node_availability", "'drained'"]),
    # Service specs
    ("service-unknown-key", ["deploy", "-e", web(replica=3)], None, 2, ["'replica'", "did you mean 'replicas'"]),
    ("service-negative-replicas", ["deploy", "-e", web(replicas=-1)], None, 2, ["replicas must be 0 or more"]),
    ("service-replicas-word", ["deploy", "-e", web(replicas="many")], None, 2, ["service 'web'", "replicas"]),
    ("service-bad-image", ["deploy", "-e", web(image="Bad Image")], None, 2, ["'Bad Image' is not an image"]),
    ("service-expose-port", ["deploy", "-e", web(expose={"port": 70000, "target": 80})], None, 2,
     ["expose.port must be a TCP port", "70000"]),
    ("service-bad-name", ["deploy", "-e", web(name="my web")], None, 2, ["'my web' is not a service name"]),
    ("services-not-a-list", ["deploy", "-e", '{"swarmctl_services": {"web": {}}}'], None, 2,
     ["swarmctl_services must be a list"]),
    ("service-twice", ["deploy", "-e", json.dumps({"swarmctl_services": [json.loads(web())["swarmctl_services"][0]] * 2})],
     None, 2, ["declared more than once"]),
    # Variables and module arguments
    ("registry-name-url", ["up", "-e", "swarmctl_registry_name=https://westos.org"], None, 2,
     ["swarmctl_registry_name 'https://westos.org' is not a host name"]),
    ("registry-port", ["up", "-e", "swarmctl_registry_port=70000"], None, 2, ["swarmctl_registry_port must be a TCP"]),
    ("reconciler-bind", ["up", "-e", "reconciler_status_bind=everywhere"], None, 2,
     ["reconciler_status_bind 'everywhere' is not an IP address"]),
    ("reconciler-grace", ["up", "-e", "reconciler_manager_grace_seconds=-5"], None, 2,
     ["reconciler_manager_grace_seconds must be a number"]),
    ("load-balancer", ["up", "-e", "swarmctl_load_balancer=nginx"], None, 2, ["auto, mesh or haproxy", "'nginx'"]),
    ("daemon-extra-list", ["up", "-e", '{"docker_engine_daemon_extra": ["debug"]}'], None, 2,
     ["docker_engine_daemon_extra must be a mapping"]),
    # Checks that --limit and --tags cannot skip
    ("checks-under-limit", ["up", "--limit", "base3", "-e", "swarmctl_registry_port=0"], None, 2,
     ["swarmctl_registry_port must be a TCP port"]),
    ("checks-under-tags", ["up", "--tags", "swarm", "-e", "swarmctl_load_balancer=nginx"], None, 2,
     ["auto, mesh or haproxy"]),
]


@pytest.mark.parametrize("argv, inventory, code, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(converged, tmp_path, argv, inventory, code, words):
    lab, result, _ = converged
    before = cluster(lab)
    if inventory is False:
        args = argv
    elif isinstance(inventory, str):
        (tmp_path / "broken.yml").write_text(inventory)
        args = [*argv, "-i", str(tmp_path / "broken.yml")]
    elif inventory is not None:
        args = [*argv, "-i", inventory_with(result, tmp_path, inventory)]
    else:
        args = [*argv, "-i", result["inventory"]]
    run = swarmctl(*args, cwd=tmp_path)
    assert run.rc == code, run
    for word in words:
        assert word in run.output, (word, run)
    assert "Traceback" not in run.output, run
    assert "Gathering" not in run.stdout and "Keep the Docker engine" not in run.stdout, run
    assert cluster(lab) == before


def test_a_services_file_is_read_from_the_users_directory(converged, tmp_path):
    """The README's own example: -e @services.yml, relative to where swarmctl is run."""
    lab, result, _ = converged
    before = cluster(lab)
    (tmp_path / "services.yml").write_text(yaml.safe_dump(json.loads(web(
        healthcheck={"test": "wget -q -O /dev/null http://127.0.0.1/", "interval": "1s", "retries": 2},
        update_config={"parallelism": 2, "delay": "5s", "failure_action": "rollback", "monitor": "5s",
                       "order": "start-first"}))))
    run = swarmctl("deploy", "-i", result["inventory"], "-e", "@services.yml", "--check", "--json", cwd=tmp_path)
    assert run.rc == 0, run
    assert f"@{tmp_path / 'services.yml'}" in run.summary()["command"]
    assert cluster(lab) == before


def test_status_says_why_no_manager_could_answer(converged, tmp_path):
    _, result, _ = converged

    def registry_host_as_the_only_manager(inv):
        hosts(inv)["managers"]["hosts"] = {"foundation78": hosts(inv)["registry"]["hosts"]["foundation78"]}

    run = swarmctl("status", "-i", inventory_with(result, tmp_path, registry_host_as_the_only_manager))
    assert run.rc == 1, run
    assert "no manager could tell it" in run.stderr and "foundation78: not in a swarm" in run.stderr, run

    def unreachable_manager(inv):
        hosts(inv)["managers"]["hosts"]["base2"]["ansible_host"] = "172.25.90.59"

    run = swarmctl("status", "-i", inventory_with(result, tmp_path, unreachable_manager))
    assert run.rc == 1 and "base2: unreachable over SSH" in run.stderr and "172.25.90.59" in run.stderr, run


def test_secrets_given_with_e_are_masked_on_screen_and_on_disk(converged, tmp_path):
    _, result, _ = converged
    secret = "pw-7c1d9e-not-to-be-shown"
    run = swarmctl("up", "-i", result["inventory"], "--tags", "none", "--json", "-e",
                   f"some_api_token={secret}", "-e", json.dumps({"vault": {"db_password": secret}}))
    assert run.rc == 0, run
    assert secret not in run.output and "some_api_token=********" in run.summary()["command"]
    runs = paths.state_dir() / "runs"
    kept = subprocess.run(["grep", "-rl", secret, str(runs)], stdout=subprocess.PIPE, text=True).stdout
    assert kept == "", f"the run's files keep the secret: {kept}"


def test_warnings_are_shown_in_text_and_in_json(converged, tmp_path):
    _, result, _ = converged

    def two_managers(inv):
        hosts(inv)["managers"]["hosts"]["foundation78"] = hosts(inv)["registry"]["hosts"]["foundation78"]

    inventory = inventory_with(result, tmp_path, two_managers)
    text = swarmctl("up", "-i", inventory, "--tags", "none")
    assert text.rc == 0, text
    assert "WARNING" in text.stdout and "2 managers tolerate 0 manager failure(s)" in text.stdout, text
    data = swarmctl("up", "-i", inventory, "--tags", "none", "--json")
    warnings = [e for e in data.json_lines() if e.get("event") == "warning"]
    assert any("2 managers tolerate" in w["msg"] for w in warnings), data
    assert any("2 managers tolerate" in w for w in data.summary()["warnings"])


def test_the_light_runner_is_the_path_taken_over_ssh(converged):
    _, result, _ = converged
    # The first ad-hoc run on a fresh control machine still has to discover the host's Python, which only the
    # ordinary module path does (and caches); every run after it takes the light path.
    first = ansible_cmd(Path(result["inventory"]), "base2", "swarmctl.swarm.swarmctl_swarm_info", become=True)
    assert first.rc == 0 and '"_swarmctl_runner": "' in first.stdout, first
    info = ansible_cmd(Path(result["inventory"]), "base2", "swarmctl.swarm.swarmctl_swarm_info", become=True)
    assert info.rc == 0, info
    assert '"_swarmctl_runner": "light"' in info.stdout, info


def test_a_restore_over_a_running_swarm_is_refused(converged, tmp_path):
    lab, result, _ = converged
    before = cluster(lab)
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "swarm.tar.gz").write_bytes(b"")
    address = yaml.safe_load(open(result["inventory"]))["all"]["children"]["managers"]["hosts"]["base2"]["ansible_host"]
    (backup / "export.json").write_text(json.dumps({"backup": {"from": "base2"},
                                                    "nodes": [{"id": "x", "hostname": "base2", "addr": address}]}))
    run = swarmctl("restore", "--from", str(backup), "--yes", "-i", result["inventory"], cwd=tmp_path)
    assert run.rc == 2 and "base2 is in a swarm already" in run.output and "recover" in run.output, run
    assert cluster(lab) == before


def test_a_daemon_setting_the_engine_refuses_is_taken_back_and_the_engine_runs_again(converged):
    """A daemon.json key this engine version does not know (Docker 20.10 has no swarm-raft-election-tick, for one)
    stops dockerd at its restart; the node must not be left with its engine down. (--limit without a manager is
    refused: the swarm is read from its managers.)"""
    lab, result, _ = converged
    inventory = result["inventory"]
    before = cluster(lab)
    no_manager = swarmctl("up", "-i", inventory, "--tags", "engine", "--limit", "base4")
    assert no_manager.rc != 0 and "--limit leaves out every manager (base2)" in no_manager.output, no_manager
    bad = swarmctl("up", "-i", inventory, "--tags", "engine", "--limit", "base2,base4",
                   "-e", json.dumps({"docker_engine_daemon_extra": {"no-such-engine-option": 5}}))
    assert bad.rc == 3, bad
    assert ("did not start with its new configuration" in bad.output and "no-such-engine-option" in bad.output
            and "runs again with it" in bad.output), bad
    assert cluster(lab)["nodes"] == before["nodes"], "base2 active again, with the labels it had"
    assert subprocess.run(["docker", "exec", container_name(lab.name, "base2"), "docker", "info"],
                          stdout=subprocess.DEVNULL).returncode == 0, "base2's engine runs"
    fixed = swarmctl("up", "-i", inventory, "--tags", "engine", "--limit", "base2,base4")
    assert fixed.rc == 0, fixed
    for host in ("base2", "base3", "base4"):
        assert "no-such-engine-option" not in subprocess.run(
            ["docker", "exec", container_name(lab.name, host), "cat", "/etc/docker/daemon.json"],
            stdout=subprocess.PIPE, text=True).stdout
    again = swarmctl("up", "-i", inventory, "--tags", "engine", "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

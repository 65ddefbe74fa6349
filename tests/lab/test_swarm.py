"""Swarm formation and membership on real hosts: init, joins, HA, add and remove, failures."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from helpers import on, swarmctl
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab


def leave_swarm(lab, host):
    """`docker swarm leave --force` by hand, as a user would; a busy engine can run out of time stopping its swarm
    node ("context deadline exceeded", moby/moby#35337): ask again, then restart it as its users are told to."""
    for attempt in range(4):
        if attempt == 3:
            on(lab, host, "systemctl", "restart", "docker")
        out = on(lab, host, "docker", "swarm", "leave", "--force", check=False)
        state = on(lab, host, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}", check=False)
        if state == "inactive":
            return
    raise AssertionError(f"{host} did not leave its swarm: {out} (state {state})")


def node_ls(lab, manager="base2") -> list[dict]:
    """`docker node ls` with the Docker CLI on a manager."""
    out = on(lab, manager, "docker", "node", "ls", "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def nodes_by_name(lab, manager="base2") -> dict:
    return {n["Hostname"]: n for n in node_ls(lab, manager)}


def join_addrs(lab, manager="base2") -> dict:
    """{node id: the manager address it joined through}, as swarmctl records it in the swarm's labels."""
    labels = json.loads(on(lab, manager, "docker", "info", "--format", "{{json .Swarm.Cluster.Spec.Labels}}"))
    return json.loads((labels or {}).get("io.swarmctl.join-addrs") or "{}")


def wait_until(predicate, timeout=90, interval=2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except AssertionError:  # e.g. a manager that cannot answer during an election
            value = None
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture(scope="module", autouse=True)
def reconciler_watching_only(ha_lab):
    """These tests make managers fail on purpose to see how swarmctl handles it; the reconciler (tested in
    test_reconciler.py) would repair them first, so on the HA lab it only watches (dry run) meanwhile."""
    _, result = ha_lab
    # In group_vars beside the lab's inventory, so every run of these tests keeps it (and `lab up` keeps it).
    setting = Path(result["inventory"]).parent / "group_vars" / "all.yml"
    setting.parent.mkdir(exist_ok=True)
    setting.write_text("reconciler_dry_run: true\n")
    run = swarmctl("up", "-i", result["inventory"], "--tags", "reconciler")
    assert run.rc == 0, run
    yield
    setting.unlink()
    swarmctl("up", "-i", result["inventory"], "--tags", "reconciler")


def test_ha_topology_forms_and_a_second_run_changes_nothing(ha_lab):
    lab, result = ha_lab
    nodes = nodes_by_name(lab)
    assert set(nodes) == {"base2", "base3", "base4", "base5", "base6"}
    assert all(n["Status"] == "Ready" for n in nodes.values())
    statuses = sorted(n["ManagerStatus"] for n in nodes.values())
    assert statuses == ["", "", "Leader", "Reachable", "Reachable"]
    # Every node but the first manager joined through a manager, and the swarm says which (entries of nodes gone
    # since, e.g. by a restore of this shared lab, may stay until the next join).
    manager_addrs = {on(lab, h, "docker", "info", "--format", "{{.Swarm.NodeAddr}}") + ":2377"
                     for h in ("base2", "base3", "base4")}
    recorded = join_addrs(lab)
    assert all(recorded.get(nodes[h]["ID"]) in manager_addrs for h in ("base3", "base4", "base5", "base6")), recorded
    again = swarmctl("up", "-i", result["inventory"], "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again
    check = swarmctl("up", "-i", result["inventory"], "--check", "--diff", "--json")
    assert check.rc == 0 and check.summary()["changed"] == 0, check


def _inventory_with(result, tmp_path, host_vars: dict) -> str:
    data = yaml.safe_load(Path(result["inventory"]).read_text())
    for group in data["all"]["children"].values():
        for host, hv in (group.get("hosts") or {}).items():
            hv.update(host_vars.get(host, {}))
    path = Path(result["inventory"]).with_name("inventory-settings.yml")
    path.write_text(yaml.safe_dump(data))
    return str(path)


def old_entries_removed(run) -> list[str]:
    """The node entries a --json run said it removed because a host had left them behind."""
    return [a for e in run.json_lines() if e.get("event") == "host_result" for a in e.get("actions", [])
            if "'s old node " in a]


def test_a_worker_that_left_by_hand_is_asked_and_joined_again(ha_lab):
    """Right after a worker leaves, the managers' node list still shows it Ready (until its heartbeat expires):
    the next run must ask its engine, not take the node list's word, and join it again."""
    lab, result = ha_lab
    old_id = nodes_by_name(lab)["base6"]["ID"]
    leave_swarm(lab, "base6")
    try:
        run = swarmctl("up", "-i", result["inventory"], "--json")
        assert run.rc == 0, run.why()
        assert run.summary()["changed"] > 0
        assert on(lab, "base6", "docker", "info", "--format", "{{.Swarm.LocalNodeState}}") == "active"
        new_id = on(lab, "base6", "docker", "info", "--format", "{{.Swarm.NodeID}}")
        assert new_id != old_id
        # The entry it left may still read Ready for a while (its heartbeat has not expired yet): the new one is
        # the one that counts.
        new = wait_until(lambda: [n for n in node_ls(lab) if n["ID"] == new_id and n["Status"] == "Ready"], 60)
        assert new, node_ls(lab)
        # Once that entry is down, a run removes it (Swarm itself never does), and `docker node inspect base6`
        # names one node again: the same run when it was down already, else the next.
        removed = old_entries_removed(run)
        if any(n["ID"] == old_id for n in node_ls(lab)):
            assert wait_until(lambda: [n for n in node_ls(lab) if n["ID"] == old_id and n["Status"] == "Down"], 90), \
                node_ls(lab)
            cleaned = swarmctl("up", "-i", result["inventory"], "--tags", "swarm", "--json")
            assert cleaned.rc == 0 and cleaned.summary()["changed"] == 1, cleaned
            removed += old_entries_removed(cleaned)
        assert removed == [f"base6's old node {old_id[:12]}: removed from the swarm"], removed
        assert [n["ID"] for n in node_ls(lab) if n["Hostname"] == "base6"] == [new_id]
        assert on(lab, "base2", "docker", "node", "inspect", "base6", "--format", "{{.ID}}") == new_id
        assert join_addrs(lab)[new_id].endswith(":2377")
        again = swarmctl("up", "-i", result["inventory"], "--tags", "swarm", "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again
    finally:
        # The entry base6 left stays in the list until removed, and the lab's later tests name base6.
        if on(lab, "base6", "docker", "info", "--format", "{{.Swarm.LocalNodeState}}", check=False) != "active":
            swarmctl("up", "-i", result["inventory"])
        on(lab, "base2", "docker", "node", "rm", "--force", old_id, check=False)
        assert [n["ID"] for n in node_ls(lab) if n["Hostname"] == "base6"] != [old_id]
        assert len([n for n in node_ls(lab) if n["Hostname"] == "base6"]) == 1, node_ls(lab)


def test_node_availability_and_labels_come_from_the_inventory(ha_lab, tmp_path):
    lab, result = ha_lab
    inventory = _inventory_with(result, tmp_path, {
        "base4": {"swarm_node_availability": "drain"},
        "base6": {"swarm_node_labels": {"zone": "b", "disk": "ssd"}},
    })
    try:
        run = swarmctl("up", "-i", inventory, "--json")
        assert run.rc == 0, run
        nodes = nodes_by_name(lab)
        assert nodes["base4"]["Availability"] == "Drain"
        labels = json.loads(on(lab, "base2", "docker", "node", "inspect", "base6", "--format", "{{json .Spec.Labels}}"))
        # swarmctl's own labels (io.swarmctl.*, e.g. the manager a node joined through) are kept beside them.
        assert {k: v for k, v in labels.items() if not k.startswith("io.swarmctl.")} == {"zone": "b", "disk": "ssd"}
        again = swarmctl("up", "-i", inventory, "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0
    finally:
        restore = swarmctl("up", "-i", result["inventory"], "--json")
        assert restore.rc == 0, restore
    assert nodes_by_name(lab)["base4"]["Availability"] == "Active"


def test_token_rotation_on_request(ha_lab):
    lab, result = ha_lab
    before = on(lab, "base2", "docker", "swarm", "join-token", "-q", "worker")
    run = swarmctl("up", "-i", result["inventory"], "-e", "swarm_rotate_tokens=true", "--json")
    assert run.rc == 0, run
    after = on(lab, "base2", "docker", "swarm", "join-token", "-q", "worker")
    assert after != before
    assert before not in run.output and after not in run.output, "join tokens never appear in output"


def test_autolock_keeps_the_key_on_the_control_machine_and_unlocks_after_a_restart(ha_lab):
    lab, result = ha_lab
    try:
        run = swarmctl("up", "-i", result["inventory"], "-e", "swarm_autolock=true", "--json")
        assert run.rc == 0, run
        key_file = Path(lab.dir) / "credentials" / "swarm-unlock-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        assert key.startswith("SWMKEY-") and key not in run.output
        on(lab, "base3", "systemctl", "restart", "docker")
        assert wait_until(lambda: on(lab, "base3", "docker", "info", "--format", "{{.Swarm.LocalNodeState}}") == "locked", 30)
        unlock = swarmctl("up", "-i", result["inventory"], "-e", "swarm_autolock=true", "--json")
        assert unlock.rc == 0, unlock
        assert key not in unlock.output
        assert on(lab, "base3", "docker", "info", "--format", "{{.Swarm.LocalNodeState}}") == "active"
    finally:
        off = swarmctl("up", "-i", result["inventory"], "-e", "swarm_autolock=false", "--json")
        assert off.rc == 0, off


def _service(lab, replicas=4):
    on(lab, "base2", "docker", "service", "create", "--detach", "--with-registry-auth", "--name", "probe",
       "--replicas", str(replicas), "westos.org/web:v1")
    assert wait_until(lambda: on(lab, "base2", "docker", "service", "ls", "--filter", "name=probe",
                                 "--format", "{{.Replicas}}") == f"{replicas}/{replicas}", 90)


def test_add_node_joins_a_new_host_and_touches_nothing_else(ha_lab):
    lab, result = ha_lab
    grown = swarmctl("lab", "up", "--name", lab.name, "--workers", "3", "--json")
    assert grown.rc == 0, grown
    add = swarmctl("add-node", "base7", "-i", result["inventory"], "--json")
    assert add.rc == 0, add
    changed_hosts = {h for h, c in add.summary()["hosts"].items() if c.get("changed")}
    assert changed_hosts == {"base7"}, add.why()
    nodes = nodes_by_name(lab)
    assert nodes["base7"]["Status"] == "Ready" and nodes["base7"]["ManagerStatus"] == ""


def test_a_host_in_another_swarm_is_refused_and_left_as_it_was(ha_lab):
    lab, result = ha_lab
    if "base7" not in nodes_by_name(lab):
        pytest.skip("needs base7 from test_add_node")
    try:
        leave_swarm(lab, "base7")
        on(lab, "base2", "docker", "node", "rm", "--force", "base7")
        on(lab, "base7", "docker", "swarm", "init", "--advertise-addr", "172.25.91.17")
        foreign = on(lab, "base7", "docker", "info", "--format", "{{.Swarm.NodeID}}")
        run = swarmctl("add-node", "base7", "-i", result["inventory"])
        assert run.rc == 3, run
        assert "already in another swarm" in run.stdout and "docker swarm leave --force" in run.stdout
        assert "Keep the Docker engine installed" not in run.stdout, "the run stops before changing anything"
        assert on(lab, "base7", "docker", "info", "--format", "{{.Swarm.NodeID}}") == foreign
        # Allowed explicitly in the inventory, it leaves the other swarm and joins this one.
        forced = swarmctl("add-node", "base7", "-i", result["inventory"], "-e", "swarm_force_rejoin=true", "--json")
        assert forced.rc == 0, forced
        assert nodes_by_name(lab)["base7"]["Status"] == "Ready"
    finally:
        # However it failed, the HA lab's later tests need base7 back in this swarm.
        if nodes_by_name(lab).get("base7", {}).get("Status") != "Ready":
            leave_swarm(lab, "base7")
            swarmctl("add-node", "base7", "-i", result["inventory"], "-e", "swarm_force_rejoin=true")


def test_remove_node_takes_out_a_worker_and_a_manager_while_tasks_keep_running(ha_lab):
    lab, result = ha_lab
    _service(lab)
    try:
        run = swarmctl("remove-node", "base6", "base4", "--yes", "-i", result["inventory"], "--json")
        assert run.rc == 0, run
        nodes = nodes_by_name(lab)
        assert "base6" not in nodes and "base4" not in nodes
        assert sorted(n["ManagerStatus"] for n in nodes.values() if n["ManagerStatus"]) == ["Leader", "Reachable"]
        assert on(lab, "base2", "docker", "service", "ls", "--filter", "name=probe", "--format", "{{.Replicas}}") == "4/4"
        # They are still in the inventory: the next `up` joins them again.
        back = swarmctl("up", "-i", result["inventory"], "--json")
        assert back.rc == 0, back
        nodes = nodes_by_name(lab)
        assert nodes["base4"]["ManagerStatus"] == "Reachable" and nodes["base6"]["Status"] == "Ready"
    finally:
        on(lab, "base2", "docker", "service", "rm", "probe", check=False)


def test_remove_node_refuses_to_lose_quorum(ha_lab):
    lab, result = ha_lab
    subprocess.run(["docker", "stop", container_name(lab.name, "base3")], check=True, stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: nodes_by_name(lab)["base3"]["ManagerStatus"] == "Unreachable", 90)
        run = swarmctl("remove-node", "base4", "--yes", "-i", result["inventory"], "-e", "swarmctl_unreachable_ok=true")
        assert run.rc in (3, 4), run
        assert "refusing to demote base4" in run.stdout and "short of the majority" in run.stdout
        # Still a manager (it may have become the leader when base3 stopped).
        assert nodes_by_name(lab)["base4"]["ManagerStatus"] in ("Leader", "Reachable")
    finally:
        subprocess.run(["docker", "start", container_name(lab.name, "base3")], check=True, stdout=subprocess.DEVNULL)
        assert wait_until(lambda: nodes_by_name(lab).get("base3", {}).get("ManagerStatus") == "Reachable", 120)


def test_an_update_does_not_wait_for_tasks_pinned_to_a_node_that_is_down(ha_lab):
    """Their update cannot finish until base6 is back (the engine waits for their slot), nor can they run
    anywhere else: swarmctl says so and does not wait out its timeout; the engine finishes the job later."""
    lab, result = ha_lab
    on(lab, "base2", "docker", "service", "create", "--detach", "--with-registry-auth", "--name", "pinned",
       "--replicas", "2", "--constraint", "node.hostname==base6", "--update-parallelism", "1", "westos.org/web:v1")
    try:
        assert wait_until(lambda: on(lab, "base2", "docker", "service", "ls", "--filter", "name=pinned",
                                     "--format", "{{.Replicas}}") == "2/2", 90)
        subprocess.run(["docker", "stop", container_name(lab.name, "base6")], check=True, stdout=subprocess.DEVNULL)
        assert wait_until(lambda: nodes_by_name(lab)["base6"]["Status"] == "Down", 90)
        run = swarmctl("update", "pinned", "--image", "westos.org/web:v2", "-i", result["inventory"])
        assert run.rc == 0, run
        # Said per image: the updated slot's task (v2), and the next one's, which the engine updates after it.
        assert "1 task(s) of pinned (westos.org/web:v2) wait for a node: no suitable node" in run.stdout, run
        assert "away now: base6 (down)" in run.stdout, run
    finally:
        subprocess.run(["docker", "start", container_name(lab.name, "base6")], check=True, stdout=subprocess.DEVNULL)
        assert wait_until(lambda: nodes_by_name(lab).get("base6", {}).get("Status") == "Ready", 120)
    try:
        # base6 is back: the engine places them, with the new image, and its update completes.
        assert wait_until(lambda: on(lab, "base2", "docker", "service", "inspect", "pinned", "--format",
                                     "{{.UpdateStatus.State}}") == "completed", 120), \
            on(lab, "base2", "docker", "service", "ps", "pinned", "--no-trunc", "--format",
               "{{.Name}} {{.Node}} {{.Image}} {{.DesiredState}} {{.CurrentState}} {{.Error}}")
        running = on(lab, "base2", "docker", "service", "ps", "pinned", "--filter", "desired-state=running",
                     "--format", "{{.Node}} {{.Image}} {{.CurrentState}}").splitlines()
        assert len(running) == 2 and all(r.startswith("base6 westos.org/web:v2 Running") for r in running), running
    finally:
        on(lab, "base2", "docker", "service", "rm", "pinned", check=False)


def test_with_the_first_manager_down_a_rerun_still_succeeds_for_the_rest(ha_lab):
    lab, result = ha_lab
    subprocess.run(["docker", "stop", container_name(lab.name, "base2")], check=True, stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: "Leader" in [n["ManagerStatus"] for n in node_ls(lab, "base3")], 90)
        strict = swarmctl("up", "-i", result["inventory"])
        assert strict.rc == 4 and "unreachable: base2. Nothing was changed." in strict.stdout, strict
        run = swarmctl("up", "-i", result["inventory"], "-e", "swarmctl_unreachable_ok=true", "--json")
        assert run.rc == 4, run
        summary = run.summary()
        assert summary["status"] == "unreachable"
        assert not any(c.get("failures") for c in summary["hosts"].values()), summary
        nodes = {n["Hostname"]: n for n in node_ls(lab, "base3")}
        assert sum(n["ManagerStatus"] == "Leader" for n in nodes.values()) == 1
        assert nodes["base3"]["ManagerStatus"] in ("Leader", "Reachable")
    finally:
        subprocess.run(["docker", "start", container_name(lab.name, "base2")], check=True, stdout=subprocess.DEVNULL)
        assert wait_until(lambda: nodes_by_name(lab, "base3").get("base2", {}).get("Status") == "Ready", 120)

"""Day two on the HA lab: recover (two of three managers' hosts stopped, the swarm rebuilt from the third), and
backup then restore (every manager destroyed, fresh hosts, the swarm rebuilt from the backup)."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

import pytest

from helpers import swarmctl
from test_reconciler import docker, healthy_managers, leader_of, nodes, on, reconciler_status, wait_until
from conftest import HA_LAB
from swarmctl.lab.lab import container_name, volume_name

pytestmark = [pytest.mark.lab, pytest.mark.rebuilds_swarm]

MANAGERS = ("base2", "base3", "base4")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def spec(lab, via, service):
    """The service's own spec: without what a rebalance by the reconciler changes for its duration (a forced
    update, stop-first, the service's own order kept in a label)."""
    found = json.loads(on(lab, via, "docker", "service", "inspect", service, "--format", "{{json .Spec}}"))
    found["TaskTemplate"].pop("ForceUpdate", None)
    own_order = (found.get("Labels") or {}).pop("io.swarmctl.rebalancing", None)
    if own_order:
        found["UpdateConfig"]["Order"] = own_order
    return found


def running(lab, via) -> dict:
    out = on(lab, via, "docker", "service", "ls", "--format", "{{.Name}} {{.Replicas}}")
    return dict(line.split(" ", 1) for line in out.splitlines())


def at_full_strength(lab, via) -> bool:
    """web at its 6 replicas, and the global edge-lb on every Ready node (other tests may have grown the lab)."""
    ready = sum(n["Status"] == "Ready" for n in nodes(lab, via).values())
    return running(lab, via) == {"web": "6/6", "edge-lb": f"{ready}/{ready}"}


def engine_log(lab, hosts, lines=25) -> str:
    """The end of each host's engine log, for a failure message: what Swarm itself said about a join."""
    parts = []
    for host in hosts:
        log = on(lab, host, "journalctl", "-u", "docker", "--no-pager", "-o", "short-precise", "-n", "2000", check=False)
        (ARTIFACTS / f"engine-{lab.name}-{host}.log").write_text(log)
        kept = [line for line in log.splitlines() if re.search(r"raft|join|leader|error|deadline|level=warn", line, re.I)]
        parts.append(f"--- {host}'s engine log ---\n" + "\n".join(line[:300] for line in kept[-lines:]))
    return "\n".join(parts)


def swarm_error(lab, host) -> str:
    return on(lab, host, "docker", "info", "--format", "{{.Swarm.Error}}", check=False)


def test_recover_rebuilds_a_swarm_that_lost_two_of_three_managers(ha_lab):
    lab, result = ha_lab
    inventory = result["inventory"]
    # Whatever the lab's other tests left: the swarm as the inventory says.
    start = swarmctl("up", "-i", inventory, "--json")
    assert start.rc == 0, start.why()
    refused = swarmctl("recover", "--yes", "-i", inventory, "--json")
    assert refused.rc == 2 and "quorum is not lost" in refused.output, refused.output[-2000:]
    assert refused.summary()["changed"] == 0

    leader = leader_of(lab, "base2")
    lost = [leader, next(m for m in MANAGERS if m != leader)]
    survivor = next(m for m in MANAGERS if m not in lost)
    specs = {name: spec(lab, survivor, name) for name in ("web", "edge-lb")}
    # Both at once: stopped one after the other, the second would live on for seconds in a swarm with a leader,
    # and the reconciler there may replace the first (promote a worker) before quorum is lost.
    docker("stop", *(container_name(lab.name, host) for host in lost))
    try:
        assert wait_until(lambda: "does not have a leader" in swarm_error(lab, survivor), 60), swarm_error(lab, survivor)
        check = swarmctl("recover", "--yes", "--check", "-i", inventory)
        assert check.rc == 0 and f"Would rebuild the swarm from {survivor}" in check.output, check.output[-2000:]
        assert "does not have a leader" in swarm_error(lab, survivor), "check mode changed nothing"

        started = time.monotonic()
        run = swarmctl("recover", "--yes", "-i", inventory, "--json")
        took = time.monotonic() - started
        assert run.rc == 0, run.why()
        print(f"swarmctl recover: {took:.1f} s to {healthy_managers(lab, survivor)}")
        assert f"rebuilt from {survivor}" in run.output and "only manager left of 3" in run.output
        listing = nodes(lab, survivor)
        assert len(healthy_managers(lab, survivor)) == 3, listing
        assert listing[survivor]["ManagerStatus"] == "Leader"
        assert not set(lost) & set(listing), "the lost managers are out of the node list"
        # The hosts that joined again went through the survivor, and the swarm records it for each.
        labels = json.loads(on(lab, survivor, "docker", "info", "--format", "{{json .Swarm.Cluster.Spec.Labels}}"))
        recorded = json.loads(labels.get("io.swarmctl.join-addrs") or "{}")
        survivor_addr = on(lab, survivor, "docker", "info", "--format", "{{.Swarm.NodeAddr}}") + ":2377"
        for name in healthy_managers(lab, survivor):
            if name != survivor:
                assert recorded.get(listing[name]["ID"]) == survivor_addr, (name, recorded)
        assert wait_until(lambda: at_full_strength(lab, survivor), 120), running(lab, survivor)
        assert wait_until(lambda: {name: spec(lab, survivor, name) for name in specs} == specs, 60), \
            "every service kept its spec"
        # The reconciler runs on every manager again, and the leader's acts (reads the swarm without error).
        statuses = {m: reconciler_status(lab, m) for m in healthy_managers(lab, survivor)}
        assert [m for m, s in statuses.items() if s["leader"]] == [survivor], statuses
        assert wait_until(lambda: reconciler_status(lab, survivor)["last_error"] == "" and
                          len(reconciler_status(lab, survivor)["cluster"]["managers"]) == 3, 30)
        again = swarmctl("recover", "--yes", "-i", inventory)
        assert again.rc == 2 and "quorum is not lost" in again.output
    except BaseException:
        for host in lost:
            docker("start", container_name(lab.name, host))
        raise

    # One lost manager back alone holds the old Raft group with one of its three members: a stale copy that can
    # elect no leader, so its engine cannot name its swarm. swarmctl up still knows it for this swarm's, left out
    # by the recover (not a swarm without a leader, nor another swarm), and changes nothing.
    first, second = lost
    docker("start", container_name(lab.name, first))
    try:
        assert wait_until(lambda: on(lab, first, "docker", "info", "--format", "{{.Swarm.ControlAvailable}}",
                                     check=False) == "true", 90)
        assert "does not have a leader" in swarm_error(lab, first)
        alone = swarmctl("up", "-i", inventory, "-e", "swarmctl_unreachable_ok=true", "--json")
        assert alone.rc != 0 and f"{first}: this host was a manager of this swarm" in alone.output, \
            alone.output[-3000:]
        assert alone.summary()["changed"] == 0
    finally:
        # Away again, so that both come back together (a manager left pending this long may not take part in
        # the election that follows).
        docker("stop", container_name(lab.name, first))
        for host in lost:
            docker("start", container_name(lab.name, host))

    # Both back: the old Raft group, two of its three, is a stale copy of the swarm with a leader of its own and
    # the same swarm id. swarmctl up tells it from the rebuilt swarm and changes nothing...
    def states():
        return {h: on(lab, h, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}", check=False) for h in lost}

    assert wait_until(lambda: set(states().values()) == {"active"}, 90), f"{states()}\n{engine_log(lab, lost)}"
    stale = swarmctl("up", "-i", inventory, "--json")
    assert stale.rc == 3 and all(f"{h}: this host was a manager of this swarm" in stale.output for h in lost), \
        stale.output[-3000:]
    assert stale.summary()["changed"] == 0
    # ... until told to bring them in: then the inventory's managers are the managers again.
    back = swarmctl("up", "-i", inventory, "-e", "swarm_force_rejoin=true", "--json")
    assert back.rc == 0, back.why()
    listing = nodes(lab, survivor)
    assert sorted(h for h, n in listing.items() if n["ManagerStatus"]) == list(MANAGERS), listing
    # The hosts that were managers for a while are workers again, and keep no reconciler.
    for host in set(listing) - set(MANAGERS):
        assert on(lab, host, "systemctl", "is-active", "swarmctl-reconciler", check=False) != "active", host
    assert wait_until(lambda: at_full_strength(lab, survivor), 120), running(lab, survivor)


def test_backup_then_restore_onto_fresh_hosts_after_every_manager_is_lost(ha_lab):
    lab, result = ha_lab
    inventory = result["inventory"]
    start = swarmctl("up", "-i", inventory, "--json")
    assert start.rc == 0, start.why()
    leader = leader_of(lab, "base2")
    specs = {name: spec(lab, leader, name) for name in ("web", "edge-lb")}
    count = len(nodes(lab, leader))

    backup = swarmctl("backup", "-i", inventory, "--json")
    assert backup.rc == 0, backup.why()
    folder = re.search(r"Backed up the swarm from (\S+) to (\S+): the Raft state \(([0-9.]+) MiB", backup.stdout)
    assert folder and folder.group(1) != leader, "copied from a manager that does not lead"
    source, path = folder.group(1), folder.group(2)
    files = sorted(os.listdir(path))
    assert files == ["export.json", "swarm.tar.gz"], files  # no unlock key: autolock is off
    assert all(stat.S_IMODE(os.stat(os.path.join(path, f)).st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    export = json.load(open(os.path.join(path, "export.json")))
    assert {s["name"] for s in export["services"]} == {"web", "edge-lb"} and export["backup"]["from"] == source
    assert wait_until(lambda: all(n["Status"] == "Ready" and n["Availability"] == "Active"
                                  for n in nodes(lab, leader).values()), 60), "the copy's node is back in service"

    # Every manager's host destroyed, its data with it, and made anew (same names and addresses, nothing on them).
    for host in MANAGERS:
        docker("rm", "-f", container_name(lab.name, host))
        docker("volume", "rm", volume_name(lab.name, host))
    lab.up(lab.stored_spec() or HA_LAB)

    restored = swarmctl("restore", "--from", path, "--yes", "-i", inventory, "--json")
    assert restored.rc == 0, restored.why() + "\n" + engine_log(lab, MANAGERS)
    listing = nodes(lab, source)
    assert sorted(h for h, n in listing.items() if n["ManagerStatus"]) == list(MANAGERS), listing
    assert all(n["Status"] == "Ready" for n in listing.values()) and len(listing) == count, listing
    assert wait_until(lambda: at_full_strength(lab, source), 120), running(lab, source)
    assert {name: spec(lab, source, name) for name in specs} == specs, "services came back with their specs"
    again = swarmctl("up", "-i", inventory, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

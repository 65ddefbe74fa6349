"""swarmctl upgrade on real hosts: the engine's packages change version node by node while a service answers, and
a run cut short is finished by the next one. Debian offers two containerd builds for bookworm (the main and the
security suite), which makes the version change real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import parse_apt_policy
from helpers import ROOT, LoadLoop, on, swarmctl

pytestmark = pytest.mark.lab
DRAINED_LABEL = "io.swarmctl.drained"


def swarm_hosts(result) -> list[dict]:
    return [h for h in result["hosts"] if h["group"] in ("managers", "workers")]


def containerd_on(lab, host) -> str:
    return on(lab, host, "dpkg-query", "-W", "-f=${Version}", "containerd")


def offered_containerd(lab, host) -> tuple[str, list[str]]:
    """The candidate version and every version the host's repositories offer (the lab image's package lists
    predate its security suite: refreshed first)."""
    on(lab, host, "apt-get", "update", "-q")
    policy = parse_apt_policy(on(lab, host, "apt-cache", "policy", "containerd"))["containerd"]
    return policy["candidate"], policy["versions"]


def nodes(lab) -> dict:
    """{hostname: (state, availability, the drained label)} as the manager sees them."""
    ids = on(lab, "base2", "docker", "node", "ls", "-q").split()
    out = on(lab, "base2", "docker", "node", "inspect", *ids, "--format",
             '{{.Description.Hostname}}|{{.Status.State}}|{{.Spec.Availability}}|{{index .Spec.Labels "%s"}}'
             % DRAINED_LABEL)
    return {name: (state, availability, label) for name, state, availability, label
            in (line.split("|") for line in out.splitlines())}


def settled(lab) -> bool:
    return all(v == ("ready", "active", "") for v in nodes(lab).values())


def test_upgrade_changes_containerd_node_by_node_while_the_service_answers(converged):
    lab, result, _ = converged
    # The swarm's nodes, then the registry's host (no swarm node: its engine loads and pushes the images).
    registry = [h["name"] for h in result["hosts"] if h["group"] == "registry"]
    hosts = [h["name"] for h in swarm_hosts(result)] + registry
    installed = containerd_on(lab, "base3")
    candidate, versions = offered_containerd(lab, "base3")
    others = [v for v in versions if v != installed]
    if not others:
        pytest.skip(f"the hosts' repositories offer one containerd build only ({versions})")
    target = others[0]
    addresses = [h["address"] for h in swarm_hosts(result)]
    done = False
    try:
        # A build the repositories do not offer: refused as bad input, with the ones they do, nothing changed.
        wrong = swarmctl("upgrade", "--version", "containerd=0.0.1-no-such-build", "-i", result["inventory"])
        assert wrong.rc == 2 and "containerd 0.0.1-no-such-build is not in this host's repositories" in wrong.stdout
        assert target in wrong.stdout and "Nothing was changed" in wrong.stdout, wrong
        # Check mode says what would change and changes nothing.
        check = swarmctl("upgrade", "--version", f"containerd={target}", "--check", "-i", result["inventory"])
        assert check.rc == 0 and f"containerd {installed} -> {target}" in check.stdout, check
        assert containerd_on(lab, "base3") == installed and settled(lab), nodes(lab)
        with LoadLoop(addresses, failover=True) as load:
            run = swarmctl("upgrade", "--version", f"containerd={target}", "-i", result["inventory"], "--json")
        assert run.rc == 0, run
        assert {h: containerd_on(lab, h) for h in hosts} == {h: target for h in hosts}
        assert load.failures == [] and len(load.answers) > 100, (load.failures[:5], len(load.answers))
        # One node at a time, the manager first; every node back, Active, without the drain's record.
        upgraded = [e["host"] for e in run.json_lines() if e.get("event") == "host_result"
                    for a in e.get("actions", []) if a.startswith(f"containerd {installed} -> {target}")]
        assert upgraded[0] == "base2" and upgraded[-len(registry):] == registry, upgraded
        assert sorted(upgraded) == sorted(hosts), upgraded
        assert settled(lab), nodes(lab)
        assert on(lab, "base2", "docker", "service", "ls", "--filter", "name=web", "--format", "{{.Replicas}}") == "6/6"
        # At the wanted version: nothing is drained or restarted again.
        again = swarmctl("upgrade", "--version", f"containerd={target}", "-i", result["inventory"], "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again
        done = True
    finally:
        if not done:  # the lab's other tests want every node back, at the newest packages
            swarmctl("upgrade", "-i", result["inventory"])


def test_an_upgrade_cut_short_is_finished_by_the_next_run(converged):
    """Ctrl-C while the first node drains: the node stays drained with swarmctl's record of it, and the next run
    gives it back and upgrades every host; a third run changes nothing."""
    lab, result, _ = converged
    hosts = [h["name"] for h in swarm_hosts(result)]
    candidate, versions = offered_containerd(lab, "base2")
    others = [v for v in versions if v != candidate]
    if not others:
        pytest.skip(f"the hosts' repositories offer one containerd build only ({versions})")
    if containerd_on(lab, "base2") == candidate:  # the test before leaves the older build, else made so here
        down = swarmctl("upgrade", "--version", f"containerd={others[0]}", "--batch", "2", "-i", result["inventory"])
        assert down.rc == 0, down
    # As a person at a terminal would: Ctrl-C reaches swarmctl and the ansible-playbook under it.
    proc = subprocess.Popen([sys.executable, "-m", "swarmctl", "upgrade", "-i", result["inventory"]], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if any(label for _, _, label in nodes(lab).values()):
                    break
            except AssertionError:
                pass  # the manager's engine restarting
            time.sleep(0.3)
        assert proc.poll() is None, f"the upgrade ended before any node was drained: {proc.stdout.read()[-3000:]}"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(3)  # the drain in flight on the manager finishes
    left = {name: label for name, (_, availability, label) in nodes(lab).items() if label}
    assert left and all(label == "active" for label in left.values()), nodes(lab)

    finish = swarmctl("upgrade", "--batch", "2", "-i", result["inventory"], "--json")
    assert finish.rc == 0, finish
    assert {h: containerd_on(lab, h) for h in hosts} == {h: candidate for h in hosts}
    assert settled(lab), nodes(lab)
    again = swarmctl("upgrade", "-i", result["inventory"], "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again
    assert json.loads(on(lab, "base2", "docker", "info", "--format", "{{json .Swarm.LocalNodeState}}")) == "active"

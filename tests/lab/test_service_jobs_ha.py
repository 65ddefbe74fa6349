"""Service jobs (update, rollback, scale) on the HA lab: they run on every manager and only the leader acts."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from helpers import swarmctl
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab


def on(lab, host, *argv) -> str:
    proc = subprocess.run(["docker", "exec", container_name(lab.name, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip()


def managers(lab) -> dict:
    """{host name: Leader/Reachable/...} of the managers, as the swarm lists them."""
    out = on(lab, "base3", "docker", "node", "ls", "--format", "{{json .}}")
    listed = (json.loads(line) for line in out.splitlines())
    return {n["Hostname"]: n["ManagerStatus"] for n in listed if n["ManagerStatus"]}


def replicas(lab, via) -> int:
    return int(on(lab, via, "docker", "service", "inspect", "web", "--format", "{{.Spec.Mode.Replicated.Replicas}}"))


def test_a_scale_is_done_by_the_leader_alone(ha_lab):
    lab, result = ha_lab
    leader = next(name for name, status in managers(lab).items() if status == "Leader")
    before = replicas(lab, leader)
    try:
        run = swarmctl("scale", f"web={before + 1}", "-i", result["inventory"], "--json")
        assert run.rc == 0, run
        statuses = {e["host"]: e["status"] for e in run.json_lines()
                    if e.get("event") == "host_result" and e["task"].endswith("Scale")}
        assert statuses[leader] == "changed", statuses
        assert sorted(h for h, s in statuses.items() if s == "skipped") == sorted(set(managers(lab)) - {leader})
        assert replicas(lab, leader) == before + 1
    finally:
        back = swarmctl("scale", f"web={before}", "-i", result["inventory"])
        assert back.rc == 0, back
    assert replicas(lab, leader) == before


def test_without_the_leader_in_the_inventory_nothing_changes_and_the_run_says_who_leads(ha_lab, tmp_path):
    lab, result = ha_lab
    leader = next(name for name, status in managers(lab).items() if status == "Leader")
    before = replicas(lab, leader)
    inventory = yaml.safe_load(open(result["inventory"]))
    inventory["all"]["children"]["managers"]["hosts"].pop(leader)
    partial = tmp_path / "inventory.yml"
    partial.write_text(yaml.safe_dump(inventory))
    run = swarmctl("scale", f"web={before + 2}", "-i", str(partial))
    assert run.rc == 3, run
    assert f"the leader is {leader}" in run.stdout and "nothing was changed" in run.stdout, run
    assert replicas(lab, leader) == before

#!/usr/bin/env python3
"""Print the times of `swarmctl upgrade` on a 3-manager, 2-worker lab running the demo web service:

    containerd from the hosts' newest Debian build to the other one bookworm offers (main vs security suite),
    one node at a time: the total and each node's time (drained -> packages -> Ready -> availability back ->
    every service at its replica count);
    the run at the wanted versions (changes nothing);
    back to the newest build with --batch 2 (workers two at a time).

Uses a lab of its own (`bench-upg`, 172.25.97.0/24), removed at the end.
Run: .venv/bin/python bench/upgrade.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarmctl.lab.lab import Lab, container_name, docker_client  # noqa: E402
from swarmctl.lab.topology import LabSpec  # noqa: E402

sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
from swarmctl_host import parse_apt_policy  # noqa: E402

NAME = "bench-upg"
DRAIN_TASK = "Drain this node and wait until its tasks run elsewhere"
BACK_TASK = "Give the node its availability back, and wait until the services run all their replicas"


def on(host: str, *argv: str) -> str:
    proc = subprocess.run(["docker", "exec", container_name(NAME, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def timed_upgrade(inventory: str, *args: str) -> tuple[float, dict, int]:
    """Runs swarmctl upgrade --json; returns (total seconds, {host: seconds from its drain to its return}, changed)."""
    started = time.monotonic()
    drained, per_node, summary = {}, {}, {}
    proc = subprocess.Popen([sys.executable, "-m", "swarmctl", "upgrade", "-i", inventory, "--json", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "task_start" and event.get("task") == DRAIN_TASK:
            drained.setdefault("_batch", time.monotonic())
        if event.get("event") == "host_result" and event.get("task") == DRAIN_TASK:
            drained[event["host"]] = drained.pop("_batch", None) or time.monotonic()
        if event.get("event") == "host_result" and event.get("task") == BACK_TASK and event["host"] in drained:
            per_node[event["host"]] = time.monotonic() - drained[event["host"]]
        if event.get("event") == "summary":
            summary = event
    if proc.wait() != 0:
        sys.exit("".join(tail))
    return time.monotonic() - started, per_node, summary.get("changed", -1)


def main() -> None:
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    lab = Lab(NAME, client=docker_client(), log=lambda msg: None)
    lab.down()
    try:
        inventory = lab.up(LabSpec(name=NAME, managers=3, workers=2, subnet="172.25.97.0/24"))["inventory"]
        proc = subprocess.run([sys.executable, "-m", "swarmctl", "up", "-i", inventory], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stdout[-3000:])
        on("base2", "apt-get", "update", "-q")  # the lab image's lists predate its security suite
        installed = on("base2", "dpkg-query", "-W", "-f=${Version}", "containerd")
        offered = parse_apt_policy(on("base2", "apt-cache", "policy", "containerd"))["containerd"]["versions"]
        other = next((v for v in offered if v != installed), None)
        if other is None:
            sys.exit(f"the hosts' repositories offer one containerd build only: {offered}")

        total, per_node, _ = timed_upgrade(inventory, "--version", f"containerd={other}")
        nodes = ", ".join(f"{h} {s:.1f}" for h, s in per_node.items())
        print(f"upgrade containerd {installed} -> {other}, 5 nodes one at a time: {total:.1f} s; per node (s): {nodes}")
        total, _, changed = timed_upgrade(inventory, "--version", f"containerd={other}")
        print(f"upgrade at the wanted version: {total:.1f} s, changed={changed}")
        total, per_node, _ = timed_upgrade(inventory, "--batch", "2")
        nodes = ", ".join(f"{h} {s:.1f}" for h, s in per_node.items())
        print(f"upgrade back to the newest packages, workers 2 at a time: {total:.1f} s; per node (s): {nodes}")
    finally:
        lab.down()


if __name__ == "__main__":
    main()

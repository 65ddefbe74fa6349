#!/usr/bin/env python3
"""Print how long forming a 5-node HA swarm (3 managers, 2 workers) takes through swarmctl, beside the
same init and joins typed straight into the Docker CLI on the hosts. Target: swarmctl <= 3x the CLI,
as medians of three rounds (CLI, then swarmctl, each from bare engines; this machine is noisy).

Both start from the same bare engines (site.yml's engine play on a fresh lab of its own, `bench-swarm`
on 172.25.96.0/24); between them every node leaves its swarm. The CLI side runs the commands a person
would type, one after the other, with the join tokens read from the first manager.
Run: .venv/bin/python bench/swarm.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarmctl.lab.lab import Lab, container_name, docker_client  # noqa: E402
from swarmctl.lab.topology import LabSpec  # noqa: E402

NAME = "bench-swarm"
SPEC = LabSpec(name=NAME, managers=3, workers=2, subnet="172.25.96.0/24", registry=False)
ROUNDS = 3


def swarmctl(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "swarmctl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"swarmctl {' '.join(args)} failed:\n{proc.stdout[-3000:]}")


def docker_on(host: str, *argv: str) -> str:
    """Type a docker command on a lab host (docker exec into its container, then its own CLI)."""
    proc = subprocess.run(["docker", "exec", container_name(NAME, host), "docker", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"docker {' '.join(argv)} on {host} failed: {proc.stdout}")
    return proc.stdout.strip()


def node_ls_ready(count: int) -> None:
    out = docker_on("base2", "node", "ls", "--format", "{{.Status}} {{.ManagerStatus}}")
    lines = out.splitlines()
    assert len(lines) == count and all(line.startswith("Ready") for line in lines), out
    assert sum("Leader" in line for line in lines) == 1, out


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def form_with_the_cli(hosts: dict) -> float:
    """init on base2, then the joins, typed one after the other; returns the seconds they took."""
    started = time.monotonic()
    docker_on("base2", "swarm", "init", "--advertise-addr", hosts["base2"]["address"])
    manager_token = docker_on("base2", "swarm", "join-token", "-q", "manager")
    worker_token = docker_on("base2", "swarm", "join-token", "-q", "worker")
    for name in ("base3", "base4"):
        docker_on(name, "swarm", "join", "--token", manager_token, "--advertise-addr", hosts[name]["address"],
                  f"{hosts['base2']['address']}:2377")
    for name in ("base5", "base6"):
        docker_on(name, "swarm", "join", "--token", worker_token, "--advertise-addr", hosts[name]["address"],
                  f"{hosts['base2']['address']}:2377")
    seconds = time.monotonic() - started
    node_ls_ready(5)
    return seconds


def leave_all() -> None:
    for name in ("base6", "base5", "base4", "base3", "base2"):
        docker_on(name, "swarm", "leave", "--force")


def main() -> None:
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    lab = Lab(NAME, client=docker_client(), log=lambda msg: None)
    lab.down()
    try:
        result = lab.up(SPEC)
        inventory = result["inventory"]
        hosts = {h["name"]: h for h in result["hosts"]}
        swarmctl("up", "-i", inventory, "--tags", "engine")  # bare engines, the starting point of both

        cli_times, toolkit_times = [], []
        for _ in range(ROUNDS):
            cli_times.append(form_with_the_cli(hosts))
            leave_all()
            toolkit_times.append(timed(lambda: swarmctl("up", "-i", inventory, "--tags", "swarm")))
            node_ls_ready(5)
            leave_all()

        cli, toolkit = statistics.median(cli_times), statistics.median(toolkit_times)
        print(f"5-node HA swarm, bare Docker CLI: {cli:.1f} s (median of {fmt(cli_times)})")
        print(f"5-node HA swarm, swarmctl up (whole run, validation included): {toolkit:.1f} s "
              f"(median of {fmt(toolkit_times)}; the first with an empty module store): "
              f"{toolkit / cli:.1f}x the CLI; target <= 3x")
    finally:
        lab.down()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print how swarmctl scales with the number of hosts, beside the bare Docker CLI doing the same job.

At each size (default 4, 8, 16 and 32 hosts: three managers, the rest workers) the same lab, grown in place,
starts from bare engines (every node out of any swarm) and gets a swarm of all its hosts and one service of one
replica per host:
    the CLI: `docker swarm init` on the first manager, the joins typed one after the other, then
    `docker service create --detach=false` (it waits for the tasks to run);
    swarmctl: `swarmctl up --tags swarm,services` with that service, cold, then re-run with nothing to change.
Cold formation swings from run to run (the joins most): each size is formed ROUNDS times each way, alternating
(CLI, swarmctl, CLI, ...), and the medians are compared.
For each size: the seconds, swarmctl's ratio to the CLI, and the cost of each added host since the size before.
Targets (issue 17): the ratio at 32 hosts no higher than at 4, at most 2x at every size; the no-change re-run at
32 hosts under 8 s.

Engines come from one package bundle (`swarmctl up --tags engine`, run once per size for the new hosts; not
timed). The service's image is loaded on every host from this machine (no registry). Uses a lab of its own
(`bench-scale`, 172.25.100.0/24), removed at the end.
Run: .venv/bin/python bench/scale.py [--rounds=N] [SIZE ...]   (N: 3 by default)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarmctl.lab import images, recipes  # noqa: E402
from swarmctl.lab.lab import Lab, container_name, docker_client  # noqa: E402
from swarmctl.lab.topology import LabSpec  # noqa: E402

NAME = "bench-scale"
SUBNET = "172.25.100.0/24"
MANAGERS = 3
RERUNS = 3
ROUNDS = 3


def swarmctl(*args: str) -> float:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "swarmctl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"swarmctl {' '.join(args)} failed:\n{proc.stdout[-4000:]}")
    return time.monotonic() - started


def on(host: str, *argv: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", "exec", container_name(NAME, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} on {host} failed: {proc.stdout}")
    return proc.stdout.strip()


def leave_all(hosts: list[str]) -> None:
    """Every node out of its swarm, workers first, side by side (not timed)."""
    managers, workers = hosts[:MANAGERS], hosts[MANAGERS:]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda h: on(h, "docker", "swarm", "leave", "--force", check=False), workers))
    for host in reversed(managers):
        on(host, "docker", "swarm", "leave", "--force", check=False)


def form_with_the_cli(hosts: list[str], addresses: dict, image: str) -> float:
    started = time.monotonic()
    first = hosts[0]
    on(first, "docker", "swarm", "init", "--advertise-addr", addresses[first])
    tokens = {role: on(first, "docker", "swarm", "join-token", "-q", role) for role in ("manager", "worker")}
    for index, host in enumerate(hosts[1:], start=1):
        role = "manager" if index < MANAGERS else "worker"
        on(host, "docker", "swarm", "join", "--token", tokens[role], "--advertise-addr", addresses[host],
           f"{addresses[first]}:2377")
    on(first, "docker", "service", "create", "--detach=false", "--quiet", "--name", "web", "--replicas",
       str(len(hosts)), "--no-resolve-image", image)
    return time.monotonic() - started


def check_formed(hosts: list[str]) -> None:
    nodes = on(hosts[0], "docker", "node", "ls", "--format", "{{.Status}}").split()
    running = on(hosts[0], "docker", "service", "ps", "web", "--filter", "desired-state=running", "--format",
                 "{{.CurrentState}}").splitlines()
    if len(nodes) != len(hosts) or set(nodes) != {"Ready"} or len(running) != len(hosts):
        sys.exit(f"not formed: nodes {nodes}, web tasks {running}")


def load_image(hosts: list[str], archive: Path) -> None:
    def load(host):
        subprocess.run(["docker", "cp", str(archive), f"{container_name(NAME, host)}:/tmp/web.tar"], check=True)
        on(host, "docker", "load", "-q", "-i", "/tmp/web.tar")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(load, hosts))


def main() -> None:
    rounds = int(next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--rounds=")), ROUNDS))
    sizes = [int(a) for a in sys.argv[1:] if not a.startswith("--")] or [4, 8, 16, 32]
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    client = docker_client()
    image = images.ensure_image(client, recipes.DEMO_IMAGES["v1"], log=lambda msg: None)[0]
    archive = Path(os.environ["SWARMCTL_HOME"]) / "web.tar"
    images.save_archive(client, [image], archive)
    service = json.dumps({"swarmctl_services": [{"name": "web", "image": image, "replicas": 0,
                                                  "resolve_image": False}],
                          "swarmctl_load_balancer": "mesh"})
    lab = Lab(NAME, client=client, log=lambda msg: None)
    lab.down()
    rows, loaded = [], set()
    try:
        for size in sizes:
            result = lab.up(LabSpec(name=NAME, managers=MANAGERS, workers=size - MANAGERS, subnet=SUBNET,
                                    registry=False))
            inventory = result["inventory"]
            addresses = {h["name"]: h["address"] for h in result["hosts"]}
            hosts = [h["name"] for h in result["hosts"]]
            swarmctl("up", "-i", inventory, "--tags", "engine")
            load_image([h for h in hosts if h not in loaded], archive)
            loaded.update(hosts)
            leave_all(hosts)

            wanted = service.replace('"replicas": 0', f'"replicas": {size}')
            clis, colds = [], []
            for round_ in range(rounds):
                clis.append(form_with_the_cli(hosts, addresses, image))
                check_formed(hosts)
                leave_all(hosts)
                colds.append(swarmctl("up", "-i", inventory, "--tags", "swarm,services", "-e", wanted))
                check_formed(hosts)
                if round_ < rounds - 1:
                    leave_all(hosts)
            reruns = [swarmctl("up", "-i", inventory, "--tags", "swarm,services", "-e", wanted) for _ in range(RERUNS)]
            cli, cold, rerun = statistics.median(clis), statistics.median(colds), statistics.median(reruns)
            leave_all(hosts)
            rows.append((size, cli, cold, rerun))
            print(f"{size:>3} hosts: CLI {cli:5.1f} s ({', '.join(f'{r:.1f}' for r in clis)}), swarmctl cold "
                  f"{cold:5.1f} s ({', '.join(f'{r:.1f}' for r in colds)}; {cold / cli:.2f}x), no-change re-run "
                  f"{rerun:4.1f} s ({', '.join(f'{r:.1f}' for r in reruns)}); medians", flush=True)
        print("\ncost of each added host since the size before (seconds per host):")
        for (s0, cli0, cold0, re0), (s1, cli1, cold1, re1) in zip(rows, rows[1:]):
            added = s1 - s0
            print(f"  {s0:>2} -> {s1:>2}: CLI {(cli1 - cli0) / added:.2f}, swarmctl cold {(cold1 - cold0) / added:.2f}, "
                  f"re-run {(re1 - re0) / added:.2f}")
        first, last = rows[0], rows[-1]
        print(f"\nratio to the CLI: {first[2] / first[1]:.2f}x at {first[0]} hosts, {last[2] / last[1]:.2f}x at "
              f"{last[0]} hosts (targets: no higher at {last[0]} than at {first[0]}, at most 2x); no-change re-run at "
              f"{last[0]} hosts {last[3]:.1f} s (target < 8 s)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print the wall time of the demo web service's v1 -> v2 rollout through swarmctl, beside the same rollout
done by `docker service update` on a manager (same service, same update config: 6 replicas, parallelism 2,
delay 5 s, start-first, healthcheck), and of the way back: `swarmctl rollback` beside `docker service
rollback` (the service's rollback config: Swarm's default pace). Targets: swarmctl <= 1.05x the CLI for both.
Then ten small services (2 replicas, one task at a time): a `swarmctl deploy` that changes one of them, beside
one that changes all ten, whose rollouts run side by side. Target: ten at most 1.5x one.

Uses a lab of its own (`bench-roll`, 172.25.97.0/24), provisioned by `swarmctl up`, removed at the end.
Both rollouts start from v1 with every task running and v2 already pulled on every node (so neither pays for
the first pull), and both wait as the CLI does by default (until the service converged). Each side is timed
--rounds times (default 3), alternating which goes first, and the medians are compared: on a shared 2-core
machine one rollout can differ from the next by a second or more.
Run: .venv/bin/python bench/rollout.py
"""

from __future__ import annotations

import argparse
import json
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

NAME = "bench-roll"


def swarmctl(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "swarmctl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"swarmctl {' '.join(args)} failed:\n{proc.stdout[-3000:]}")


def on_manager(*argv: str, host: str = "base2") -> str:
    proc = subprocess.run(["docker", "exec", container_name(NAME, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {proc.stdout[-2000:]}")
    return proc.stdout


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def cli_update(image: str) -> None:
    on_manager("docker", "service", "update", "--quiet", "--with-registry-auth", "--image", image, "web")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="rollouts timed on each side; the medians are compared (default 3)")
    rounds = parser.parse_args().rounds
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    lab = Lab(NAME, client=docker_client(), log=lambda msg: None)
    lab.down()
    try:
        inventory = lab.up(LabSpec(name=NAME, subnet="172.25.97.0/24"))["inventory"]
        swarmctl("up", "-i", inventory)
        for host in ("base2", "base3", "base4"):
            on_manager("docker", "pull", "--quiet", "westos.org/web:v2", host=host)
        runs = {(side, step): [] for side in ("swarmctl", "cli") for step in ("update", "rollback")}
        steps = {
            ("swarmctl", "update"): lambda: swarmctl("update", "web", "--image", "westos.org/web:v2", "-i", inventory),
            ("swarmctl", "rollback"): lambda: swarmctl("rollback", "web", "-i", inventory),
            ("cli", "update"): lambda: cli_update("westos.org/web:v2"),
            ("cli", "rollback"): lambda: on_manager("docker", "service", "rollback", "--quiet", "web"),
        }
        for round_no in range(rounds):
            # Alternate which side goes first, so a drift of the shared CPU does not favour one side. Each side
            # rolls v1 -> v2, then back to v1 with a rollback: the next round starts where this one did.
            sides = ["swarmctl", "cli"] if round_no % 2 == 0 else ["cli", "swarmctl"]
            for side in sides:
                for step in ("update", "rollback"):
                    runs[(side, step)].append(timed(steps[(side, step)]))
        for step, what, cli_name in (("update", "rollout v1 -> v2", "docker service update"),
                                     ("rollback", "rollback v2 -> v1", "docker service rollback")):
            toolkit_runs, cli_runs = runs[("swarmctl", step)], runs[("cli", step)]
            toolkit, cli = statistics.median(toolkit_runs), statistics.median(cli_runs)
            print(f"{what} of 6 replicas, {cli_name}: {cli:.1f} s "
                  f"(median of {rounds}: {', '.join(f'{t:.1f}' for t in cli_runs)})")
            print(f"{what} of 6 replicas, swarmctl {step} (whole run): {toolkit:.1f} s "
                  f"(median of {rounds}: {', '.join(f'{t:.1f}' for t in toolkit_runs)}; "
                  f"{toolkit / cli:.2f}x the CLI; target <= 1.05x)")
        side_by_side(inventory, rounds)
    finally:
        lab.down()


def small_service(name: str, tag: str) -> dict:
    return {"name": name, "image": f"westos.org/web:{tag}", "replicas": 2,
            "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1/", "interval": "3s", "timeout": "2s",
                            "retries": 2, "start_period": "2s"},
            "update_config": {"parallelism": 1, "delay": "2s", "failure_action": "rollback", "monitor": "4s",
                              "order": "start-first"},
            "stop_grace_period": "2s"}


def side_by_side(inventory: str, rounds: int) -> None:
    """One service changed against ten changed in one deploy (whole runs; the rest of the deploy is the same)."""
    names = [f"svc{i}" for i in range(10)]
    folder = Path(tempfile.mkdtemp(prefix="swarmctl-bench-"))

    def deploy(tags: dict) -> None:
        services = folder / "services.json"
        services.write_text(json.dumps({"swarmctl_services": [small_service(n, tags.get(n, "v1")) for n in names]}))
        swarmctl("deploy", "-i", inventory, "-e", f"@{services}")

    deploy({})
    one, ten = [], []
    for dummy in range(rounds):
        one.append(timed(lambda: deploy({"svc0": "v2"})))
        deploy({})  # back, untimed
        ten.append(timed(lambda: deploy({n: "v2" for n in names})))
        deploy({})
    print(f"deploy changing 1 of 10 services: {statistics.median(one):.1f} s "
          f"(median of {rounds}: {', '.join(f'{t:.1f}' for t in one)})")
    print(f"deploy changing 10 of 10 services, side by side: {statistics.median(ten):.1f} s "
          f"(median of {rounds}: {', '.join(f'{t:.1f}' for t in ten)}; "
          f"{statistics.median(ten) / statistics.median(one):.2f}x one; target <= 1.5x)")


if __name__ == "__main__":
    main()

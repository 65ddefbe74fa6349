#!/usr/bin/env python3
"""Print the foundation's speed figures, one per line:

    lab image build (s), lab up with the image cached (s), swarmctl up cold (s), swarmctl up re-run (s)

`swarmctl up` runs the whole site.yml: on a fresh lab (3 swarm hosts + the registry host) that is
the cold provisioning, engine installs from Debian's archive included, up to a working TLS registry
holding the demo images. Targets: lab up (image cached) <= 10 s; cold site.yml <= 120 s; a no-change
re-run of site.yml <= 10 s (the median of three re-runs).
Uses a lab of its own (name `bench`, subnet 172.25.93.0/24) and removes it at the end.
Run: .venv/bin/python bench/foundation.py [--skip-build]
"""

from __future__ import annotations

import argparse
import dataclasses
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

from swarmctl.lab import images, recipes  # noqa: E402
from swarmctl.lab.lab import Lab, docker_client  # noqa: E402
from swarmctl.lab.topology import LabSpec  # noqa: E402

RERUNS = 3


def timed(fn):
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def swarmctl(*args: str) -> dict:
    """Run swarmctl with --json; returns {play name: seconds from the start to when it began, "": total}."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "swarmctl", *args, "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    plays = {}
    tail = []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        if line.startswith('{"event": "play_start"'):
            plays.setdefault(json.loads(line)["play"], time.monotonic() - started)
    if proc.wait() != 0:
        sys.exit(f"swarmctl {' '.join(args)} failed:\n{''.join(tail)}")
    plays[""] = time.monotonic() - started
    return plays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-build", action="store_true", help="do not time a from-scratch image build")
    args = parser.parse_args()
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    client = docker_client()
    quiet = lambda msg: None  # noqa: E731

    if not args.skip_build:
        # Same recipe under another name, so the build really runs and the cached image is untouched.
        probe = dataclasses.replace(recipes.HOST, repository="swarmctl/lab-host-bench")
        seconds, _ = timed(lambda: images.ensure_image(client, probe, log=quiet))
        client.images.remove(probe.reference, force=True)
        print(f"lab image build: {seconds:.1f} s")
    images.ensure_image(client, recipes.HOST, log=quiet)

    lab = Lab("bench", client=client, log=quiet)
    lab.down()
    try:
        seconds, result = timed(lambda: lab.up(LabSpec(name="bench", subnet="172.25.93.0/24")))
        print(f"lab up (image cached): {seconds:.1f} s (target <= 10 s)")
        inventory = result["inventory"]
        cold = swarmctl("up", "-i", inventory)
        registry_ready = next(t for play, t in cold.items() if play.startswith("One swarm"))
        print(f"swarmctl up cold, fresh 3+1 lab, up to a working registry holding the images: {registry_ready:.1f} s "
              "(target <= 120 s)")
        print(f"swarmctl up cold, the whole site.yml (and swarm, services, reconciler): {cold['']:.1f} s")
        # This machine's 2 cores are shared with every lab host: one re-run can be seconds off the next.
        reruns = sorted(swarmctl("up", "-i", inventory)[""] for _ in range(RERUNS))
        print(f"swarmctl up re-run (no change), the whole site.yml: {statistics.median(reruns):.1f} s, median of "
              f"{RERUNS} ({', '.join(f'{r:.1f}' for r in reruns)}) (target <= 10 s)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()

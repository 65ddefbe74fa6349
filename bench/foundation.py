#!/usr/bin/env python3
"""Print the foundation's speed figures, one per line:

    lab image build (s), lab up with the image cached (s), swarmctl up cold (s), swarmctl up re-run (s)

`swarmctl up` runs the whole site.yml: on a fresh lab (3 swarm hosts + the registry host) that is
the cold provisioning, engine installs from Debian's archive included, up to a working TLS registry
holding the demo images. Targets: lab up (image cached) <= 10 s; cold site.yml <= 120 s; a no-change
re-run of site.yml <= 10 s.
Uses a lab of its own (name `bench`, subnet 172.25.93.0/24) and removes it at the end.
Run: .venv/bin/python bench/foundation.py [--skip-build]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
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


def timed(fn):
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def swarmctl(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "swarmctl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"swarmctl {' '.join(args)} failed:\n{proc.stdout[-3000:]}")


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
        seconds, _ = timed(lambda: swarmctl("up", "-i", inventory))
        print(f"swarmctl up cold (fresh 3+1 lab, engines installed, registry up): {seconds:.1f} s (target <= 120 s)")
        seconds, _ = timed(lambda: swarmctl("up", "-i", inventory))
        print(f"swarmctl up re-run (no change): {seconds:.1f} s (target <= 10 s)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()

"""The molecule scenario `default` drives a lab of its own: create, converge, idempotence, verify, destroy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, lab_leftovers

pytestmark = pytest.mark.lab


def test_molecule_default_scenario(engine):
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "NO_COLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0"}
    env.pop("SWARMCTL_HOME", None)  # the scenario keeps its lab's state in its ephemeral directory
    proc = subprocess.run([str(Path(bindir) / "molecule"), "test", "-s", "default"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-8000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert f"{step}: Executed: Successful" in proc.stdout.replace("➜ ", ""), step
    assert lab_leftovers(engine, "molecule") == {"containers": [], "volumes": [], "networks": []}

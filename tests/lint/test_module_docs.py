"""Every module documents itself: ansible-doc reads DOCUMENTATION, EXAMPLES and RETURN of each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("swarmctl_*.py"))


@pytest.fixture(scope="module")
def docs():
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-t", "module", "--json", *(f"swarmctl.swarm.{m}" for m in MODULES)],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", MODULES)
def test_module_is_documented(docs, name):
    doc = docs[f"swarmctl.swarm.{name}"]
    assert doc["doc"]["short_description"] and doc["doc"]["description"]
    assert doc["examples"] and yaml.safe_load(doc["examples"]), "EXAMPLES parse as YAML"
    assert doc["return"] is not None, "RETURN documented"
    assert "check_mode" in doc["doc"]["attributes"], "says whether it supports check mode"

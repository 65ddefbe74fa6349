"""Shared test plumbing.

Unit tests (tests/unit) need nothing but Python. Lab tests (tests/lab) run against real hosts:
systemd + sshd containers on the local Docker engine, reached by Ansible over SSH. One lab is
shared by every lab test of a session and removed at the end; tests that change it put it back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The plugins import each other by collection name (ansible_collections.swarmctl.swarm.plugins...), as Ansible
# loads them; the checkout's .collections link makes the same imports work in tests.
sys.path.insert(0, str(ROOT / ".collections"))
for extra in ("plugins/modules", "plugins/action", "plugins/test", "plugins/filter"):
    sys.path.insert(0, str(ROOT / extra))


def pytest_configure(config):
    # Each test session gets its own swarmctl state, so tests never touch a user's labs or keys.
    if "SWARMCTL_HOME" not in os.environ:
        home = ROOT / "tests" / "artifacts" / "state"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["SWARMCTL_HOME"] = str(home)

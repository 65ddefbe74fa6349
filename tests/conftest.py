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

# Module utils live in plugins/module_utils and are imported as ansible.module_utils.<name> by the
# modules (that is how Ansible ships them to hosts); make the same import work in unit tests.
import ansible.module_utils  # noqa: E402

_MODULE_UTILS = str(ROOT / "plugins" / "module_utils")
if _MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MODULE_UTILS)
for extra in ("plugins/modules", "plugins/action", "plugins/test", "plugins/filter"):
    sys.path.insert(0, str(ROOT / extra))


def pytest_configure(config):
    # Each test session gets its own swarmctl state, so tests never touch a user's labs or keys.
    if "SWARMCTL_HOME" not in os.environ:
        home = ROOT / "tests" / "artifacts" / "state"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["SWARMCTL_HOME"] = str(home)

"""Where swarmctl finds its Ansible content and where it keeps its state.

Content (playbooks, roles, plugins, ansible.cfg) is read-only: from a source checkout it is the
repository itself, from an installed wheel it is ``swarmctl/content``. State (lab keys and
inventories, run artifacts, fact cache) always lives outside the package.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def content_dir() -> Path:
    """The directory holding ansible.cfg, playbooks/, roles/ and plugins/."""
    override = os.environ.get("SWARMCTL_CONTENT_DIR")
    if override:
        return Path(override).resolve()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "ansible.cfg").is_file() and (checkout / "playbooks").is_dir():
        return checkout
    return _PACKAGE_DIR / "content"


def state_dir() -> Path:
    """Root of everything swarmctl writes: $SWARMCTL_HOME, else $XDG_STATE_HOME/swarmctl."""
    override = os.environ.get("SWARMCTL_HOME")
    if override:
        base = Path(override)
    else:
        xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        base = Path(xdg) / "swarmctl"
    return base.expanduser().resolve()


def lab_dir(name: str) -> Path:
    return state_dir() / "labs" / name


def runs_dir() -> Path:
    return state_dir() / "runs"


def fact_cache_dir(inventory: str | os.PathLike[str]) -> Path:
    """One fact cache per inventory file, so a recreated lab never reads another lab's facts."""
    import hashlib

    digest = hashlib.sha256(str(Path(inventory).resolve()).encode()).hexdigest()[:16]
    return state_dir() / "facts" / digest

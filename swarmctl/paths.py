"""Where swarmctl finds its Ansible content and where it keeps its state.

Content (playbooks, roles, plugins, ansible.cfg) is read-only and is the collection swarmctl.swarm: from a
source checkout it is the repository itself (found by Ansible through the link in .collections), from an
installed wheel it is ``swarmctl/collections/ansible_collections/swarmctl/swarm``. State (lab keys and
inventories, run artifacts, fact cache) always lives outside the package.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# A lab's name becomes a folder under labs/ and part of container, volume and network names: one plain word.
_LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


class BadName(ValueError):
    """A name swarmctl refuses to build a path or an engine object from; the message says why."""


def check_lab_name(name: str) -> str:
    """The lab name, if it is one plain word that stays inside the labs folder; BadName otherwise."""
    if not isinstance(name, str) or not _LAB_NAME.fullmatch(name):
        raise BadName(
            f"lab name {name!r} is not allowed: use 1-24 lowercase letters, digits and '-', starting with a "
            "letter (e.g. lab, staging-2)"
        )
    return name


def content_dir() -> Path:
    """The directory holding ansible.cfg, playbooks/, roles/ and plugins/."""
    override = os.environ.get("SWARMCTL_CONTENT_DIR")
    if override:
        return Path(override).resolve()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "ansible.cfg").is_file() and (checkout / "playbooks").is_dir():
        return checkout
    return _PACKAGE_DIR / WHEEL_CONTENT


# Where the wheel carries the content: a collections folder Ansible can search as it is.
WHEEL_CONTENT = "collections/ansible_collections/swarmctl/swarm"


def collections_dir(content: Path) -> Path:
    """The folder Ansible searches for the collection (it holds ansible_collections/swarmctl/swarm)."""
    if content.parent.parent.name == "ansible_collections":
        return content.parents[2]
    return content / ".collections"


def ansible_env() -> dict[str, str]:
    """What every Ansible command swarmctl runs needs: its configuration, and its collection found first."""
    content = content_dir()
    searched = [str(collections_dir(content))]
    searched += [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    searched += [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"]
    return {"ANSIBLE_CONFIG": str(content / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(dict.fromkeys(searched))}


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
    """The lab's own folder. Every path and engine object of a lab is built from a name checked here."""
    return state_dir() / "labs" / check_lab_name(name)


def runs_dir() -> Path:
    return state_dir() / "runs"


def fact_cache_dir(inventory: str | os.PathLike[str]) -> Path:
    """One fact cache per inventory file, so a recreated lab never reads another lab's facts."""
    import hashlib

    digest = hashlib.sha256(str(Path(inventory).resolve()).encode()).hexdigest()[:16]
    return state_dir() / "facts" / digest

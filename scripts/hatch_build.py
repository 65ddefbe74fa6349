"""Hatch build hook: the wheel carries the Ansible content it runs, the collection swarmctl.swarm
(swarmctl/collections/ansible_collections/swarmctl/swarm/, a folder Ansible searches as it is), file by file, never
the secrets a used checkout holds next to its inventories (credentials/ folders), its package bundles, nor bytecode.

Not a `force-include` of whole folders, which takes everything in them, nor `sources`, which editable
installs do not support."""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CONTENT = ("playbooks", "roles", "plugins", "inventory", "meta")
WHEEL_CONTENT = "swarmctl/collections/ansible_collections/swarmctl/swarm"
LEFT_OUT = {"credentials", "package-bundles", "__pycache__"}


def content_files(root: Path) -> dict[str, str]:
    """{source path: path in the wheel} for ansible.cfg and every file of the content folders."""
    files = {str(root / name): f"{WHEEL_CONTENT}/{name}" for name in ("ansible.cfg", "galaxy.yml")}
    for top in CONTENT:
        for path in sorted((root / top).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not LEFT_OUT & set(relative.parts) and path.suffix != ".pyc":
                files[str(path)] = f"{WHEEL_CONTENT}/{relative.as_posix()}"
    return files


class ContentHook(BuildHookInterface):
    PLUGIN_NAME = "swarmctl-content"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version != "editable":  # a checkout runs its own content
            build_data["force_include"].update(content_files(Path(self.root)))

"""Reads the cluster's state for the dashboard: SSH to a manager (as Ansible would, with the inventory's
user, key and SSH options, over one persistent connection) and run the module `swarmctl status` runs,
swarmctl_status, there: the same program the light runner pipes to the host's Python (plugin_utils/
swarmctl_light.py), so the dashboard and `swarmctl status` read the cluster with one piece of code."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from swarmctl import paths

COLLECTION = "ansible_collections.swarmctl.swarm"


class CollectorError(RuntimeError):
    pass


def manager_targets(inventory: Path) -> list[dict]:
    """The inventory's managers with how to reach them (ansible-inventory resolves groups and variables)."""
    env = {**os.environ, **paths.ansible_env()}
    binary = str(Path(sys.executable).parent / "ansible-inventory")
    proc = subprocess.run([binary, "-i", str(inventory), "--list"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise CollectorError(f"cannot read inventory {inventory}: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    managers = data.get("managers", {}).get("hosts", [])
    if not managers:
        raise CollectorError(f"inventory {inventory} has no hosts in group 'managers'")
    return [{"name": name, **hostvars.get(name, {})} for name in managers]


def _collection_module(name: str):
    """A module of the collection swarmctl runs (its content folder), imported by its collection name."""
    searched = str(paths.collections_dir(paths.content_dir()))
    if searched not in sys.path:
        sys.path.insert(0, searched)
    return importlib.import_module(f"{COLLECTION}.plugins.{name}")


def status_program(target: dict) -> str:
    """The Python program that runs swarmctl_status (with its tasks) on a manager and prints its result."""
    light = _collection_module("plugin_utils.swarmctl_light")
    plugins = Path(light.__file__).resolve().parent.parent
    module = light.load_module(str(plugins), "swarmctl_status", f"{COLLECTION}.plugins.module_utils")
    params = {"tasks": True}
    if target.get("reconciler_status_port"):
        params["reconciler_url"] = f"http://127.0.0.1:{int(target['reconciler_status_port'])}/status"
    validated = ArgumentSpecValidator(module.spec, **module.rules).validate(params)
    if validated.error_messages:
        raise CollectorError(f"{target['name']}: {validated.error_messages[0]}")
    return module.script(validated.validated_parameters, True, False)


class Collector:
    def __init__(self, inventory: Path):
        self.targets = manager_targets(inventory)
        self.programs = {target["name"]: status_program(target) for target in self.targets}
        self.control_dir = tempfile.mkdtemp(prefix="swarmctl-dash-")
        self.current = 0

    def _ssh(self, target: dict) -> list[str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ControlMaster=auto",
                "-o", "ControlPersist=60", "-o", f"ControlPath={self.control_dir}/%C"]
        if target.get("ansible_ssh_private_key_file"):
            argv += ["-i", os.path.expanduser(target["ansible_ssh_private_key_file"])]
        if target.get("ansible_port"):
            argv += ["-p", str(target["ansible_port"])]
        for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
            argv += shlex.split(target.get(key) or "")
        user = target.get("ansible_user") or target.get("ansible_ssh_user")
        host = target.get("ansible_host") or target["name"]
        argv.append(f"{user}@{host}" if user else host)
        argv += (["python3", "-"] if user == "root" else ["sudo", "-n", "python3", "-"])
        return argv

    def fetch(self) -> dict:
        errors = []
        for offset in range(len(self.targets)):
            index = (self.current + offset) % len(self.targets)
            target = self.targets[index]
            try:
                proc = subprocess.run(self._ssh(target), input=self.programs[target["name"]], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, timeout=20)
            except subprocess.TimeoutExpired:
                errors.append(f"{target['name']}: no answer in 20s")
                continue
            result = _collection_module("plugin_utils.swarmctl_light").parse_result(proc.stdout, proc.stderr,
                                                                                   proc.returncode)
            if result.get("failed"):
                errors.append(f"{target['name']}: {str(result.get('msg', ''))[-300:]}")
                continue
            self.current = index
            state = {key: result.get(key) for key in ("nodes", "services", "tasks", "reconciler")}
            state.update(source=target["name"], time=time.strftime("%H:%M:%S"))
            return state
        raise CollectorError("no manager answered: " + "; ".join(errors))

    def close(self) -> None:
        for sock in Path(self.control_dir).glob("*"):
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["rm", "-rf", self.control_dir], check=False)

"""Reads the cluster's state for the dashboard: SSH to a manager (as Ansible would, with the inventory's
user, key and SSH options, over one persistent connection) and run the probe there."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from swarmctl import paths
from swarmctl.dashboard.probe import PROBE


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


class Collector:
    def __init__(self, inventory: Path):
        self.targets = manager_targets(inventory)
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
                proc = subprocess.run(self._ssh(target), input=PROBE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, timeout=20)
            except subprocess.TimeoutExpired:
                errors.append(f"{target['name']}: no answer in 20s")
                continue
            if proc.returncode == 0:
                try:
                    state = json.loads(proc.stdout)
                except ValueError:
                    errors.append(f"{target['name']}: unreadable answer")
                    continue
                self.current = index
                state.update(source=target["name"], time=time.strftime("%H:%M:%S"))
                return state
            errors.append(f"{target['name']}: {(proc.stdout or proc.stderr).strip()[-300:]}")
        raise CollectorError("no manager answered: " + "; ".join(errors))

    def close(self) -> None:
        for sock in Path(self.control_dir).glob("*"):
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["rm", "-rf", self.control_dir], check=False)

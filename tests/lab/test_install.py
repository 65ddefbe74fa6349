"""`pip install .` (not editable) gives a swarmctl that works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers import ROOT, Result

pytestmark = pytest.mark.lab


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv holding the built wheel; its dependencies come from the test venv via a .pth file,
    so the test checks the wheel's own contents without downloading anything again."""
    work = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)],
                   check=True)
    (wheel,) = (work / "dist").glob("swarmctl-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = Path(subprocess.check_output([str(venv / "bin" / "python"), "-c",
                                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "_deps_from_test_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "--no-deps", "-q", str(wheel)], check=True)
    return venv, site


def _run(venv: Path, *args: str, cwd: Path) -> Result:
    # ansible-playbook comes with the dependencies, which this venv borrows from the test venv.
    deps_bin = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{deps_bin}{os.pathsep}{os.environ['PATH']}"}
    return Result(subprocess.run([str(venv / "bin" / "swarmctl"), *args], cwd=cwd, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900))


def test_wheel_carries_the_ansible_content(installed):
    _, site = installed
    content = site / "swarmctl" / "collections" / "ansible_collections" / "swarmctl" / "swarm"
    for path in ("ansible.cfg", "galaxy.yml", "meta/runtime.yml", "playbooks/site.yml",
                 "roles/validate_inventory/tasks/main.yml", "plugins/action/swarmctl_validate_inventory.py"):
        assert (content / path).is_file(), path


SUBCOMMANDS = [["lab", "up"], ["lab", "down"], ["lab", "status"], ["up"], ["deploy"], ["update"], ["rollback"],
               ["scale"], ["add-node"], ["remove-node"], ["maintenance"], ["backup"], ["restore"], ["recover"], ["upgrade"],
               ["reset"], ["status"], ["reconcile"], ["dashboard"], ["image", "build"]]


def test_every_subcommand_explains_itself(installed, tmp_path):
    venv, _ = installed
    for argv in SUBCOMMANDS:
        run = _run(venv, *argv, "--help", cwd=tmp_path)
        assert run.rc == 0 and "usage: swarmctl" in run.stdout and len(run.stdout) > 200, (argv, run)


def test_installed_swarmctl_runs_the_main_job_from_an_empty_directory(installed, converged, tmp_path):
    venv, site = installed
    _, lab, _ = converged
    package = site / "swarmctl"
    before = _files(package)
    up = _run(venv, "up", "-i", lab["inventory"], "--json", cwd=tmp_path)
    assert up.rc == 0, up
    summary = up.summary()
    assert summary["status"] == "successful" and summary["changed"] == 0
    assert str(package / "collections" / "ansible_collections" / "swarmctl" / "swarm" / "playbooks" / "site.yml") in summary["command"]
    status = _run(venv, "status", "-i", lab["inventory"], cwd=tmp_path)
    assert status.rc == 0 and "web" in status.stdout, status
    assert _files(package) == before, "nothing may be written into the installed package"
    assert list(tmp_path.iterdir()) == [], "nothing may be written into the working directory"

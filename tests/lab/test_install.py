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
    content = site / "swarmctl" / "content"
    for path in ("ansible.cfg", "playbooks/site.yml", "roles/validate_inventory/tasks/main.yml",
                 "plugins/action/swarmctl_validate_inventory.py"):
        assert (content / path).is_file(), path


def test_installed_swarmctl_runs_from_an_empty_directory(installed, shared_lab, tmp_path):
    venv, site = installed
    _, lab = shared_lab
    package = site / "swarmctl"
    before = _files(package)
    help_run = _run(venv, "--help", cwd=tmp_path)
    assert help_run.rc == 0 and "lab" in help_run.stdout
    up = _run(venv, "up", "-i", lab["inventory"], "--json", cwd=tmp_path)
    assert up.rc == 0, up
    summary = up.summary()
    assert summary["status"] == "successful"
    assert str(package / "content" / "playbooks" / "site.yml") in summary["command"]
    assert _files(package) == before, "nothing may be written into the installed package"
    assert list(tmp_path.iterdir()) == [], "nothing may be written into the working directory"

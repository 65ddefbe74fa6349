"""The collection passes `ansible-test sanity`, run where ansible-test requires it: in an installed copy
(ansible_collections/swarmctl/swarm/) of the tarball ansible-galaxy builds from this checkout. The only ignores
(tests/sanity/ignore-*.txt) are the GPLv3 header check: the collection is Apache-2.0."""

from __future__ import annotations

import sys
import types

from helpers import BIN, install_collection, user_ansible


def pip_bootstrap_name() -> str:
    """The file name ansible-test looks for before it downloads pip's bootstrap script (from a host this machine
    cannot reach): get_pip_<version>.py in ~/.ansible/test/cache."""
    from ansible_test._internal.python_requirements import get_venv_packages

    version = get_venv_packages(types.SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"]
    return f"get_pip_{version.replace('.', '_')}.py"


def test_ansible_test_sanity_passes(tmp_path):
    collections = install_collection(tmp_path)
    home = tmp_path / "home"
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True)
    # The same pip, from the Python standard library's own copy instead of a download.
    (cache / pip_bootstrap_name()).write_text("import ensurepip\nensurepip.bootstrap(upgrade=True)\n")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    proc = user_ansible(collections, collections / "ansible_collections" / "swarmctl" / "swarm",
                        str(BIN / "ansible-test"), "sanity", "--local", "--python", python,
                        env={"HOME": str(home)}, timeout=1500)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, "\n".join(line for line in report.splitlines() if line.startswith("ERROR"))[-6000:]
    assert 'Running sanity test "validate-modules"' in report and 'Running sanity test "pylint"' in report

"""The package bundle's pure parts: dependency lists, the flat repository's index, the checks made before
anything is installed, and the plan of which hosts install from a bundle."""

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest
from ansible_collections.swarmctl.swarm.plugins.module_utils import swarmctl_bundle as bundle
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import NO_PACKAGE, engine_owner, own_engine
from swarmctl_filters import swarmctl_bundle_versions, swarmctl_package_plan

_PATH = Path(__file__).resolve().parents[2] / "plugins" / "action" / "swarmctl_host_check.py"
_SPEC = importlib.util.spec_from_file_location("swarmctl_host_check_action_for_bundles", _PATH)
host_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(host_check)

DEPENDS = """docker.io
  Depends: adduser
  Depends: containerd
 |Depends: iptables
  Depends: <debconf-2.0>
    cdebconf
    debconf
adduser
  Depends: passwd
containerd
<debconf-2.0>
debconf
libc6:amd64
"""


class Refusing:
    """A module whose run_command answers the architecture and whose fail_json raises with the message."""

    def __init__(self):
        self.commands = []

    def run_command(self, argv, **_):
        self.commands.append(argv)
        return 0, "amd64\n", ""

    def fail_json(self, msg, **_):
        raise RuntimeError(msg)


def _tar(path: Path, members: dict) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _bundle(path: Path, platform: str, packages=("docker.io",)) -> Path:
    manifest = {"platform": platform, "packages": list(packages), "created": 0,
                "debs": [{"package": p, "version": "1", "file": f"{p}_1_amd64.deb", "size": 1} for p in packages]}
    return _tar(path, {bundle.MANIFEST: json.dumps(manifest).encode(), "Packages": b""})


def test_dependency_names_are_the_real_packages_named_once():
    assert bundle.parse_depends(DEPENDS) == ["adduser", "containerd", "debconf", "docker.io", "libc6"]


def test_the_index_names_each_file_its_size_and_checksum_and_the_release_the_index():
    debs = [{"control": "Package: tini\nVersion: 0.19.0-1\nDescription: tiny init\n more text\n",
             "file": "tini_0.19.0-1_amd64.deb", "size": 267204, "sha256": "ab" * 32},
            {"control": "Package: runc\nVersion: 1.1.5\n", "file": "runc_1.1.5_amd64.deb", "size": 10, "sha256": "cd" * 32}]
    index = bundle.packages_index(debs)
    stanzas = index.split("\n\n")
    assert len(stanzas) == 2
    assert stanzas[0].splitlines()[-3:] == ["Filename: ./tini_0.19.0-1_amd64.deb", "Size: 267204", f"SHA256: {'ab' * 32}"]
    assert " more text" in stanzas[0]
    release = bundle.release_file(index.encode(), "debian-12-amd64")
    assert release.rstrip().endswith(f"{len(index.encode())} Packages") and "SHA256:" in release


def test_a_bundle_of_another_platform_or_without_a_package_is_refused_before_apt_runs(tmp_path):
    platform = bundle.host_platform(Refusing())
    other = _bundle(tmp_path / "other.tar", "debian-13-arm64")
    with pytest.raises(RuntimeError, match=f"made for debian-13-arm64, this host is {platform}"):
        bundle.install(Refusing(), ["docker.io"], str(other))
    mine = _bundle(tmp_path / "mine.tar", platform)
    with pytest.raises(RuntimeError, match="has no python3-docker"):
        bundle.install(Refusing(), ["docker.io", "python3-docker"], str(mine))
    with pytest.raises(RuntimeError, match="not a swarmctl package bundle"):
        bundle.install(Refusing(), ["docker.io"], str(_tar(tmp_path / "junk.tar", {"x": b"y"})))
    assert bundle.read_manifest(str(tmp_path / "absent.tar")) is None


def test_unpacking_takes_plain_files_at_the_top_only(tmp_path):
    (tmp_path / "out").mkdir()
    bundle._extract(str(_tar(tmp_path / "ok.tar", {"Packages": b"x", "a.deb": b"y"})), str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Packages", "a.deb"]
    with pytest.raises(ValueError, match="unexpected member"):
        bundle._extract(str(_tar(tmp_path / "bad.tar", {"../etc/passwd": b"x"})), str(tmp_path / "out"))


def test_the_plan_has_one_downloader_per_platform_and_names_missing_bundles(tmp_path):
    hostvars = {
        "base2": {"swarm_info": {"platform": "debian-12-amd64", "missing_packages": ["docker.io"]}},
        "base3": {"swarm_info": {"platform": "debian-12-amd64", "missing_packages": ["docker.io"]}},
        "base4": {"swarm_info": {"platform": "debian-12-amd64", "missing_packages": []}},
        "arm1": {"swarm_info": {"platform": "debian-12-arm64", "missing_packages": ["docker.io"]}},
        "old": {},  # preflight did not look at it: left to its own mirror
    }
    hosts = ["base2", "base3", "base4", "arm1", "old"]
    plan = swarmctl_package_plan(hostvars, hosts, "cluster", str(tmp_path))
    assert plan["hosts"] == {"base2": "debian-12-amd64", "base3": "debian-12-amd64", "arm1": "debian-12-arm64"}
    assert plan["builders"] == {"debian-12-amd64": "base2", "debian-12-arm64": "arm1"}
    assert plan["absent"] == []
    (tmp_path / "debian-12-amd64.tar").write_bytes(b"")
    assert swarmctl_package_plan(hostvars, hosts, "bundle", str(tmp_path))["absent"] == ["debian-12-arm64"]


def test_preflights_shell_and_the_modules_python_name_a_platform_alike():
    """The bundle file is named by preflight's spelling and checked against the module's: they must agree."""
    import subprocess

    class Real:
        def run_command(self, argv, **_):
            proc = subprocess.run(argv, capture_output=True, text=True)
            return proc.returncode, proc.stdout, proc.stderr

    shell = subprocess.run(["sh", "-c", host_check.host_query([])], capture_output=True, text=True).stdout
    assert host_check.parse_host_query(shell, [])[0] == bundle.host_platform(Real())
    # And the package of the engine (docker.io on a machine set up by scripts/setup.sh; "" with none).
    assert host_check.parse_engine_owner(shell) == engine_owner(Real())


def test_the_first_look_at_a_host_reports_its_platform_and_the_packages_it_lacks():
    command = host_check.host_query(["docker.io", "it's"])
    assert "dpkg-query" in command and "'it'\"'\"'s'" in command
    output = "platform debian-12-amd64\npackage docker.io installed\npackage python3-docker config-files\n"
    assert host_check.parse_host_query(output, ["docker.io", "python3-docker", "docker-registry"]) == \
        ("debian-12-amd64", ["python3-docker", "docker-registry"])
    assert host_check.host_query([]).endswith("; true") and "dpkg-query -W" not in host_check.host_query([])


def test_an_engine_of_the_hosts_own_is_kept_and_docker_io_never_missing_there():
    packages = ["docker.io", "python3-docker"]
    for engine, owner, missing in (("engine docker-ce\n", "docker-ce", ["python3-docker"]),
                                   ("engine -\n", NO_PACKAGE, ["python3-docker"]),
                                   ("engine docker.io\n", "docker.io", ["docker.io", "python3-docker"]),
                                   ("", "", ["docker.io", "python3-docker"])):
        output = f"{engine}platform debian-12-amd64\n"
        assert host_check.parse_engine_owner(output) == owner
        assert host_check.parse_host_query(output, packages) == ("debian-12-amd64", missing), engine
    assert own_engine("docker-ce") and own_engine(NO_PACKAGE) and not own_engine("docker.io") and not own_engine("")


def test_pinned_packages_are_downloaded_at_their_version_the_rest_at_the_newest():
    versions = bundle.pinned({"containerd": "1.6.20~ds1-1+deb12u1", "runc": "latest"})
    assert versions == {"containerd": "1.6.20~ds1-1+deb12u1"}
    assert bundle.download_names(["containerd", "docker.io", "runc"], versions) == [
        "containerd=1.6.20~ds1-1+deb12u1", "docker.io", "runc"]


def test_the_control_machine_reads_a_bundles_versions_for_an_offline_upgrade(tmp_path):
    _bundle(tmp_path / "debian-12-amd64.tar", "debian-12-amd64", ("docker.io", "containerd"))
    assert swarmctl_bundle_versions(str(tmp_path), "debian-12-amd64") == {"docker.io": "1", "containerd": "1"}
    assert swarmctl_bundle_versions(str(tmp_path), "debian-12-arm64") is None  # no bundle for that platform
    # A file named for one platform that holds another's packages is not that platform's bundle.
    _bundle(tmp_path / "debian-13-amd64.tar", "debian-12-amd64")
    assert swarmctl_bundle_versions(str(tmp_path), "debian-13-amd64") is None

"""Packages built from a used checkout carry no cluster secret."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile

from helpers import ROOT

MARKER = "-".join(["not", "for", "any", "package", "7f3a9c"])  # joined: this file is in the sdist
SECRETS = ["inventory/seed/credentials/ca.key", "inventory/seed/credentials/registry-password",
           "credentials/swarm-unlock-key", "inventory/mine/credentials/docker-tls/client.key",
           "inventory/seed/package-bundles/debian-12-amd64.tar"]  # not secret, but ~100 MB a package must not carry


def test_wheel_and_sdist_of_a_used_checkout_hold_no_credentials(tmp_path):
    checkout = tmp_path / "checkout"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    for name in SECRETS:  # what `swarmctl up` leaves next to inventories
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(f"-----BEGIN PRIVATE KEY-----\n{MARKER}\n")
    ignored = subprocess.run(["git", "check-ignore", *SECRETS], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout
    assert ignored.split() == SECRETS, "git must ignore every credentials/ and package-bundles/ folder"

    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(dist), str(checkout)],
                   check=True, stdout=subprocess.DEVNULL)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
        wheel_text = b"".join(archive.read(n) for n in wheel_names)
    with tarfile.open(sdist) as archive:
        sdist_names = archive.getnames()
        sdist_text = b"".join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile())
    for names, text in ((wheel_names, wheel_text), (sdist_names, sdist_text)):
        assert not [n for n in names if {"credentials", "package-bundles"} & set(n.split("/"))], names
        assert MARKER.encode() not in text
    # ...and still everything it runs.
    assert "swarmctl/collections/ansible_collections/swarmctl/swarm/ansible.cfg" in wheel_names
    assert "swarmctl/collections/ansible_collections/swarmctl/swarm/inventory/seed/hosts.yml" in wheel_names
    assert "swarmctl/collections/ansible_collections/swarmctl/swarm/roles/docker_engine/tasks/main.yml" in wheel_names
    assert "swarmctl/collections/ansible_collections/swarmctl/swarm/galaxy.yml" in wheel_names
    assert "swarmctl/collections/ansible_collections/swarmctl/swarm/plugins/plugin_utils/swarmctl_pki.py" in wheel_names
    assert "swarmctl/dashboard/static/index.html" in wheel_names

"""Hosts with no route to any Debian mirror get the engine from the control machine alone (issue 17's offline mode),
and upgrade from it too.

A lab of its own: base2 (manager), base3 (worker) and the registry host, bare. Two package bundles are made on base2
while it still reaches the mirror (`swarmctl package-bundle`, which installs nothing there): one with containerd at
an older build, one at the newest. Then the lab's network loses every route but to the control machine (a REJECT
rule in this machine's DOCKER-USER chain, removed at the end); `swarmctl up` with docker_engine_package_source=bundle
builds the whole cluster from the first, and `swarmctl upgrade` brings it to the second's versions."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import parse_apt_policy
from helpers import lab_leftovers, on, owned_lab, swarmctl
from swarmctl.lab.lab import Lab
from swarmctl.lab.topology import LabSpec

pytestmark = pytest.mark.lab
OFFLINE_LAB = LabSpec(name="pytest-offline", managers=1, workers=1, subnet="172.25.99.0/24")
HOSTS = ("base2", "base3", "foundation78")
CUT_TAG = "swarmctl-test-offline"
CUT_RULE = ["DOCKER-USER", "-s", OFFLINE_LAB.subnet, "!", "-d", OFFLINE_LAB.subnet,
            "-m", "comment", "--comment", CUT_TAG, "-j", "REJECT"]


def cut(on_: bool) -> None:
    """The lab's hosts reach nothing but each other and this machine (their SSH and the control machine)."""
    while subprocess.run(["iptables", "-D", *CUT_RULE], capture_output=True).returncode == 0:
        pass
    if on_:
        subprocess.run(["iptables", "-I", *CUT_RULE], check=True)


def containerd(lab, host: str) -> str:
    return on(lab, host, "dpkg-query", "-W", "-f=${Version}", "containerd")


def installed(lab, host: str, package: str) -> bool:
    return on(lab, host, "dpkg-query", "-W", "-f=${db:Status-Status}", package, check=False) == "installed"


@pytest.fixture(scope="module")
def own_lab(engine):
    held = owned_lab(OFFLINE_LAB.name)
    lab = Lab(OFFLINE_LAB.name, client=engine)
    cut(False)
    lab.down()
    result = lab.up(OFFLINE_LAB)
    try:
        yield lab, result["inventory"]
    finally:
        cut(False)
        if not os.environ.get("SWARMCTL_TEST_KEEP_LABS"):
            lab.down()
            held.close()
            assert lab_leftovers(engine, OFFLINE_LAB.name) == {"containers": [], "volumes": [], "networks": []}


def test_hosts_with_no_route_to_a_mirror_install_everything_from_the_control_machines_bundle(own_lab, tmp_path):
    lab, inventory = own_lab
    # Debian offers two containerd builds for bookworm (the main and the security suite): the first bundle holds
    # the older, so that the upgrade below is real.
    on(lab, "base2", "apt-get", "update", "-q")
    policy = parse_apt_policy(on(lab, "base2", "apt-cache", "policy", "containerd"))["containerd"]
    newest = policy["candidate"]
    older = next((v for v in policy["versions"] if v != newest), None)
    bundles, newer_bundles = tmp_path / "bundles", tmp_path / "newer-bundles"
    made = swarmctl("package-bundle", "-i", inventory, "--host", "base2", "--output", str(bundles),
                    *(["--version", f"containerd={older}"] if older else []))
    assert made.rc == 0, made
    bundle = bundles / "debian-12-amd64.tar"
    assert bundle.is_file() and bundle.stat().st_size > 50_000_000, list(bundles.iterdir())
    assert not installed(lab, "base2", "docker.io"), "making a bundle installs nothing on the host"
    made = swarmctl("package-bundle", "-i", inventory, "--host", "base2", "--output", str(newer_bundles))
    assert made.rc == 0, made

    cut(True)
    assert on(lab, "base3", "curl", "-sS", "-m", "10", "-o", "/dev/null", "http://deb.debian.org/debian/",
              check=False).startswith("curl:"), "the hosts still reach the mirror"

    # No bundle where the inventory says: refused before anything is installed, saying what to do.
    empty = tmp_path / "none"
    empty.mkdir()
    refused = swarmctl("up", "-i", inventory, "-e", "docker_engine_package_source=bundle",
                       "-e", f"docker_engine_bundle_dir={empty}")
    assert refused.rc != 0
    assert "has no bundle for debian-12-amd64.tar" in refused.output and "swarmctl package-bundle" in refused.output, \
        refused
    assert not any(installed(lab, host, "docker.io") for host in HOSTS)

    offline = ["-e", "docker_engine_package_source=bundle", "-e", f"docker_engine_bundle_dir={bundles}"]
    # A daemon.json key the engine refuses, on a host with no engine yet: the run stops at the engine's first
    # start with what the engine said; the next run, without the key, takes it out and goes on.
    bad = swarmctl("up", "-i", inventory, *offline, "--limit", "base2",
                   "-e", json.dumps({"docker_engine_daemon_extra": {"no-such-engine-option": 5}}))
    assert bad.rc != 0 and "the engine did not start: " in bad.output, bad
    assert "the following directives don't match any configuration option: no-such-engine-option" in bad.output, bad
    assert on(lab, "base2", "ls", "/var/cache/swarmctl-package-bundle.tar", check=False).endswith(
        "No such file or directory"), "a failed install leaves no copy of the bundle"

    up = swarmctl("up", "-i", inventory, *offline)
    assert up.rc == 0, up
    assert all(installed(lab, host, "docker.io") for host in HOSTS)
    assert installed(lab, "foundation78", "docker-registry"), "the registry's packages came from the bundle too"
    nodes = on(lab, "base2", "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}}").splitlines()
    assert sorted(nodes) == ["base2 Ready", "base3 Ready"], nodes
    states = on(lab, "base2", "docker", "service", "ps", "web", "--filter", "desired-state=running",
                "--format", "{{.CurrentState}}").splitlines()
    assert states and all(state.startswith("Running") for state in states), states
    for host in HOSTS:  # the copy is gone once installed; the host's own apt sources were never touched
        assert on(lab, host, "ls", "/var/cache/swarmctl-package-bundle.tar", check=False).endswith(
            "No such file or directory")

    again = swarmctl("up", "-i", inventory, *offline, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

    if older is None:
        pytest.skip(f"the mirror offers one containerd build only ({newest}): no offline upgrade to try")
    swarm_hosts = ("base2", "base3")
    assert {h: containerd(lab, h) for h in swarm_hosts} == {h: older for h in swarm_hosts}
    # The newer bundle's versions are what the upgrade brings; check mode says so and changes nothing.
    upgrade = ["-e", "docker_engine_package_source=bundle", "-e", f"docker_engine_bundle_dir={newer_bundles}"]
    wrong = swarmctl("upgrade", "-i", inventory, *upgrade, "--version", "containerd=0.0.1-no-such-build")
    assert wrong.rc == 2 and f"containerd 0.0.1-no-such-build is not in the package bundle (it offers: {newest})" \
        in wrong.stdout and "Nothing was changed" in wrong.stdout, wrong
    check = swarmctl("upgrade", "-i", inventory, *upgrade, "--check")
    assert check.rc == 0 and f"containerd {older} -> {newest}" in check.stdout, check
    assert {h: containerd(lab, h) for h in swarm_hosts} == {h: older for h in swarm_hosts}
    run = swarmctl("upgrade", "-i", inventory, *upgrade)
    assert run.rc == 0, run
    assert {h: containerd(lab, h) for h in swarm_hosts} == {h: newest for h in swarm_hosts}
    nodes = on(lab, "base2", "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}")
    assert sorted(nodes.splitlines()) == ["base2 Ready Active", "base3 Ready Active"], nodes
    for host in swarm_hosts:
        assert on(lab, host, "ls", "/var/cache/swarmctl-package-bundle.tar", check=False).endswith(
            "No such file or directory")
    again = swarmctl("upgrade", "-i", inventory, *upgrade, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

import importlib.util
import subprocess
from pathlib import Path

# The action plugin (not the documentation file of the same name under plugins/modules).
_PATH = Path(__file__).resolve().parents[2] / "plugins" / "action" / "swarmctl_host_check.py"
_SPEC = importlib.util.spec_from_file_location("swarmctl_host_check_action", _PATH)
host_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(host_check)

DEBIAN = {"distribution": "Debian", "os_family": "Debian", "service_mgr": "systemd",
          "all_ipv4_addresses": ["172.25.78.12", "172.18.0.1"], "default_ipv4": {"address": "172.25.78.12"}}


def test_cached_facts_of_this_host_are_used():
    assert not host_check.needs_gathering(DEBIAN, "172.25.78.12", refresh=False)
    assert not host_check.needs_gathering(DEBIAN, "base2.example", refresh=False)  # a name: cannot tell, trust them


def test_facts_are_gathered_when_missing_asked_for_or_of_another_host():
    assert host_check.needs_gathering({}, "172.25.78.12", refresh=False)
    assert host_check.needs_gathering(DEBIAN, "172.25.78.12", refresh=True)
    assert host_check.needs_gathering(DEBIAN, "172.25.90.12", refresh=False)  # same name, another lab


def test_node_address_prefers_the_override_then_the_inventory_address_then_the_default_route():
    assert host_check.node_address(DEBIAN, "172.25.78.12", "10.0.0.5") == "10.0.0.5"
    assert host_check.node_address(DEBIAN, "172.25.78.12", None) == "172.25.78.12"
    nat = dict(DEBIAN, all_ipv4_addresses=["10.1.1.4"], default_ipv4={"address": "10.1.1.4"})
    assert host_check.node_address(nat, "203.0.113.9", None) == "10.1.1.4"


def test_unsupported_hosts_are_told_what_they_run():
    assert host_check.unsupported(DEBIAN, ["Debian"]) is None
    message = host_check.unsupported(dict(DEBIAN, distribution="Rocky", os_family="RedHat"), ["Debian"])
    assert "runs Rocky with systemd" in message and "Debian/Ubuntu" in message
    assert "with openrc" in host_check.unsupported(dict(DEBIAN, service_mgr="openrc"), ["Debian"])


LAB_HOST_OUTPUT = """fact os debian
fact nodename base2.lab.example
fact service_mgr systemd
fact ipv4 lo 127.0.0.1/8
fact ipv4 eth0@if31 172.25.78.12/24
fact ipv4 docker_gwbridge 172.18.0.1/16
fact route 8.8.8.8 via 172.25.78.1 dev eth0@if31 src 172.25.78.12 uid 0
platform debian-12-amd64
package docker.io installed
"""


def test_the_shell_query_gives_the_facts_swarmctl_reads_without_python():
    facts = host_check.parse_host_facts(LAB_HOST_OUTPUT)
    assert facts == {"distribution": "Debian", "os_family": "Debian", "service_mgr": "systemd",
                     "nodename": "base2.lab.example", "hostname": "base2",
                     "all_ipv4_addresses": ["172.25.78.12", "172.18.0.1"],
                     "default_ipv4": {"address": "172.25.78.12", "interface": "eth0@if31", "gateway": "172.25.78.1"}}
    assert host_check.node_address(facts, "172.25.78.12", None) == "172.25.78.12"
    assert host_check.unsupported(facts, ["Debian"]) is None
    assert host_check.parse_host_query(LAB_HOST_OUTPUT, ["docker.io", "curl"]) == ("debian-12-amd64", ["curl"])


def test_other_systems_and_odd_hosts_are_named_as_ansible_names_them():
    ubuntu = host_check.parse_host_facts("fact os ubuntu debian\nfact service_mgr systemd\n")
    assert (ubuntu["distribution"], ubuntu["os_family"]) == ("Ubuntu", "Debian")
    rocky = host_check.parse_host_facts('fact os rocky rhel centos fedora\nfact service_mgr systemd\n')
    assert "runs Rocky with systemd" in host_check.unsupported(rocky, ["Debian"])
    # No systemd, no ip command, a direct route without a gateway.
    bare = host_check.parse_host_facts("fact os debian\nfact service_mgr sh\nfact route \n")
    assert "with sh" in host_check.unsupported(bare, ["Debian"]) and bare["default_ipv4"] == {}
    direct = host_check.parse_host_facts("fact route 8.8.8.8 dev ens3 src 10.0.0.7 uid 0\n")
    assert direct["default_ipv4"] == {"address": "10.0.0.7", "interface": "ens3", "gateway": ""}


def test_the_shell_query_runs_here_and_is_read_back():
    out = subprocess.run(["/bin/sh", "-c", host_check.host_query(["dpkg", "swarmctl-no-such"], facts=True)],
                         capture_output=True, text=True, timeout=30).stdout
    facts = host_check.parse_host_facts(out)
    assert facts["os_family"] == "Debian" and facts["all_ipv4_addresses"] and facts["service_mgr"] != "unknown"
    assert host_check.parse_host_query(out, ["dpkg", "swarmctl-no-such"])[1] == ["swarmctl-no-such"]

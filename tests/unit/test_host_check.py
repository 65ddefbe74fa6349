import importlib.util
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

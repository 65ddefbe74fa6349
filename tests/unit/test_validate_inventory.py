from swarmctl_validate_inventory import check_inventory, tolerance


def hosts(**addresses):
    return {name: {"address": address} for name, address in addresses.items()}


SEED_GROUPS = {"managers": ["base2"], "workers": ["base3", "base4"], "registry": ["foundation78"]}
SEED_HOSTS = hosts(base2="172.25.78.12", base3="172.25.78.13", base4="172.25.78.14", foundation78="172.25.78.78")


def test_seed_inventory_is_fine():
    report = check_inventory(SEED_GROUPS, SEED_HOSTS)
    assert report["errors"] == [] and report["warnings"] == []
    assert report["tolerance"] == 0


def test_tolerance_is_n_minus_one_over_two():
    assert [tolerance(n) for n in range(1, 8)] == [0, 0, 1, 1, 2, 2, 3]


def test_no_managers_fails_with_an_example():
    report = check_inventory({"workers": ["a"], "registry": ["r"]}, hosts(a="10.0.0.2", r="10.0.0.3"))
    assert any("no hosts in group 'managers'" in e and "ansible_host" in e for e in report["errors"])


def test_even_manager_count_warns_with_tolerance():
    groups = {"managers": ["a", "b"], "workers": [], "registry": ["a"]}
    report = check_inventory(groups, hosts(a="10.0.0.1", b="10.0.0.2"))
    assert report["errors"] == []
    assert len(report["warnings"]) == 1
    assert "2 managers tolerate 0 manager failure(s)" in report["warnings"][0]
    assert "odd number" in report["warnings"][0]


def test_host_in_both_groups():
    groups = {"managers": ["a"], "workers": ["a"], "registry": ["r"]}
    report = check_inventory(groups, hosts(a="10.0.0.1", r="10.0.0.2"))
    assert any("in both 'managers' and 'workers'" in e for e in report["errors"])


def test_duplicate_addresses_and_case_only_names():
    groups = {"managers": ["a", "A"], "workers": ["b"], "registry": ["r"]}
    report = check_inventory(groups, hosts(a="10.0.0.1", A="10.0.0.9", b="10.0.0.1", r="10.0.0.2"))
    assert any("a, b share the address 10.0.0.1" in e for e in report["errors"])
    assert any("differ only in case" in e for e in report["errors"])


def test_registry_group_rules():
    base = {"managers": ["a"], "workers": []}
    assert any("no host in group 'registry'" in e for e in check_inventory(base, hosts(a="10.0.0.1"))["errors"])
    two = {**base, "registry": ["r1", "r2"]}
    assert any("exactly one" in e for e in check_inventory(two, hosts(a="10.0.0.1", r1="10.0.0.2", r2="10.0.0.3"))["errors"])
    assert check_inventory(base, hosts(a="10.0.0.1"), registry_enabled=False)["errors"] == []


def test_local_and_malformed_addresses():
    groups = {"managers": ["a", "b", "c"], "workers": [], "registry": ["a"]}
    report = check_inventory(
        groups,
        {"a": {"address": "127.0.0.1"}, "b": {"address": "not an address"}, "c": {"address": "10.0.0.3", "advertise_addr": "eth0"}},
    )
    text = "\n".join(report["errors"])
    assert "points at this machine" in text
    assert "neither an IP address nor a host name" in text
    assert "must be an IP address" in text


def test_missing_ansible_host_falls_back_to_the_name():
    groups = {"managers": ["node1.example.com"], "workers": [], "registry": ["node1.example.com"]}
    assert check_inventory(groups, {"node1.example.com": {}})["errors"] == []

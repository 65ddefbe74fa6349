import pytest

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


# -- the variables a run is given, and the hosts a membership job names ------------------------------------

from swarmctl_validate_inventory import check_nodes, check_variables  # noqa: E402

WEB = {"name": "web", "image": "westos.org/web:v1", "replicas": 6, "expose": {"port": 8080, "target": 80},
       "update_config": {"parallelism": 2}}


def test_the_seed_services_and_defaults_are_fine():
    assert check_variables({"swarmctl_services": [WEB], "swarmctl_registry_name": "westos.org",
                            "swarmctl_registry_port": 443, "reconciler_status_bind": "127.0.0.1"}) == []
    assert check_variables({}) == []


@pytest.mark.parametrize("service, expected", [
    ({**WEB, "replica": 3}, "'replica' is not a service option (did you mean 'replicas'?)"),
    ({**WEB, "replicas": -1}, "replicas must be 0 or more"),
    ({**WEB, "replicas": "many"}, "replicas"),
    ({**WEB, "image": "Web:V1"}, "is not an image reference"),
    ({**WEB, "image": ""}, "is not an image reference"),
    ({"name": "web"}, "image is required"),
    ({**WEB, "name": "bad name!"}, "is not a service name"),
    ({**WEB, "expose": {"port": 0, "target": 80}}, "expose.port must be a TCP port"),
    ({**WEB, "expose": 8080}, "expose must be {port: PUBLISHED"),
    ({**WEB, "deploy_order": "first"}, "deploy_order must be a whole number"),
    ({**WEB, "deploy_order": True}, "deploy_order must be a whole number"),
    ({**WEB, "mode": "everywhere"}, "mode"),
    ({**WEB, "secrets": [{"source": "db"}]}, "secrets[0] needs the name of the secret"),
    ({**WEB, "secrets": [{"name": "db", "traget": "x"}]}, "'traget' is not a secret reference key (did you mean 'target'?)"),
    ({**WEB, "configs": ["db"]}, "configs"),
    ("web", "must be a mapping"),
])
def test_bad_service_specs_name_the_service_and_the_problem(service, expected):
    errors = check_variables({"swarmctl_services": [service]})
    assert any(expected in e for e in errors), errors


def test_services_declared_twice_and_not_a_list():
    assert any("more than once" in e for e in check_variables({"swarmctl_services": [WEB, WEB]}))
    assert any("must be a list" in e for e in check_variables({"swarmctl_services": {"web": WEB}}))


@pytest.mark.parametrize("values, expected", [
    ({"swarmctl_registry_name": "https://westos.org"}, "is not a host name"),
    ({"swarmctl_registry_name": "westos.org:5000"}, "is not a host name"),
    ({"swarmctl_registry_port": 70000}, "swarmctl_registry_port must be a TCP port"),
    ({"swarmctl_docker_tls_port": "x"}, "swarmctl_docker_tls_port must be a TCP port"),
    ({"reconciler_status_bind": "everywhere"}, "is not an IP address"),
    ({"reconciler_status_port": 0}, "reconciler_status_port must be a TCP port"),
    ({"reconciler_manager_grace_seconds": -5}, "at least 0"),
    ({"reconciler_desired_managers": 0}, "at least 1"),
    ({"reconciler_probe_failures": 1}, "one missed probe is never enough"),
    ({"docker_engine_package_source": "proxy"}, "docker_engine_package_source must be cluster"),
    ({"reconciler_probe_failures": -3}, "reconciler_probe_failures must be 0"),
    ({"reconciler_probe_failures": "often"}, "reconciler_probe_failures must be 0"),
    ({"reconciler_probe_interval_seconds": 0}, "at least 0.1"),
    ({"swarmctl_load_balancer": "nginx"}, "auto, mesh or haproxy"),
    ({"docker_engine_daemon_extra": ["debug"]}, "mapping of daemon.json keys"),
    ({"services_image": "UPPER/case"}, "--image"),
])
def test_bad_variables_are_named(values, expected):
    errors = check_variables(values)
    assert any(expected in e for e in errors), errors


def test_per_host_node_settings():
    errors = check_variables({}, {"base3": {"availability": "drained"}, "base4": {"labels": ["zone=a"]}})
    assert any("host base3: swarm_node_availability" in e for e in errors)
    assert any("host base4: swarm_node_labels" in e for e in errors)


def test_membership_jobs_take_swarm_hosts_and_never_every_manager():
    groups = {"managers": ["base2", "base3", "base4"], "workers": ["base5"]}
    assert check_nodes(groups, ["base5"]) == []
    assert any("base9: not in the inventory's managers or workers" in e for e in check_nodes(groups, ["base9"]))
    assert check_nodes(groups, []) != []
    every = check_nodes(groups, ["base2", "base3", "base4"], removing=True)
    assert any("would leave the swarm without a manager" in e for e in every)
    assert not any("another swarm" in e for e in every)
    assert check_nodes(groups, ["base2", "base3"], removing=True) == []  # quorum is the swarm's check


def test_the_control_machine_may_be_a_swarm_host_on_purpose():
    groups = {"managers": ["me"], "workers": [], "registry": ["me"]}
    report = check_inventory(groups, {"me": {"connection": "local", "advertise_addr": "10.0.0.5"}})
    assert report["errors"] == []
    ssh_to_self = check_inventory(groups, {"me": {"address": "127.0.0.1"}})
    assert any("ansible_connection: local" in e for e in ssh_to_self["errors"])


def test_a_service_item_reaches_the_module_whole_but_for_the_roles_own_keys():
    """The inventory check accepts the module's options and the role's own keys; the services role hands the item
    to the module as it is (task `args`), less exactly those role keys, so no option the check lets through is
    dropped, and a new module option needs no edit of the role."""
    from pathlib import Path

    import yaml

    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import SERVICE_OPTIONS
    from swarmctl_validate_inventory import SERVICE_ITEM_KEYS

    role = Path(__file__).resolve().parents[2] / "roles/services"
    role_keys = yaml.safe_load((role / "defaults/main.yml").read_text())["services_role_keys"]
    assert set(SERVICE_ITEM_KEYS) - set(SERVICE_OPTIONS) == set(role_keys)
    tasks = yaml.safe_load((role / "tasks/deploy_wave.yml").read_text())
    (deploy,) = [t for t in tasks if "swarmctl.swarm.swarmctl_service" in t]
    assert deploy["args"].replace(" ", "") == ("{{services_item|ansible.builtin.dict2items|rejectattr('key','in',"
                                               "services_role_keys)|ansible.builtin.items2dict}}")
    assert set(deploy["swarmctl.swarm.swarmctl_service"]) <= set(SERVICE_OPTIONS) | {"wait_timeout", "wait"}

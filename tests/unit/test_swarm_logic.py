import pytest
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    JOIN_ADDR_LABEL,
    JOIN_ADDRS_LABEL,
    demotion_problem,
    has_quorum,
    join_addrs_of,
    merge_join_addrs,
    node_join_addr,
    membership,
    membership_problem,
    plan_node_changes,
    record_join_addrs,
    removal_problem,
    summarize_node,
    tolerance,
)
from helpers import host_module
from swarmctl_filters import (swarmctl_join_records, swarmctl_left_behind, swarmctl_membership_problem,
                              swarmctl_node_changes, swarmctl_node_entries, swarmctl_node_names, swarmctl_nodes_named,
                              swarmctl_not_members)


def node(id, role="manager", reach="reachable", hostname=None, availability="active", labels=None):
    return {"id": id, "hostname": hostname or id, "role": role, "reachability": reach if role == "manager" else "",
            "availability": availability, "labels": labels or {}}


def test_quorum_arithmetic():
    assert [tolerance(n) for n in (1, 2, 3, 4, 5)] == [0, 0, 1, 1, 2]
    assert has_quorum(2, 3) and not has_quorum(1, 2) and has_quorum(1, 1) and not has_quorum(0, 0)


def test_demotion_is_safe_only_with_a_majority_left():
    three = [node("a"), node("b"), node("c"), node("w", role="worker")]
    assert demotion_problem(three, "c") is None
    assert demotion_problem(three, "w") is None  # not a manager
    one_down = [node("a"), node("b", reach="unreachable"), node("c")]
    problem = demotion_problem(one_down, "c")
    assert problem and "1 reachable manager(s) of 2" in problem
    assert "last manager" in demotion_problem([node("a")], "a")
    # Demoting the unreachable one itself is what restores health.
    assert demotion_problem(one_down, "b") is None


def test_removing_several_managers_is_decided_on_the_whole_set():
    five = [node("a"), node("b"), node("c"), node("d"), node("e", reach="unreachable"), node("w", role="worker")]
    # One by one against the list as it was, each of a, b, c passes; together they leave d and e, one down.
    assert all(demotion_problem(five, n) is None for n in "abc")
    problem = removal_problem(five, ["a", "b", "c"])
    assert problem and "demoting a, b, c would leave 1 reachable manager(s) of 2" in problem
    assert removal_problem(five, ["a", "b"]) is None and removal_problem(five, ["w"]) is None
    assert "without a manager" in removal_problem([node("a"), node("b")], ["a", "b"])
    assert removal_problem([node("a"), node("b"), node("c")], ["b", "c"]) is None


def test_membership_of_managers_workers_and_broken_nodes():
    ours = "cluster1"
    assert membership({"state": "inactive"}, ours, []) == "none"
    assert membership({"state": "locked", "node_id": "x"}, ours, []) == "locked"
    assert membership({"state": "error", "node_id": ""}, ours, []) == "broken"
    assert membership({"state": "pending", "node_id": "n1"}, ours, []) == "broken"
    manager = {"state": "active", "node_id": "m1", "is_manager": True, "cluster_id": "cluster1"}
    assert membership(manager, ours, []) == "ours"
    assert membership({**manager, "cluster_id": "cluster2"}, ours, []) == "other"
    worker = {"state": "active", "node_id": "w1", "is_manager": False, "cluster_id": ""}
    assert membership(worker, ours, ["m1", "w1"]) == "ours"
    assert membership(worker, ours, ["m1"]) == "other"
    # With no swarm yet, any active node is in another one.
    assert membership(manager, "", []) == "other"
    # A manager of this swarm that is not in its node list is a stale copy: with a leader of its own (active),
    # or back alone without enough of its old managers to elect one (pending, its swarm read from its certificate).
    assert membership(manager, ours, ["m2", "w1"]) == "stale"
    alone = {**manager, "state": "pending", "error": "The swarm does not have a leader."}
    assert membership(alone, ours, ["m2", "w1"]) == "stale"
    assert membership(alone, ours, ["m1", "m2"]) == "broken"
    assert membership({**alone, "cluster_id": "cluster2"}, ours, ["m2"]) == "broken"


def test_problem_messages_say_how_to_fix():
    local = {"state": "active", "node_id": "n9", "cluster_id": "zzz", "remote_managers": ["10.0.0.9:2377"]}
    text = membership_problem(local, "other")
    assert "another swarm" in text and "zzz" in text and "docker swarm leave --force" in text
    assert "swarm_force_rejoin: true" in text
    broken = membership_problem({"state": "error", "node_id": "", "error": "join timed out"}, "broken")
    assert "half joined" in broken and "join timed out" in broken
    assert membership_problem(local, "ours") == ""


def test_node_change_plans():
    current = {"role": "worker", "availability": "active", "labels": {"zone": "a", "keep": "1"}}
    assert plan_node_changes(current, {"role": "worker", "availability": "active", "labels": {}}) == {}
    assert plan_node_changes(current, {"role": "manager"}) == {"role": "manager"}
    assert plan_node_changes(current, {"availability": "drain"}) == {"availability": "drain"}
    assert plan_node_changes(current, {"labels": {"zone": "b"}}) == {"labels": {"zone": "b", "keep": "1"}}
    assert plan_node_changes(current, {"labels": {"zone": "a"}}, labels_exclusive=True) == {"labels": {"zone": "a"}}
    assert plan_node_changes(current, {"labels": {"zone": "a"}}) == {}
    assert plan_node_changes(current, {"remove_labels": ["keep", "absent"]}) == {"labels": {"zone": "a"}}
    assert plan_node_changes(current, {"remove_labels": ["absent"]}) == {}


def test_summarize_node_from_engine_object():
    raw = {"ID": "abc", "Version": {"Index": 7}, "Description": {"Hostname": "base2"},
           "Spec": {"Role": "manager", "Availability": "drain", "Labels": {"a": "b"}},
           "Status": {"State": "ready", "Addr": "172.25.78.12"},
           "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "172.25.78.12:2377"}}
    summary = summarize_node(raw)
    assert summary["hostname"] == "base2" and summary["leader"] and summary["manager_addr"] == "172.25.78.12:2377"
    assert summary["availability"] == "drain" and summary["version"] == 7


def test_filters_pick_only_what_needs_work():
    swarm = {"id": "c1", "nodes": [node("m1"), node("w1", role="worker")]}
    hostvars = {
        "base2": {"swarm_info": {"local": {"state": "active", "node_id": "m1", "is_manager": True, "cluster_id": "c1"}}},
        "base3": {"swarm_info": {"local": {"state": "active", "node_id": "w1", "is_manager": False}}},
        "base4": {"swarm_info": {"local": {"state": "inactive"}}},
        "base5": {},
    }
    assert swarmctl_not_members(["base2", "base3", "base4", "base5"], hostvars, swarm) == ["base4", "base5"]
    wanted = [{"node_id": "m1", "role": "manager", "availability": "active", "labels": {}},
              {"node_id": "w1", "role": "worker", "availability": "drain", "labels": {}},
              {"node_id": "new", "role": "worker", "availability": "active", "labels": {}},
              {"node_id": "new2", "role": "worker", "availability": "drain", "labels": {}}]
    assert [e["node_id"] for e in swarmctl_node_changes(wanted, swarm["nodes"])] == ["w1", "new2"]
    assert swarmctl_membership_problem({"state": "no-engine"}, swarm) == ""
    assert "another swarm" in swarmctl_membership_problem({"state": "active", "node_id": "x", "is_manager": False}, swarm)


def test_membership_problems_skip_hosts_allowed_to_rejoin():
    from swarmctl_filters import swarmctl_membership_problems

    foreign = {"swarm_info": {"local": {"state": "active", "node_id": "x", "is_manager": True, "cluster_id": "zz"}}}
    hostvars = {"a": foreign, "b": {**foreign, "swarm_force_rejoin": True}, "c": {"swarm_info": {"local": {"state": "inactive"}}}}
    problems = swarmctl_membership_problems(["a", "b", "c"], hostvars, {"id": "c1", "nodes": []})
    assert len(problems) == 1 and problems[0].startswith("a: this host is already in another swarm")


def test_workers_may_join_through_managers_that_joined_in_the_same_run():
    from swarmctl_filters import swarmctl_join_addrs, swarmctl_rotate

    hostvars = {"base2": {}, "base3": {"swarm_member": {"action": "joined", "node_addr": "10.0.0.3"}},
                "base4": {"swarm_member": {"action": "none", "node_addr": "10.0.0.4"}}}
    addrs = swarmctl_join_addrs(["10.0.0.2:2377"], ["base2", "base3", "base4"], hostvars)
    assert addrs == ["10.0.0.2:2377", "10.0.0.3:2377"]
    assert [swarmctl_rotate(addrs, i)[0] for i in (1, 2)] == ["10.0.0.3:2377", "10.0.0.2:2377"]


class _LeavingEngine:
    """An engine whose node a manager has demoted: it acts as a manager for `steps` more questions."""

    def __init__(self, role_in_spec, steps):
        self.role_in_spec = role_in_spec  # None: the engine cannot answer as a manager any more
        self.steps = steps
        self.left = None

    def info(self):
        self.steps -= 1
        manager = self.steps >= 0
        return {"Swarm": {"LocalNodeState": "active", "NodeID": "n4", "ControlAvailable": manager}}

    def inspect_node(self, node_id):
        from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError

        if self.role_in_spec is None:
            raise EngineAPIError(503, "This node is not a swarm manager.")
        return {"ID": node_id, "Spec": {"Role": self.role_in_spec}}

    def leave_swarm(self, force=False):
        self.left = force


class _Module:
    def __init__(self, **params):
        self.params = {"force": False, "timeout": 5, **params}
        self.check_mode = False

    def fail_json(self, **kwargs):
        raise SystemExit(kwargs["msg"])


@pytest.mark.parametrize("role_in_spec", ["worker", None])
def test_a_demoted_manager_leaves_once_its_engine_has_stepped_down(role_in_spec):
    swarmctl_swarm = host_module("swarmctl_swarm")
    engine = _LeavingEngine(role_in_spec, steps=3)
    before = {"state": "active", "node_id": "n4", "is_manager": True}
    assert swarmctl_swarm.leave(_Module(), engine, before) == "left"
    assert engine.left is False and engine.steps < 0


def test_a_manager_never_demoted_is_refused_at_once():
    swarmctl_swarm = host_module("swarmctl_swarm")
    engine = _LeavingEngine("manager", steps=100)
    before = {"state": "active", "node_id": "n4", "is_manager": True}
    with pytest.raises(SystemExit, match="demote it first"):
        swarmctl_swarm.leave(_Module(), engine, before)
    assert engine.left is None and engine.steps == 100


def test_services_roll_out_in_waves_of_their_deploy_order():
    from swarmctl_filters import swarmctl_deploy_waves

    services = [{"name": "web", "deploy_order": 2}, {"name": "db"}, {"name": "api", "deploy_order": 2},
                {"name": "cache", "deploy_order": -1}, {"name": "worker"}]
    assert swarmctl_deploy_waves(services) == [["cache"], ["db", "worker"], ["web", "api"]]
    assert swarmctl_deploy_waves(services, ["api", "db"]) == [["db"], ["api"]]
    assert swarmctl_deploy_waves([]) == [] and swarmctl_deploy_waves(None) == []


def _certificate(subject: dict, issuer: dict) -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(parts):
        oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}
        return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_leaderless_manager_names_its_swarm_from_its_node_certificate(tmp_path):
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
        certificate_cluster_id,
        local_state,
    )

    folder = tmp_path / "swarm" / "certificates"
    folder.mkdir(parents=True)
    assert certificate_cluster_id(str(tmp_path)) == ""  # no certificate: not in a swarm
    # As Swarm writes it: the node's certificate first, then the CA's; the issuer with an O of its own here, so
    # the subject's is the one read.
    node = _certificate({"O": "86x35oqhxtygq9lf1b8y2fvdx", "OU": "swarm-manager", "CN": "n0d31d"},
                        {"O": "someone-elses-ca", "CN": "swarm-ca"})
    (folder / "swarm-node.crt").write_bytes(node + _certificate({"CN": "swarm-ca"}, {"CN": "swarm-ca"}))
    assert certificate_cluster_id(str(tmp_path)) == "86x35oqhxtygq9lf1b8y2fvdx"
    (folder / "swarm-node.crt").write_bytes(_certificate({"CN": "no-organization"}, {"CN": "swarm-ca"}))
    assert certificate_cluster_id(str(tmp_path)) == ""
    (folder / "swarm-node.crt").write_text("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    assert certificate_cluster_id(str(tmp_path)) == ""
    (folder / "swarm-node.crt").write_bytes(node)

    class Engine:
        def __init__(self, cluster):
            self.cluster = cluster

        def info(self):
            swarm = {"LocalNodeState": "active", "NodeID": "n0d31d", "ControlAvailable": True,
                     "Error": "" if self.cluster else "rpc error: code = Unknown desc = The swarm does not have a leader."}
            if self.cluster:
                swarm["Cluster"] = {"ID": self.cluster}
            return {"DockerRootDir": str(tmp_path), "Swarm": swarm}

    assert local_state(Engine(""))["cluster_id"] == "86x35oqhxtygq9lf1b8y2fvdx"
    assert local_state(Engine("fromtheleader"))["cluster_id"] == "fromtheleader"


def test_a_stale_copy_still_electing_is_not_taken_for_a_swarm_without_a_leader():
    from swarmctl_filters import swarmctl_leaderless

    def manager(node_id, quorum, nodes=()):
        found = {"local": {"node_id": node_id, "state": "active", "is_manager": True}, "quorum": quorum}
        if quorum:
            found["swarm"] = {"nodes": [{"id": n} for n in nodes]}
        return {"swarm_info": found}

    # base3 was rebuilt by a recover; base2 and base4 came back on the old Raft group and have not elected yet.
    rebuilt = {"base3": manager("n3", True, ("n3", "n5", "n6")), "base2": manager("n2", False),
               "base4": manager("n4", False)}
    assert swarmctl_leaderless(["base3", "base2", "base4"], rebuilt, "base3") == []
    # A manager of the swarm itself without a leader (cut off, or an election under way) still counts...
    cut_off = {**rebuilt, "base2": manager("n2", False), "base3": manager("n3", True, ("n2", "n3", "n4"))}
    assert swarmctl_leaderless(["base3", "base2", "base4"], cut_off, "base3") == ["base2", "base4"]
    # ... and so does every manager when no manager has a leader (quorum lost).
    lost = {"base2": manager("n2", False), "base3": manager("n3", False)}
    assert swarmctl_leaderless(["base2", "base3"], lost, "base2") == ["base2", "base3"]
    assert swarmctl_leaderless(["base2"], lost, "") == ["base2"]


def _node(node_id, hostname, addr, state="ready", role="worker"):
    return {"id": node_id, "hostname": hostname, "addr": addr, "state": state, "role": role}


def test_the_down_entry_a_rejoined_worker_left_behind_is_removed_and_nothing_else():
    hostvars = {
        # base6 left and joined again in this run: its engine is node new6 now.
        "base6": {"ansible_facts": {"hostname": "base6"}, "swarm_info": {"local": {"node_id": "", "node_addr": ""}},
                  "swarm_worker_member": {"action": "joined", "node_id": "new6", "node_addr": "10.0.0.6"}},
        "base5": {"ansible_facts": {"hostname": "base5"},
                  "swarm_info": {"local": {"node_id": "n5", "node_addr": "10.0.0.5"}}},
        # Unreachable: no engine answered, so its entry (down) is not judged.
        "base7": {"ansible_facts": {"hostname": "base7"}},
    }
    nodes = [
        _node("old6", "base6", "10.0.0.6", "down"),
        _node("n5", "base5", "10.0.0.5"),
        _node("old5", "base5", "10.0.0.5", "down"),
        _node("up6", "base6", "10.0.0.6", "ready"),  # just left, its heartbeat not expired: a later run
        _node("elsewhere6", "base6", "10.9.9.9", "down"),  # same name, another address: not this host's
        _node("mgr6", "base6", "10.0.0.6", "down", role="manager"),  # a manager entry needs demoting: not here
        _node("n7", "base7", "10.0.0.7", "down"),
    ]
    assert swarmctl_left_behind(["base5", "base6", "base7"], hostvars, nodes) == [
        {"node_id": "old5", "host": "base5's old node old5"},
        {"node_id": "old6", "host": "base6's old node old6"},
    ]


def test_no_entry_is_left_behind_when_every_host_is_its_only_node():
    hostvars = {h: {"ansible_facts": {"hostname": h}, "swarm_info": {"local": {"node_id": f"id-{h}", "node_addr": a}}}
                for h, a in (("base2", "10.0.0.2"), ("base3", "10.0.0.3"))}
    nodes = [_node("id-base2", "base2", "10.0.0.2", role="manager"), _node("id-base3", "base3", "10.0.0.3", "down")]
    # base3's own entry is down (its engine is restarting): it is still the host's node, never removed.
    assert swarmctl_left_behind(["base2", "base3"], hostvars, nodes) == []


def test_a_host_is_known_by_the_name_its_engine_gives_its_node_even_a_dotted_one():
    """Docker names a node by the host's node name (uname -n), dots and all; facts cached before the host check
    read it know only the short host name."""
    hostvars = {"base5": {"ansible_facts": {"nodename": "base5.example.org", "hostname": "base5"}},
                "base6": {"ansible_facts": {"hostname": "base6"}}}
    assert swarmctl_node_names(["base5", "base6"], hostvars) == ["base5.example.org", "base6"]
    nodes = [{"id": "n5", "hostname": "base5.example.org"}, {"id": "n6", "hostname": "base6"}]
    assert swarmctl_nodes_named(["base5", "base6"], hostvars, nodes) == [{"node_id": "n5", "host": "base5"},
                                                                          {"node_id": "n6", "host": "base6"}]


class _JustForcedSwarm:
    """A swarm just forced from one manager: its first `failures` writes time out."""

    def __init__(self, failures):
        self.failures = failures
        self.spec = {"Name": "default", "Labels": {"mine": "kept"}}

    def inspect_swarm(self):
        return {"ID": "s1", "Version": {"Index": 7}, "Spec": self.spec}

    def update_swarm(self, version, spec, **kwargs):
        if self.failures:
            self.failures -= 1
            raise EngineAPIError(500, "rpc error: code = DeadlineExceeded desc = context deadline exceeded")
        self.spec = spec


def test_a_rebuilt_swarm_is_marked_once_it_takes_writes_and_a_swarm_that_never_does_fails():
    swarmctl_swarm = host_module("swarmctl_swarm")
    swarm = _JustForcedSwarm(failures=1)
    swarmctl_swarm.mark_recovered(swarm, timeout=5)
    assert swarm.spec["Labels"]["mine"] == "kept" and "io.swarmctl.recovered" in swarm.spec["Labels"]
    with pytest.raises(Exception, match="DeadlineExceeded"):
        swarmctl_swarm.mark_recovered(_JustForcedSwarm(failures=100), timeout=1)


def test_the_managers_nodes_joined_through_are_one_swarm_label_and_old_node_labels_still_count():
    spec = {"Labels": {JOIN_ADDRS_LABEL: '{"n1": "10.0.0.1:2377", "n2": "10.0.0.2:2377"}', "theirs": "x"}}
    addrs = join_addrs_of(spec)
    assert addrs == {"n1": "10.0.0.1:2377", "n2": "10.0.0.2:2377"}
    assert join_addrs_of({}) == {} and join_addrs_of({"Labels": {JOIN_ADDRS_LABEL: "not json"}}) == {}
    assert join_addrs_of({"Labels": {JOIN_ADDRS_LABEL: '["a list"]'}}) == {}
    assert node_join_addr({"id": "n1", "labels": {JOIN_ADDR_LABEL: "10.0.0.9:2377"}}, addrs) == "10.0.0.1:2377"
    assert node_join_addr({"id": "old", "labels": {JOIN_ADDR_LABEL: "10.0.0.9:2377"}}, addrs) == "10.0.0.9:2377"
    assert node_join_addr({"id": "n3", "labels": {}}, addrs) == ""
    # New entries are added, a node that left the swarm loses its entry.
    assert merge_join_addrs(addrs, {"n3": "10.0.0.2:2377"}, ["n2", "n3"]) == {"n2": "10.0.0.2:2377",
                                                                            "n3": "10.0.0.2:2377"}


class _SwarmSpec:
    def __init__(self, labels):
        self.spec = {"Name": "default", "Labels": dict(labels), "Raft": {"SnapshotInterval": 10000}}
        self.writes = []

    def inspect_swarm(self):
        return {"ID": "s1", "Version": {"Index": 3 + len(self.writes)}, "Spec": self.spec}

    def update_swarm(self, version, spec, **kwargs):
        self.writes.append(version)
        self.spec = spec


def test_join_addresses_are_recorded_in_one_write_keeping_the_rest_of_the_spec():
    swarm = _SwarmSpec({"theirs": "x"})
    assert record_join_addrs(swarm, {"n1": "a:2377", "n2": "b:2377"}, ["n1", "n2", "m"], check_mode=True)
    assert swarm.writes == []
    assert record_join_addrs(swarm, {"n1": "a:2377", "n2": "b:2377"}, ["n1", "n2", "m"])
    assert swarm.writes == [3] and swarm.spec["Labels"]["theirs"] == "x" and swarm.spec["Raft"]["SnapshotInterval"] == 10000
    assert join_addrs_of(swarm.spec) == {"n1": "a:2377", "n2": "b:2377"}
    assert not record_join_addrs(swarm, {"n2": "b:2377"}, ["n1", "n2", "m"]) and len(swarm.writes) == 1
    assert record_join_addrs(swarm, {"n3": "a:2377"}, ["n2", "n3"])
    assert join_addrs_of(swarm.spec) == {"n2": "b:2377", "n3": "a:2377"}


def test_only_hosts_that_joined_in_this_run_have_a_join_address_to_record():
    hostvars = {
        "base2": {"swarm_primary_result": {"node_id": "m1", "action": "initialized"}},
        "base3": {"swarm_member": {"node_id": "m2", "action": "joined", "join_addr": "10.0.0.2:2377"}},
        "base5": {"swarm_worker_member": {"node_id": "w1", "action": "joined", "join_addr": "10.0.0.3:2377"},
                  "swarm_node_labels": {"zone": "a"}},
        "base6": {"swarm_info": {"local": {"state": "active", "node_id": "w2"}}},
    }
    hosts = ["base2", "base3", "base5", "base6"]
    assert swarmctl_join_records(hosts, hostvars) == [{"host": "base3", "node_id": "m2", "join_addr": "10.0.0.2:2377"},
                                                      {"host": "base5", "node_id": "w1", "join_addr": "10.0.0.3:2377"}]
    # Node settings carry the user's labels only.
    entries = swarmctl_node_entries(hosts, hostvars, ["base2", "base3"])
    assert [e["labels"] for e in entries] == [{}, {}, {"zone": "a"}, {}]

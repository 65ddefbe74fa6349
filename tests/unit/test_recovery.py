"""swarmctl recover's decisions: which manager a swarm that lost quorum is rebuilt from, what is refused, who joins."""

import os

import pytest
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    JOIN_ADDR_LABEL,
    MAINTENANCE_LABEL,
    RecoveryRefused,
    leaderless,
    membership,
    membership_problem,
    raft_state,
    recovery_joiners,
    recovery_plan,
)
from swarmctl_filters import swarmctl_newest_swarm_first

NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers "
             "are online. Make sure more than half of the managers are online.")
MANAGERS = {"m1": "id-m1", "m2": "id-m2", "m3": "id-m3"}
ADDRS = {"m1": "10.0.0.1", "m2": "10.0.0.2", "m3": "10.0.0.3", "m4": "10.0.0.4", "m5": "10.0.0.5", "w1": "10.0.0.11",
         "w2": "10.0.0.12"}
ORDER = ["m1", "m2", "m3", "w1", "w2"]


def survivor(host, snapshot_index=0, last_write=0.0, managers=MANAGERS):
    return {"local": {"state": "active", "is_manager": True, "error": NO_LEADER, "node_id": managers[host],
                      "node_addr": ADDRS[host], "cluster_id": "",
                      "remote_manager_ids": list(managers.values()),
                      "remote_managers": [f"{ADDRS[h]}:2377" for h in managers]},
            "quorum": False, "raft": {"snapshot_index": snapshot_index, "last_write": last_write}}


def worker(host):
    return {"local": {"state": "active", "is_manager": False, "error": "", "node_id": f"id-{host}",
                      "node_addr": ADDRS[host], "cluster_id": ""}}


def node(host, role="worker", reach="", labels=None, availability="active", state="unknown"):
    return {"id": f"id-{host}", "hostname": host, "role": role, "reachability": reach, "labels": labels or {},
            "availability": availability, "state": state}


def test_a_leaderless_manager_is_told_by_its_own_engine():
    assert leaderless(survivor("m1")["local"])
    assert not leaderless(dict(survivor("m1")["local"], error=""))
    assert not leaderless(worker("w1")["local"])


def test_the_only_survivor_is_chosen_and_the_lost_managers_are_named():
    plan = recovery_plan({"m1": None, "m2": None, "m3": survivor("m3"), "w1": worker("w1"), "w2": worker("w2")},
                         ORDER)
    assert plan["chosen"] == "m3" and "only manager left of 3" in plan["why"]
    assert plan["node_addr"] == "10.0.0.3"
    assert [n["node_id"] for n in plan["lost"]] == ["id-m1", "id-m2"]
    assert "10.0.0.1:2377" in plan["lost"][0]["host"]
    assert plan["others"] == [] and plan["remove"] == plan["lost"]


def test_of_several_survivors_the_one_whose_raft_log_goes_furthest_is_chosen():
    five = {h: f"id-{h}" for h in ("m1", "m2", "m3", "m4", "m5")}
    order = ["m1", "m2", "m3", "m4", "m5"]
    found = {"m1": survivor("m1", 10, 100.0, five), "m2": survivor("m2", 12, 90.0, five), "m3": None, "m4": None,
             "m5": None}
    plan = recovery_plan(found, order)
    assert plan["chosen"] == "m2" and "most recent Raft state" in plan["why"] and "index 12" in plan["why"]
    assert plan["others"] == ["m1"]
    # The other survivor's node goes with the lost ones: it joins again.
    assert {n["node_id"] for n in plan["remove"]} == {"id-m1", "id-m3", "id-m4", "id-m5"}
    found["m1"] = survivor("m1", 12, 120.0, five)  # same snapshot: the latest write decides
    assert recovery_plan(found, order)["chosen"] == "m1"


def test_recover_is_refused_while_a_manager_leads():
    healthy = dict(survivor("m1"), quorum=True, swarm={"nodes": [node("m1", "manager", "reachable"),
                                                                  node("m2", "manager", "reachable"),
                                                                  node("m3", "manager", "unreachable")]})
    with pytest.raises(RecoveryRefused, match="quorum is not lost.*2 of 3.*remove-node"):
        recovery_plan({"m1": healthy, "m2": None, "m3": None}, ORDER)


def test_a_recover_that_did_not_finish_goes_on_from_the_forced_manager():
    forced = dict(survivor("m3"), quorum=True, swarm={"nodes": [
        node("m1", "manager", ""), node("m2", "manager", ""), node("m3", "manager", "reachable"), node("w1")]})
    plan = recovery_plan({"m1": None, "m2": None, "m3": forced, "w1": worker("w1")}, ORDER)
    assert plan["chosen"] == "m3" and "did not finish" in plan["why"]
    assert [n["host"] for n in plan["lost"]] == ["m1", "m2"]


def test_recover_is_refused_when_no_manager_survives_or_a_majority_answers():
    with pytest.raises(RecoveryRefused, match="no manager of the swarm survives.*m1, m2, m3 did not answer.*restore.*reset"):
        recovery_plan({"m1": None, "m2": None, "m3": None, "w1": worker("w1")}, ORDER)
    with pytest.raises(RecoveryRefused, match="2 of its 3 managers answer.*electing"):
        recovery_plan({"m1": survivor("m1"), "m2": survivor("m2"), "m3": None}, ORDER)
    locked = {"local": {"state": "locked", "is_manager": False, "node_id": "id-m1"}}
    with pytest.raises(RecoveryRefused, match="m1 is locked.*unlock"):
        recovery_plan({"m1": locked, "m2": None, "m3": None}, ORDER)


def test_survivors_of_two_swarms_are_refused():
    stranger = survivor("m2")
    stranger["local"]["remote_manager_ids"] = ["id-m2", "id-x", "id-y"]
    with pytest.raises(RecoveryRefused, match="do not belong to one swarm"):
        recovery_plan({"m1": survivor("m1"), "m2": stranger, "m3": None}, ORDER)


def test_joiners_are_the_other_survivors_then_healthy_workers_that_join_again():
    found = {"m1": None, "m2": None, "m3": survivor("m3"), "w1": worker("w1"), "w2": worker("w2")}
    plan = recovery_plan(found, ORDER)
    nodes = [node("m3", "manager", "reachable"),
             node("w1", labels={JOIN_ADDR_LABEL: "10.0.0.1:2377", "zone": "a"}),
             node("w2", labels={JOIN_ADDR_LABEL: "10.0.0.3:2377"})]
    joiners = recovery_joiners(nodes, found, plan, 3, ORDER)
    # Through the chosen manager or not, a worker joins again: never a promotion in place (see recovery_joiners).
    assert [(j["host"], j["was"]) for j in joiners] == [("w1", "worker"), ("w2", "worker")]
    assert joiners[0]["labels"]["zone"] == "a" and joiners[0]["addr"] == "10.0.0.11"
    # Enough managers: nobody else joins. A worker in maintenance, drained, or silent is never chosen.
    assert recovery_joiners(nodes, found, plan, 2, ORDER)[0]["host"] == "w1"
    assert len(recovery_joiners(nodes, found, plan, 2, ORDER)) == 1
    nodes[1]["labels"][MAINTENANCE_LABEL] = "reboot"
    nodes[2]["availability"] = "drain"
    assert recovery_joiners(nodes, found, plan, 3, ORDER) == []
    assert recovery_joiners([node("m3", "manager", "reachable"), node("w1")], dict(found, w1=None), plan, 3,
                            ORDER) == []


def test_a_manager_the_swarm_was_rebuilt_without_is_stale_not_ours():
    local = {"state": "active", "is_manager": True, "node_id": "id-m1", "cluster_id": "c1", "remote_managers": []}
    assert membership(local, "c1", ["id-m3", "id-w1"]) == "stale"
    assert membership(local, "c1", ["id-m1", "id-m3"]) == "ours"
    assert membership(local, "c1", []) == "ours"  # no node list to compare with (the first manager's own run)
    assert membership(local, "c2", ["id-m1"]) == "other"
    problem = membership_problem(local, "stale")
    assert "stale copy" in problem and "docker swarm leave --force" in problem and "swarm_force_rejoin" in problem


def test_the_most_recently_rebuilt_swarm_answers_first():
    def info(recovered):
        return {"swarm_info": {"swarm": {"recovered": recovered}}}

    hostvars = {"m1": info(""), "m2": info(""), "m3": info("2026-12-02T07:36:19Z m3")}
    assert swarmctl_newest_swarm_first(["m1", "m2", "m3"], hostvars) == ["m3", "m1", "m2"]
    plain = {"m1": info(""), "m2": info("")}
    assert swarmctl_newest_swarm_first(["m2", "m1"], plain) == ["m2", "m1"]


def test_raft_state_reads_snapshot_indexes_and_the_last_log_write(tmp_path):
    class Engine:
        def info(self):
            return {"DockerRootDir": str(tmp_path)}

    assert raft_state(Engine()) == {}
    raft = tmp_path / "swarm" / "raft"
    (raft / "snap-v3-encrypted").mkdir(parents=True)
    (raft / "wal-v3-encrypted").mkdir()
    (raft / "snap-v3-encrypted" / "0000000000000002-0000000000000011.snap").write_text("")
    (raft / "snap-v3-encrypted" / "0000000000000003-00000000000000a0.snap").write_text("")
    wal = raft / "wal-v3-encrypted" / "0000000000000000-0000000000000000.wal"
    wal.write_text("")
    os.utime(wal, (1000, 1234.5))
    (raft / "wal-v3-encrypted" / "0.tmp").write_text("")  # preallocated, not a log
    state = raft_state(Engine())
    assert state["snapshot_index"] == 0xA0 and state["last_write"] == 1234.5 and state["path"] == str(raft)


def test_two_copies_of_a_swarm_are_told_apart_by_their_recovery_label_or_refused():
    from swarmctl_filters import swarmctl_split_problem, swarmctl_swarm_copies

    def described(leader, recovered="", swarm_id="s1"):
        return {"swarm_info": {"swarm": {"id": swarm_id, "recovered": recovered, "nodes": [
            {"id": f"id-{leader}", "hostname": leader, "leader": True}, {"id": "id-x", "hostname": "x"}]}}}

    hostvars = {"m1": described("m1"), "m2": described("m1"), "m3": described("m3", "2026-12-02T07:36:19Z m3"),
                "w1": {"swarm_info": {"local": {}}}}
    copies = swarmctl_swarm_copies(["m1", "m2", "m3", "w1"], hostvars)
    assert sorted((c["leader"], c["hosts"]) for c in copies) == [("m1", ["m1", "m2"]), ("m3", ["m3"])]
    assert swarmctl_split_problem(copies) == ""  # m3's copy was rebuilt, m1's was not: m3's is current
    hostvars["m1"] = hostvars["m2"] = described("m1", "2026-12-02T07:36:19Z m3")  # forked after that recovery
    problem = swarmctl_split_problem(swarmctl_swarm_copies(["m1", "m2", "m3"], hostvars))
    assert "exists twice" in problem and "m1, m2 see a swarm led by m1" in problem and "leave --force" in problem
    hostvars["m3"] = described("m3", "2026-12-02T08:00:00Z m3")
    assert swarmctl_split_problem(swarmctl_swarm_copies(["m1", "m2", "m3"], hostvars)) == ""
    # Two different swarms are not copies of one.
    other = {"a": described("a", swarm_id="s1"), "b": described("b", swarm_id="s2")}
    assert swarmctl_split_problem(swarmctl_swarm_copies(["a", "b"], other)) == ""


def test_a_manager_started_on_a_restored_state_without_peers_is_leaderless_while_pending():
    pending = dict(survivor("m1")["local"], state="pending")
    assert leaderless(pending)
    assert not leaderless(dict(pending, is_manager=False))


def test_workers_the_lost_quorum_broke_join_again_first_and_the_rest_as_workers():
    # w1's engine in error: a former manager whose Raft node dials a lost manager. It joins again, as a manager
    # while managers are wanted, else as a worker; healthy workers only while managers are still wanted.
    def broken_worker(host, state="error"):
        return {"local": dict(worker(host)["local"], state=state, error="manager stopped: can't initialize raft node")}

    broken = broken_worker("w1")
    found = {"m1": None, "m2": None, "m3": survivor("m3"), "w1": broken, "w2": worker("w2")}
    plan = recovery_plan(found, ORDER)
    nodes = [node("m3", "manager", "reachable"), node("w1"), node("w2")]
    joiners = recovery_joiners(nodes, found, plan, 3, ORDER)
    assert [(j["host"], j["was"], j["role"]) for j in joiners] == [("w1", "broken", "manager"), ("w2", "worker", "manager")]
    assert [(j["host"], j["role"]) for j in recovery_joiners(nodes, found, plan, 1, ORDER)] == [("w1", "worker")]
    pending = dict(found, w1=broken_worker("w1", "pending"), w2=broken_worker("w2"))
    assert [(j["host"], j["role"]) for j in recovery_joiners(nodes, pending, plan, 2, ORDER)] == \
        [("w1", "manager"), ("w2", "worker")]
    nodes[1]["labels"][MAINTENANCE_LABEL] = "reboot"  # marked: left alone
    assert [j["host"] for j in recovery_joiners(nodes, found, plan, 3, ORDER)] == ["w2"]

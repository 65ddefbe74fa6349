"""The reconciler's decisions, on hand-made cluster snapshots."""

import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "roles" / "reconciler" / "files"))

from swarmctl_reconciler import config as cfg  # noqa: E402
from swarmctl_reconciler.daemon import Reconciler  # noqa: E402
from swarmctl_reconciler.decide import Memory, decide, eligible, observe, skew, watching_closely  # noqa: E402

CONFIG = cfg.Config(desired_managers=3, manager_grace_seconds=10, rebalance_threshold=1,
                    rebalance_interval_seconds=0)
ONE_MANAGER = cfg.Config(desired_managers=1, rebalance_threshold=1, rebalance_interval_seconds=0)


def node(hostname, role="worker", state="ready", reach="reachable", availability="active", labels=None, leader=False):
    return {"id": f"id-{hostname}", "hostname": hostname, "role": role, "state": state, "availability": availability,
            "reachability": reach if role == "manager" else "", "labels": labels or {}, "leader": leader,
            "manager_addr": f"{hostname}:2377" if role == "manager" else ""}


def service(name="web", replicas=6, labels=None, constraints=None, update_state="", has_previous=True, mode="replicated"):
    return {"id": f"svc-{name}", "name": name, "mode": mode, "replicas": replicas, "labels": labels or {},
            "constraints": constraints or [], "update_state": update_state, "update_message": "",
            "update_started": "t0", "has_previous": has_previous, "update_order": "start-first"}


def task(node_name, service_name="web", state="running", since=0.0):
    return {"id": f"t-{node_name}-{state}-{since}", "service_id": f"svc-{service_name}", "node_id": f"id-{node_name}",
            "state": state, "desired": "running", "since": since, "message": "no suitable node"}


def ha(leader_state="ready", leader_reach="reachable"):
    return [node("base2", "manager", leader_state, leader_reach), node("base3", "manager", leader=True),
            node("base4", "manager"), node("base5"), node("base6")]


def snap(nodes, services=(), tasks=(), now=100.0):
    return {"nodes": list(nodes), "services": list(services), "tasks": list(tasks), "now": now}


def kinds(actions):
    return [(a.kind, a.target) for a in actions]


def test_healthy_cluster_needs_nothing():
    assert decide(snap(ha()), Memory(), CONFIG) == []


def test_dead_manager_is_removed_after_the_grace_period_and_a_worker_promoted_in_the_same_pass():
    memory = Memory()
    nodes = ha("down", "unreachable")
    busy = [task("base5"), task("base5")]
    assert decide(snap(nodes, tasks=busy, now=100), memory, CONFIG) == []  # grace starts
    assert decide(snap(nodes, tasks=busy, now=105), memory, CONFIG) == []  # still within the grace period
    actions = decide(snap(nodes, tasks=busy, now=111), memory, CONFIG)
    # Two managers of three left: the less loaded worker takes its place (a pass later cost seconds).
    assert kinds(actions) == [("demote", "base2"), ("remove", "base2"), ("promote", "base6")]
    assert "unreachable for 11s" in actions[0].why
    # Next pass, had the promotion failed: base2 is gone, two managers of three wanted: promoted then.
    after = [n for n in nodes if n["hostname"] != "base2"]
    assert kinds(decide(snap(after, tasks=busy, now=112), memory, CONFIG)) == [("promote", "base6")]


def probes(**by_host):
    """{manager address: probe result}: failures in a row, the first failed at down_since."""
    return {f"{host}:2377": {"failures": failures, "down_since": since if failures else None, "last": 1.0}
            for host, (failures, since) in by_host.items()}


def test_a_manager_whose_port_stopped_answering_is_removed_before_swarm_calls_it_unreachable():
    memory = Memory()
    nodes = ha()  # Swarm still calls base2 reachable: no new heartbeat timeout yet
    seen = snap(nodes, now=104)
    seen["probes"] = probes(base2=(4, 100.0), base4=(0, 0))
    assert decide(seen, memory, CONFIG) == []  # its grace started at the first failed probe, 100
    seen = snap(nodes, now=111)
    seen["probes"] = probes(base2=(11, 100.0), base4=(0, 0))
    actions = decide(seen, memory, CONFIG)
    assert kinds(actions) == [("demote", "base2"), ("remove", "base2"), ("promote", "base5")]
    assert "unreachable for 11s" in actions[0].why


def test_one_missed_probe_is_never_enough():
    memory = Memory()
    for now in (100, 110, 120, 130):  # a probe missed now and then, never probe_failures in a row
        seen = snap(ha(), now=now)
        seen["probes"] = probes(base2=(CONFIG.probe_failures - 1, now - 1.0))
        assert decide(seen, memory, CONFIG) == []
    assert memory.unreachable_since == {}


def test_probes_count_for_nothing_when_turned_off_and_never_make_a_manager_reachable():
    off = cfg.Config(desired_managers=3, manager_grace_seconds=10, probe_failures=0)
    seen = snap(ha(), now=200)
    seen["probes"] = probes(base2=(50, 100.0))
    assert decide(seen, Memory(), off) == []
    # Swarm calls base2 unreachable and its port answers (an engine up with a broken swarm): Swarm's word stands.
    memory = Memory()
    seen = snap(ha("down", "unreachable"), now=100)
    seen["probes"] = probes(base2=(0, 0))
    decide(seen, memory, CONFIG)
    seen = snap(ha("down", "unreachable"), now=111)
    seen["probes"] = probes(base2=(0, 0))
    assert kinds(decide(seen, memory, CONFIG)) == [("demote", "base2"), ("remove", "base2"), ("promote", "base5")]


def test_a_standing_by_manager_times_a_dead_leader_from_its_probes_and_acts_once_it_leads():
    memory = Memory()
    # base2 led and its host stopped; base3 stands by while the election runs, probing base2 all along.
    before = snap(ha(), now=103)
    before["probes"] = probes(base2=(3, 100.0))
    observe(before, memory, CONFIG)
    assert memory.unreachable_since == {"id-base2": 100.0}
    # Elected at 111: base2 has been down for 11 s by its probes, past the 10 s grace; no second wait.
    after = snap(ha(), now=111)
    after["probes"] = probes(base2=(11, 100.0))
    assert kinds(decide(after, memory, CONFIG)) == [("demote", "base2"), ("remove", "base2"), ("promote", "base5")]


def test_the_prober_counts_failures_in_a_row_from_the_first():
    from swarmctl_reconciler.probe import Prober, split_addr

    clock = iter([10.0, 11.0, 12.0, 13.0, 14.0]).__next__
    prober = Prober(interval=1, timeout=1, clock=clock)
    prober.results["10.0.0.2:2377"] = {"failures": 0, "down_since": None, "last": None}
    for answered in (False, False, True, False, False):
        prober.record("10.0.0.2:2377", answered)
    assert prober.view() == {"10.0.0.2:2377": {"failures": 2, "down_since": 13.0, "last": 14.0}}
    assert split_addr("[fd00::2]:2377") == ("fd00::2", 2377) and split_addr("10.0.0.2:2377") == ("10.0.0.2", 2377)

    def refused(address, timeout):
        raise ConnectionRefusedError(address)

    assert Prober(1, 1, connect=refused).probe("10.0.0.2:2377") is False


def test_the_prober_dials_a_real_listener_and_notices_when_it_goes():
    import socket
    import time

    from swarmctl_reconciler.probe import Prober

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    addr = f"127.0.0.1:{listener.getsockname()[1]}"
    prober = Prober(interval=0.05, timeout=0.5)
    prober.watch([addr])
    try:
        deadline = time.monotonic() + 5
        while not prober.view()[addr]["last"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prober.view()[addr]["failures"] == 0
        listener.close()
        while prober.view()[addr]["failures"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prober.view()[addr]["failures"] >= 3
    finally:
        prober.watch([])
        listener.close()
    assert prober.view() == {}


def test_a_manager_given_back_at_once_is_probed_on():
    import time

    from swarmctl_reconciler.probe import Prober

    looks = []
    prober = Prober(interval=0.02, timeout=0.1, connect=lambda address, timeout: looks.append(address) or _Closable())
    addr = "10.0.0.2:2377"
    try:
        prober.watch([addr])
        prober.watch([])  # removed (demoted) and given back (promoted) before its thread looked again
        prober.watch([addr])
        deadline = time.monotonic() + 5
        while not prober.view()[addr]["last"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert prober.view()[addr]["last"], "the address given back is probed again"
        assert len(prober.threads) == 1
    finally:
        prober.watch([])


class _Closable:
    def close(self):
        pass


def test_probe_settings_are_checked():
    with pytest.raises(cfg.ConfigError, match="probe_failures must be 0 \\(off\\) or an integer of at least 2"):
        cfg.parse({"probe_failures": 1})
    assert cfg.parse({"probe_failures": 0}).probe_failures == 0


def test_a_manager_marked_for_maintenance_keeps_its_place_however_long_it_is_away():
    memory = Memory()
    nodes = ha("down", "unreachable")
    nodes[0]["labels"] = {"io.swarmctl.maintenance": "kernel upgrade, ops, 2026-12-02T04:00"}
    first = decide(snap(nodes, now=100), memory, CONFIG)
    assert kinds(first) == [("report", "base2")] and "marked for maintenance (kernel upgrade" in first[0].why
    assert decide(snap(nodes, now=10_000), memory, CONFIG) == []  # said once; never removed
    assert memory.unreachable_since == {}
    # The mark taken off while it is still away: the grace period starts then, not before.
    nodes[0]["labels"] = {}
    assert decide(snap(nodes, now=10_001), memory, CONFIG) == []
    assert kinds(decide(snap(nodes, now=10_012), memory, CONFIG)) == [("demote", "base2"), ("remove", "base2"), ("promote", "base5")]


def test_a_worker_marked_for_maintenance_is_never_promoted():
    memory = Memory()
    nodes = [node("base3", "manager", leader=True), node("base4", "manager"),
             node("base5", labels={"io.swarmctl.maintenance": "disk swap"}), node("base6")]
    assert kinds(decide(snap(nodes, tasks=[task("base6")] * 3), memory, CONFIG)) == [("promote", "base6")]


def test_a_short_outage_causes_no_churn():
    memory = Memory()
    decide(snap(ha("down", "unreachable"), now=100), memory, CONFIG)
    assert decide(snap(ha(), now=105), memory, CONFIG) == []
    assert decide(snap(ha("down", "unreachable"), now=112), memory, CONFIG) == []  # the clock started again


def test_nothing_is_done_while_quorum_is_lost_and_it_is_said_once():
    memory = Memory()
    nodes = [node("base2", "manager", "down", "unreachable"), node("base3", "manager", "down", "unreachable"),
             node("base4", "manager", leader=True), node("base5")]
    first = decide(snap(nodes, now=1000), memory, CONFIG)
    assert kinds(first) == [("report", "quorum")] and "swarmctl recover --yes" in first[0].why
    assert decide(snap(nodes, now=2000), memory, CONFIG) == []


def test_workers_that_joined_through_a_lost_manager_are_not_promoted():
    memory = Memory(lost_manager_addrs={"base2:2377"})
    nodes = [node("base3", "manager", leader=True), node("base4", "manager"),
             dict(node("base5"), join_addr="base2:2377"), dict(node("base6"), join_addr="base3:2377"),
             node("base7", availability="drain")]
    assert kinds(decide(snap(nodes), memory, CONFIG)) == [("promote", "base6")]
    nodes[3]["state"] = "down"
    actions = decide(snap(nodes), memory, CONFIG)
    assert kinds(actions) == [("report", "quorum")] and "no ready, active worker" in actions[0].why


def test_a_manager_is_not_removed_when_that_would_lose_quorum():
    nodes = [node("base2", "manager", "down", "unreachable"), node("base3", "manager", leader=True),
             node("base4", "manager", "down", "unreachable"), node("base5", "manager"), node("base6", "manager")]
    memory = Memory(unreachable_since={"id-base2": 0, "id-base4": 0})
    actions = decide(snap(nodes, now=100), memory, CONFIG)
    # Five managers, two down: removing one leaves 3 reachable of 4 - safe, one at a time; nothing is promoted
    # while another manager is still unreachable.
    assert kinds(actions) == [("demote", "base2"), ("remove", "base2")]


def test_rebalance_after_a_node_returns_one_service_at_a_time():
    memory = Memory()
    nodes = [node("base2", "manager", leader=True), node("base3"), node("base4", state="down")]
    skewed = [task("base2")] * 3 + [task("base3")] * 3
    assert decide(snap(nodes, [service()], skewed), memory, ONE_MANAGER) == []  # first look: nothing came back yet
    nodes[2]["state"] = "ready"
    actions = decide(snap(nodes, [service(), service("api", replicas=2)], skewed, now=200), memory, ONE_MANAGER)
    assert kinds(actions) == [("rebalance", "web")]
    assert actions[0].before == {"tasks_per_node": {"base2": 3, "base3": 3, "base4": 0}}
    # While web's forced update runs, nothing else is rebalanced; when it is done, its order comes back.
    updating = dict(service(update_state="updating"), update_order="start-first")
    assert decide(snap(nodes, [updating], skewed, now=201), memory, ONE_MANAGER) == []
    done = dict(service(update_state="completed"), update_order="stop-first")
    restore = decide(snap(nodes, [done], skewed, now=202), memory, ONE_MANAGER)
    assert kinds(restore) == [("restore", "web")] and restore[0].after == {"update_order": "start-first"}


def test_no_rebalance_while_a_new_leader_has_not_heard_from_every_node():
    """After a failover the new leader sees its workers "unknown" until each registers again: a manager coming
    back then is no reason to rebalance on a spread that is not the swarm's. Once every node is known, it is."""
    memory = Memory()
    nodes = [node("base2", "manager", leader=True), node("base3", "manager", state="down"), node("base4", state="unknown")]
    skewed = [task("base2")] * 6
    assert decide(snap(nodes, [service()], skewed), memory, ONE_MANAGER) == []
    nodes[1]["state"] = "ready"
    assert decide(snap(nodes, [service()], skewed, now=200), memory, ONE_MANAGER) == []
    nodes[2]["state"] = "ready"
    assert kinds(decide(snap(nodes, [service()], skewed, now=300), memory, ONE_MANAGER)) == [("rebalance", "web")]


def test_a_rebalance_another_reconciler_began_gets_its_order_back_once_over():
    """The leader's reconciler began a rebalance and its host died: the new leader's reconciler has no memory of
    it, only the label with the service's own order. Nothing while the forced update runs; then the order back."""
    memory = Memory(ready_nodes=set())
    nodes = [node("base2", "manager", leader=True), node("base3"), node("base4")]
    balanced = [task("base2"), task("base2"), task("base3"), task("base3"), task("base4"), task("base4")]
    labelled = {"io.swarmctl.rebalancing": "start-first"}
    running = dict(service(labels=labelled, update_state="updating"), update_order="start-first")
    assert decide(snap(nodes, [running], balanced), memory, ONE_MANAGER) == []
    over = dict(service(labels=labelled, update_state="completed"), update_order="start-first")
    restore = decide(snap(nodes, [over], balanced, now=10), memory, ONE_MANAGER)
    assert kinds(restore) == [("restore", "web")] and restore[0].after == {"update_order": "start-first"}
    assert decide(snap(nodes, [service(update_state="completed")], balanced, now=11), memory, ONE_MANAGER) == []


def test_balanced_opted_out_global_and_constrained_services_are_left_alone():
    memory = Memory(ready_nodes=set())
    nodes = [node("base2", "manager"), node("base3"), node("base4")]
    balanced = [task("base2"), task("base2"), task("base3"), task("base3"), task("base4"), task("base4")]
    services = [service(), service("opted", labels={"io.swarmctl.rebalance": "false"}),
                service("glob", mode="global")]
    tasks = balanced + [task("base2", "opted")] * 4
    assert decide(snap(nodes, services, tasks), memory, ONE_MANAGER) == []
    assert eligible(nodes[0], ["node.role==worker"]) is False
    assert eligible(nodes[1], ["node.role==worker", "node.labels.zone!=b"]) is True
    assert eligible(nodes[1], ["engine.labels.x==y"]) is None
    spread, counts = skew(service(constraints=["node.role==worker"]), nodes, [task("base3")] * 2)
    assert counts == {"base3": 2, "base4": 0} and spread == 2


def test_paused_update_is_reported_or_rolled_back_by_policy():
    memory = Memory()
    paused = service(update_state="paused")
    assert kinds(decide(snap(ha(), [paused]), memory, CONFIG)) == [("report", "web")]
    assert decide(snap(ha(), [paused]), memory, CONFIG) == []  # said once
    policy = service(update_state="paused", labels={"io.swarmctl.stuck-policy": "rollback"})
    assert kinds(decide(snap(ha(), [policy]), Memory(), CONFIG)) == [("rollback", "web")]


def test_tasks_pending_past_the_limit_are_reported():
    memory = Memory()
    pending = [task("base5", state="pending", since=0.0)]
    actions = decide(snap(ha(), [service()], pending, now=500.0), memory, CONFIG)
    assert kinds(actions) == [("report", "web")] and "pending for up to 500s" in actions[0].why


def test_standby_keeps_the_grace_clock():
    memory = Memory()
    observe(snap(ha("down", "unreachable"), now=100), memory)
    assert kinds(decide(snap(ha("down", "unreachable"), now=111), memory, CONFIG))[:1] == [("demote", "base2")]


def test_config_is_checked_with_clear_messages(tmp_path):
    assert cfg.parse({"desired_managers": 3, "dry_run": True}).dry_run is True
    with pytest.raises(cfg.ConfigError, match="unknown setting"):
        cfg.parse({"desired_manager": 3})
    with pytest.raises(cfg.ConfigError, match="desired_managers must be an integer of at least 1"):
        cfg.parse({"desired_managers": 0})
    with pytest.raises(cfg.ConfigError, match="dry_run must be true or false"):
        cfg.parse({"dry_run": "yes"})
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    with pytest.raises(cfg.ConfigError, match="not valid JSON"):
        cfg.load(str(bad))


class FakeEngine:
    def __init__(self, snapshots, leader=True):
        self.snapshots = list(snapshots)
        self.leader = leader
        self.calls = []

    def whoami(self):
        return "id-base3", self.leader, "base3"

    def snapshot(self):
        return self.snapshots.pop(0)

    def demote(self, node_id):
        self.calls.append(("demote", node_id))

    def remove(self, node_id):
        self.calls.append(("remove", node_id))

    def promote(self, node_id, timeout):
        self.calls.append(("promote", node_id))
        return True


def test_dry_run_logs_what_it_would_do_and_changes_nothing():
    out = io.StringIO()
    engine = FakeEngine([snap(ha("down", "unreachable"), now=100), snap(ha("down", "unreachable"), now=111)])
    reconciler = Reconciler(cfg.Config(manager_grace_seconds=10, dry_run=True), engine, out)
    reconciler.cycle()
    reconciler.cycle()
    assert engine.calls == []
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    acted = [line for line in lines if line.get("event") == "action"]
    assert [(a["action"], a["result"]) for a in acted] == [("demote", "would do"), ("remove", "would do"),
                                                                ("promote", "would do")]
    assert all({"target", "why", "before", "after"} <= set(a) for a in acted)
    assert reconciler.status()["actions"][0]["action"] == "demote"


def test_after_a_dead_leader_workers_the_new_leader_has_not_heard_from_yet_are_waited_for_not_reported():
    """A new leader's dispatcher knows no worker at first (state unknown until each registers again): the dead
    manager goes at once, its replacement once a worker is ready, and nothing says no worker can be promoted."""
    memory = Memory(unreachable_since={"id-base2": 90.0})
    nodes = ha("down", "unreachable")
    nodes[3]["state"] = nodes[4]["state"] = "unknown"
    assert kinds(decide(snap(nodes, now=101), memory, CONFIG)) == [("demote", "base2"), ("remove", "base2")]
    after = [n for n in nodes if n["hostname"] != "base2"]
    assert decide(snap(after, now=102), memory, CONFIG) == []
    after[2] = dict(after[2], state="ready")
    assert kinds(decide(snap(after, now=104), memory, CONFIG)) == [("promote", "base5")]


def test_a_failed_step_of_a_membership_change_stops_the_rest_until_the_next_pass():
    class DemoteRefused(FakeEngine):
        def demote(self, node_id):
            raise RuntimeError("rpc error: update out of sequence")

    out = io.StringIO()
    engine = DemoteRefused([snap(ha("down", "unreachable"), now=100), snap(ha("down", "unreachable"), now=111)])
    reconciler = Reconciler(cfg.Config(manager_grace_seconds=10), engine, out)
    reconciler.cycle()
    reconciler.cycle()
    assert engine.calls == []  # neither removed nor replaced by a promotion
    acted = [json.loads(line) for line in out.getvalue().splitlines() if '"action"' in line]
    assert [(a["action"], a["result"].split(":")[0]) for a in acted] == [
        ("demote", "failed"), ("remove", "skipped"), ("promote", "skipped")]


def test_only_the_leader_acts():
    engine = FakeEngine([snap(ha("down", "unreachable"), now=100), snap(ha("down", "unreachable"), now=111)],
                        leader=False)
    reconciler = Reconciler(cfg.Config(manager_grace_seconds=10), engine, io.StringIO())
    assert reconciler.cycle() == [] and reconciler.cycle() == []
    assert engine.calls == []


def test_a_manager_seen_down_counts_its_outage_from_the_status_change():
    nodes = ha("down", "unreachable")
    nodes[0]["updated_ts"] = 80.0
    actions = decide(snap(nodes, now=95.0), Memory(), CONFIG)
    assert kinds(actions) == [("demote", "base2"), ("remove", "base2"), ("promote", "base5")] and "for 15s" in actions[0].why
    # Unreachable but not (yet) down: the clock starts with this look.
    nodes[0]["state"] = "unknown"
    assert decide(snap(nodes, now=95.0), Memory(), CONFIG) == []


class _RecordingAPI:
    def __init__(self, spec):
        self.spec = spec
        self.updates = []

    def inspect_service(self, service_id):
        return {"ID": service_id, "Version": {"Index": 7}, "Spec": self.spec}

    def update_service(self, service_id, version, **kwargs):
        self.updates.append(kwargs)


@pytest.mark.parametrize("spec_extra, sent", [
    ({}, {"rollback_config": None, "endpoint_spec": None}),
    ({"RollbackConfig": {"Parallelism": 2}, "EndpointSpec": {"Mode": "dnsrr"}},
     {"rollback_config": {"Parallelism": 2}, "endpoint_spec": {"Mode": "dnsrr"}}),
])
def test_a_rebalance_sends_only_the_parts_the_service_has(spec_extra, sent):
    from swarmctl_reconciler.engine import Engine

    spec = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "web:v1"}}, "Mode": {"Replicated": {"Replicas": 2}},
            "UpdateConfig": {"Parallelism": 1, "Order": "start-first"}, **spec_extra}
    engine = Engine.__new__(Engine)
    engine.api = _RecordingAPI(spec)
    engine.rebalance("svc1")
    update = engine.api.updates[0]
    assert {key: update[key] for key in sent} == sent
    assert update["update_config"] == {"Parallelism": 1, "Order": "stop-first"}
    assert update["task_template"]["ForceUpdate"] == 1


def test_on_a_node_that_is_no_manager_it_reads_nothing_and_does_nothing():
    class NotAManager(FakeEngine):
        def whoami(self):
            return "id-base5", False, None

    engine = NotAManager([])  # no snapshot to take: asking for one would fail
    reconciler = Reconciler(cfg.Config(), engine, io.StringIO())
    assert reconciler.cycle() == [] and engine.calls == []
    assert reconciler.status()["last_error"] == "" and not reconciler.status()["leader"]


def test_the_next_pass_comes_at_once_while_a_manager_is_timed_a_probe_fails_or_membership_changed():
    calm = Memory()
    assert not watching_closely(calm, {"172.25.91.13:2377": {"failures": 0}}, acted=False)
    assert watching_closely(calm, {"172.25.91.13:2377": {"failures": 1}}, acted=False)
    assert watching_closely(calm, {}, acted=True)
    timed = Memory(unreachable_since={"node-a": 100.0})
    assert watching_closely(timed, None, acted=False)


def test_no_rebalance_while_swarmctl_restarts_engines_node_by_node():
    """An engine restart drains base3, gives it back, then drains base4 (each marked with the drain label while it
    is away). base3 coming back must not start a rebalance: its stop-first forced update on top of base4's drain
    could stop every task at once. The label may have been seen last a resync before it went, and the next node is
    drained a few seconds after: only once no node carried it for the settle time is the spread evened out."""
    config = cfg.Config(desired_managers=1, rebalance_threshold=1, rebalance_interval_seconds=5,
                        rolling_settle_seconds=20)
    memory = Memory()
    drained = {"io.swarmctl.drained": "active"}
    nodes = [node("base2", "manager", leader=True), node("base3", availability="drain", labels=drained),
             node("base4")]
    skewed = [task("base2")] * 2 + [task("base4")] * 2
    assert decide(snap(nodes, [service(replicas=4)], skewed, now=100), memory, config) == []
    # base3 back and active, base4 not drained yet (the moment between two nodes), past the rebalance interval.
    nodes[1] = node("base3")
    assert decide(snap(nodes, [service(replicas=4)], skewed, now=107), memory, config) == []
    # base4 drained next: swarmctl is still at work.
    nodes[2] = node("base4", availability="drain", labels=drained)
    assert decide(snap(nodes, [service(replicas=4)], skewed, now=110), memory, config) == []
    # base4 given back: the interval has passed but not the settle time.
    nodes[2] = node("base4")
    assert decide(snap(nodes, [service(replicas=4)], skewed, now=125), memory, config) == []
    # The run is over: the spread it left is evened out.
    actions = decide(snap(nodes, [service(replicas=4)], skewed, now=131), memory, config)
    assert kinds(actions) == [("rebalance", "web")]

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import DEFAULT_MONITOR_S, RolloutWatch, convergence, monitor_seconds

REPLICATED_6 = {"Replicated": {"Replicas": 6}}


def task(state="running", desired="running"):
    return {"DesiredState": desired, "Status": {"State": state}}


def test_monitor_window_comes_from_the_config_or_the_engine_default():
    assert monitor_seconds({"Monitor": 2_500_000_000}) == 2.5
    assert monitor_seconds({"Parallelism": 2}) == DEFAULT_MONITOR_S
    assert monitor_seconds(None) == DEFAULT_MONITOR_S


def test_converged_once_every_new_task_ran_through_the_monitor_window():
    watch = RolloutWatch(update_monitor_s=5, rollback_monitor_s=2)
    assert watch.verdict(None, 0, 6, now=0) is None  # the engine has not started the rollout yet
    assert watch.verdict("updating", 4, 6, now=1) is None
    assert watch.verdict("updating", 6, 6, now=10) is None  # all six run: the window starts
    assert watch.verdict("updating", 6, 6, now=14.9) is None
    assert watch.verdict("updating", 6, 6, now=15) == "converged"


def test_a_task_failing_inside_the_window_starts_it_again():
    watch = RolloutWatch(update_monitor_s=5, rollback_monitor_s=2)
    assert watch.verdict("updating", 6, 6, now=10) is None
    assert watch.verdict("updating", 5, 6, now=12) is None  # one failed: not converged any more
    assert watch.verdict("updating", 6, 6, now=13) is None
    assert watch.verdict("updating", 6, 6, now=17) is None
    assert watch.verdict("updating", 6, 6, now=18) == "converged"


def test_the_engines_end_states_decide_at_once():
    assert RolloutWatch(5, 2).verdict("completed", 6, 6, now=0) == "converged"
    assert RolloutWatch(5, 2).verdict("completed", 5, 6, now=0) is None  # completed, a task still on its way
    assert RolloutWatch(5, 2).verdict("paused", 2, 6, now=0) == "paused"
    assert RolloutWatch(5, 2).verdict("rollback_paused", 2, 6, now=0) == "paused"
    assert RolloutWatch(5, 2).verdict("rollback_completed", 6, 6, now=0) == "rolled_back"


def test_a_rollback_is_followed_with_the_rollback_window():
    watch = RolloutWatch(update_monitor_s=5, rollback_monitor_s=2)
    assert watch.verdict("updating", 2, 6, now=0) is None
    assert watch.verdict("rollback_started", 6, 6, now=3) is None
    assert watch.verdict("rollback_started", 6, 6, now=5) == "rolled_back"


def test_convergence_counts_tasks_running_that_should_run():
    tasks = [task(), task(), task("starting"), task("running", desired="shutdown")]
    assert convergence(tasks, REPLICATED_6, eligible_nodes=3) == (2, 6)
    assert convergence(tasks, {"Global": {}}, eligible_nodes=3) == (2, 3)


def test_an_image_lookup_failure_says_whether_the_registry_answered():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import image_lookup_problem

    down = image_lookup_problem("westos.org/web:v2", "westos.org",
                                "Get https://westos.org/v2/: dial tcp 172.25.90.78:443: connect: connection refused")
    assert "the registry westos.org did not answer" in down and "may well be there" in down
    missing = image_lookup_problem("westos.org/web:v9", "westos.org", "manifest unknown")
    assert "cannot find image westos.org/web:v9 in its registry westos.org" in missing and "Push it" in missing
    local = image_lookup_problem("web:v1", "https://index.docker.io/v1/", "dial tcp: lookup registry-1.docker.io: "
                                 "no such host")
    assert "resolve_image: false" in local and "names no registry" in local


def test_a_service_the_reconciler_is_rebalancing_reads_as_declared():
    """The reconciler runs a rebalance stop-first and keeps the service's order in a label: a run of swarmctl
    meanwhile sees no difference (it would interrupt the rebalance and report a change)."""
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import as_declared, spec_differences
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import REBALANCING_LABEL

    declared = {"Name": "web", "Labels": {"tier": "front"}, "UpdateConfig": {"Parallelism": 2, "Order": "start-first"}}
    live = {"Name": "web", "Labels": {"tier": "front", REBALANCING_LABEL: "start-first"},
            "UpdateConfig": {"Parallelism": 2, "Order": "stop-first"}}
    assert "UpdateConfig.Order" in spec_differences(declared, live)
    assert spec_differences(declared, as_declared(live, REBALANCING_LABEL)) == []
    assert as_declared(declared, REBALANCING_LABEL) is declared


class FakeEngine:
    """Services whose UpdateStatus turns to an end state after a number of looks; counts the node list reads."""

    def __init__(self, ends):
        self.ends = ends  # name -> (looks before the end, end state)
        self.looks = {name: 0 for name in ends}
        self.node_reads = 0

    def nodes(self):
        self.node_reads += 1
        return [{"ID": f"n{i}", "Status": {"State": "ready"}, "Spec": {"Availability": "active"},
                 "Description": {"Hostname": f"base{i}"}} for i in (2, 3, 4)]

    def inspect_service(self, name):
        self.looks[name] += 1
        after, end = self.ends[name]
        state = end if self.looks[name] > after else "updating"
        return {"Spec": {"Name": name, "Mode": REPLICATED_6},
                "UpdateStatus": {"State": state, "StartedAt": "2026-12-03T01:00:01Z", "Message": f"{name} {state}"}}

    def tasks(self, filters):
        return [{"DesiredState": "running", "Status": {"State": "running"}, "CreatedAt": "2026-12-03T01:00:02Z",
                 "UpdatedAt": "2026-12-03T01:00:02Z", "NodeID": "n2"} for _ in range(6)]


def test_rollouts_are_followed_together_each_to_its_own_end():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (RolloutFollower,
                                                                                          follow_rollouts,
                                                                                          parse_time)

    engine = FakeEngine({"web": (1, "completed"), "api": (3, "rollback_completed"), "db": (2, "paused")})
    since = parse_time("2026-12-03T01:00:00Z")
    followers = [RolloutFollower(engine, name, since, REPLICATED_6, False, 60) for name in ("web", "api", "db")]
    follow_rollouts(engine, followers, interval=0)
    assert [f.outcome[0] for f in followers] == ["converged", "rolled_back", "paused"]
    # One node list a round for every service followed, and no look at a service once it has its end.
    assert engine.node_reads == 4 and engine.looks == {"web": 2, "api": 4, "db": 3}
    assert all(f.seconds is not None for f in followers)


def test_a_rollout_that_did_not_converge_is_told_with_what_runs_now():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import rollout_failure

    told = rollout_failure("api", "reg:5000/api:v3", "updating", "rolled_back", "reg:5000/api:v2@sha256:ab",
                           ["api.1 on base3: failed: exit 1"], "rollback completed", "6/6", 300)
    assert told.startswith("updating api to reg:5000/api:v3: the rollout rolled back; the service runs "
                           "reg:5000/api:v2 again.")
    assert "1 task failure(s): api.1 on base3" in told and "(6/6 tasks running)" in told
    assert "did not finish within 300s" in rollout_failure("api", "", "creating", "timeout", "", [], "", "0/6", 300)


class StoppingEngine(FakeEngine):
    """One rollout that completed while two old tasks still finish their stop grace period for a few looks."""

    def __init__(self, looks_stopping, node_state="ready"):
        super().__init__({"web": (0, "completed")})
        self.looks_stopping, self.node_state = looks_stopping, node_state

    def nodes(self):
        nodes = super().nodes()
        nodes[1]["Status"]["State"] = self.node_state
        return nodes

    def tasks(self, filters):
        old_state = "running" if self.looks["web"] <= self.looks_stopping else "shutdown"
        old = [{"DesiredState": "shutdown", "Status": {"State": old_state}, "CreatedAt": "2026-12-03T00:00:00Z",
                "UpdatedAt": "2026-12-03T01:00:03Z", "NodeID": "n3"} for _ in range(2)]
        return super().tasks(filters) + old


def test_a_rollout_is_done_once_the_old_tasks_have_stopped():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (RolloutFollower,
                                                                                          follow_rollouts,
                                                                                          parse_time)

    since = parse_time("2026-12-03T01:00:00Z")
    engine = StoppingEngine(looks_stopping=3)
    follower = RolloutFollower(engine, "web", since, REPLICATED_6, True, 60)
    follow_rollouts(engine, [follower], interval=0)
    assert follower.outcome[0] == "converged" and engine.looks["web"] == 4
    # Old tasks on a node that is down cannot be stopped by it: they hold nothing up.
    engine = StoppingEngine(looks_stopping=100, node_state="down")
    follower = RolloutFollower(engine, "web", since, REPLICATED_6, True, 60)
    follow_rollouts(engine, [follower], interval=0)
    assert follower.outcome[0] == "converged" and engine.looks["web"] == 1
    # Nor past the rollout's timeout: it has converged, and says so.
    engine = StoppingEngine(looks_stopping=100)
    follower = RolloutFollower(engine, "web", since, REPLICATED_6, True, 0)
    follow_rollouts(engine, [follower], interval=0)
    assert follower.outcome[0] == "converged"


class PinnedEngine:
    """A service of 6 whose update the engine cannot finish: 4 new tasks run, 2 wait with no node to take them
    (pinned to base4); base4 is down, or (away=False) every node is there."""

    def __init__(self, away=True):
        self.away = away

    def nodes(self):
        return [{"ID": f"n{i}", "Status": {"State": "down" if self.away and i == 4 else "ready"},
                 "Spec": {"Availability": "active"}, "Description": {"Hostname": f"base{i}"}} for i in (2, 3, 4)]

    def inspect_service(self, name):
        return {"Spec": {"Name": name, "Mode": REPLICATED_6, "UpdateConfig": {"Monitor": 1_000_000}},
                "UpdateStatus": {"State": "updating", "StartedAt": "2026-12-03T01:00:01Z", "Message": "update in progress"}}

    def tasks(self, filters):
        new = {"CreatedAt": "2026-12-03T01:00:02Z", "UpdatedAt": "2026-12-03T01:00:02Z",
               "Spec": {"ContainerSpec": {"Image": "reg/app:v2@sha256:ab"}}}
        running = [dict(new, DesiredState="running", Status={"State": "running"}, NodeID="n2") for _ in range(4)]
        pending = [dict(new, DesiredState="running", Status={"State": "pending", "Err": "no suitable node "
                                                              "(scheduling constraints not satisfied on 3 nodes)"})
                   for _ in range(2)]
        return running + pending


def test_tasks_no_node_can_take_while_a_node_is_away_are_not_waited_for():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (RolloutFollower,
                                                                                          follow_rollouts,
                                                                                          parse_time)

    since = parse_time("2026-12-03T01:00:00Z")
    follower = RolloutFollower(PinnedEngine(), "pin", since, REPLICATED_6, True, 60)
    follow_rollouts(PinnedEngine(), [follower], interval=0.01)
    rollout, running, failures, dummy = follower.outcome
    assert (rollout, running, failures) == ("converged", "4/6", [])
    assert follower.unplaced == ["2 task(s) of pin (reg/app:v2) wait for a node: no suitable node (scheduling "
                                 "constraints not satisfied on 3 nodes); away now: base4 (down)"]
    # With every node there, no node may take them for a while only (resources): waited for, up to the timeout.
    follower = RolloutFollower(PinnedEngine(away=False), "pin", since, REPLICATED_6, True, 0.1)
    follow_rollouts(PinnedEngine(away=False), [follower], interval=0.01)
    rollout, running, failures, dummy = follower.outcome
    assert rollout == "timeout" and running == "4/6" and follower.unplaced == []
    assert failures == ["reg/app:v2 on no node: pending: no suitable node (scheduling constraints not satisfied on 3 nodes)"]


def test_nodes_away_names_the_nodes_that_take_no_task():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import nodes_away

    nodes = [{"ID": "a", "Status": {"State": "ready"}, "Spec": {"Availability": "active"}, "Description": {"Hostname": "b2"}},
             {"ID": "b", "Status": {"State": "down"}, "Spec": {"Availability": "active"}, "Description": {"Hostname": "b3"}},
             {"ID": "c", "Status": {"State": "ready"}, "Spec": {"Availability": "drain"}, "Description": {"Hostname": "b4"}}]
    assert nodes_away(nodes) == ["b3 (down)", "b4 (drain)"]


class RollbackEngine(FakeEngine):
    """One service with a previous spec; its rollback completes at once."""

    def __init__(self):
        super().__init__({"web": (0, "rollback_completed")})
        self.updates = []

    def info(self):
        return {"SystemTime": "2026-12-03T01:00:00Z"}

    def inspect_service(self, name):
        svc = super().inspect_service(name)
        image = {"TaskTemplate": {"ContainerSpec": {"Image": "reg/web:v1"}}}
        return dict(svc, ID="s1", Version={"Index": 7}, PreviousSpec=image)

    def update_service(self, service_id, version, spec, rollback=False, auth=None):
        self.updates.append((service_id, version, rollback))


class FakeModule:
    check_mode = False

    def __init__(self, **params):
        from ansible_collections.swarmctl.swarm.plugins.modules.swarmctl_service import ARGUMENT_SPEC

        self.params = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
        self.params.update(params)
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, msg, **result):
        raise AssertionError(msg)


def test_a_rollback_followed_in_the_same_step_reports_how_it_ended():
    from ansible_collections.swarmctl.swarm.plugins.modules import swarmctl_service

    module, engine = FakeModule(name="web", rollback=True, wait=True, wait_timeout=5), RollbackEngine()
    result = swarmctl_service.run(module, engine, swarmctl_service.Service(module, engine))
    assert engine.updates == [("s1", 7, True)]
    assert result["rollout"] == "rolled_back" and result["running"] == "6/6" and not result.get("failed"), result

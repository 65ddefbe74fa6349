"""What the reconciler should do about a snapshot of the cluster: pure functions, no engine access.

The rules, each a thing Swarm does not do by itself:
- quorum: a manager unreachable for longer than the grace period is demoted and removed, when that is safe,
  and a healthy worker promoted in its place (in the same pass) until the swarm has its desired number of
  managers. Nothing is done while quorum is lost (no leader could act anyway): that is reported, with what an
  operator must do.
- rebalance: after a node returns or joins, a replicated service whose tasks are skewed beyond the threshold
  over the nodes that may run it is redistributed by a forced rolling update (its own update config), one
  service at a time, rate-limited; services labelled out are never touched, and nothing is rebalanced while
  swarmctl drains nodes one by one for engine restarts or upgrades (nor for a settle time after).
- stuck work: a paused update, or tasks pending past a limit, is reported, and rolled back where the
  service's policy label says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The same rules the toolkit's modules apply (plugins/module_utils/swarmctl_swarm.py, shipped alongside).
from .swarm_rules import (DRAINED_LABEL, MAINTENANCE_LABEL, REBALANCING_LABEL, demotion_problem, has_quorum,
                          in_maintenance)
UPDATING = {"updating", "rollback_started"}
# The actions that change the swarm's membership.
MEMBERSHIP = ("demote", "remove", "promote")


@dataclass
class Action:
    kind: str  # demote, remove, promote, rebalance, rollback, report
    target: str  # node hostname or service name
    why: str
    target_id: str = ""
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"action": self.kind, "target": self.target, "why": self.why, "before": self.before,
                "after": self.after}


@dataclass
class Memory:
    """What the reconciler remembers between snapshots."""

    unreachable_since: dict = field(default_factory=dict)  # manager node id -> time first seen unreachable
    lost_manager_addrs: set = field(default_factory=set)  # addresses of managers removed as dead
    ready_nodes: set | None = None  # node ids ready and active at the last snapshot (None: no snapshot yet)
    rebalance_pending: set = field(default_factory=set)  # service ids to check after a node came (back)
    last_rebalance_at: float = -1e18
    rebalancing: str = ""  # service id whose forced update is running
    rebalance_order: str = ""  # that service's own update order, put back when the rebalance is done
    rolling_seen_at: float = -1e18  # when a node last carried swarmctl's drain label (a restart or upgrade running)
    reported: set = field(default_factory=set)  # report keys already said
    rolled_back: set = field(default_factory=set)  # (service id, update started) already rolled back


def with_probes(nodes: list[dict], probes: dict, failures: int) -> list[dict]:
    """The nodes, with every manager this reconciler's probes found down (`failures` failed probes in a row,
    see probe.py) counted as unreachable since the first failed probe, though Swarm may still call it reachable.
    Probes only ever add unreachability: a manager Swarm calls unreachable stays so, whatever its port says."""
    seen = []
    for node in nodes:
        probe = probes.get(node.get("manager_addr") or "") if node["role"] == "manager" else None
        if probe and failures and probe["failures"] >= failures and probe.get("down_since") is not None:
            node = dict(node, reachability="unreachable", probe_down_since=probe["down_since"])
        seen.append(node)
    return seen


def observe(snapshot: dict, memory: Memory, config=None) -> None:
    """What a standing-by manager keeps track of, so it can act at once when it becomes the leader."""
    failures = config.probe_failures if config is not None else 0
    for node in with_probes(snapshot["nodes"], snapshot.get("probes") or {}, failures):
        if node["role"] == "manager":
            if node["reachability"] == "reachable":
                memory.unreachable_since.pop(node["id"], None)
            else:
                memory.unreachable_since.setdefault(node["id"], _down_since(node, snapshot["now"]))
    memory.ready_nodes = {n["id"] for n in snapshot["nodes"] if n["state"] == "ready" and n["availability"] == "active"}


def watching_closely(memory: Memory, probes: dict | None, acted: bool) -> bool:
    """Whether the next pass should come at once rather than at the next resync: a manager is being timed (its
    grace runs out soon), a probe is failing (a leader may be going: this manager may lead in a moment), or this
    pass changed membership (the next step, such as a promotion after a removal, is decided on the next pass)."""
    return acted or bool(memory.unreachable_since) or any(p.get("failures") for p in (probes or {}).values())


def decide(snapshot: dict, memory: Memory, config) -> list[Action]:
    """Actions for this snapshot. Updates memory as a side effect (timers, triggers, what was reported)."""
    nodes, services, tasks, now = snapshot["nodes"], snapshot["services"], snapshot["tasks"], snapshot["now"]
    actions: list[Action] = []
    actions += quorum_actions(with_probes(nodes, snapshot.get("probes") or {}, config.probe_failures), tasks, now,
                              memory, config)
    if any(a.kind in MEMBERSHIP for a in actions):
        return actions  # membership first; look at the rest on the next pass, against the new membership
    if any(a.kind == "report" and a.target == "quorum" for a in actions):
        return actions
    actions += stuck_actions(services, tasks, now, memory, config)
    actions += rebalance_actions(nodes, services, tasks, now, memory, config)
    return actions


def _report(memory: Memory, key: str, target: str, why: str) -> list[Action]:
    if key in memory.reported:
        return []
    memory.reported.add(key)
    return [Action("report", target, why)]


def quorum_actions(nodes, tasks, now, memory: Memory, config) -> list[Action]:
    managers = [n for n in nodes if n["role"] == "manager"]
    reachable = [m for m in managers if m["reachability"] == "reachable"]
    unreachable = [m for m in managers if m["reachability"] != "reachable"]
    for m in reachable:
        memory.unreachable_since.pop(m["id"], None)
    if not has_quorum(len(reachable), len(managers)):
        return _report(memory, f"quorum-lost:{len(reachable)}/{len(managers)}", "quorum",
                       f"quorum lost: {len(reachable)} of {len(managers)} managers reachable. Nothing can be changed "
                       "until a majority is back. Bring managers back, or if they are gone for good rebuild the swarm "
                       "from a survivor with `swarmctl recover --yes` (docker swarm init --force-new-cluster, then "
                       "managers joined again).")
    memory.reported = {k for k in memory.reported if not k.startswith("quorum-lost:")}

    for m in unreachable:
        if in_maintenance(m):
            # Planned: an operator marked it (a slow reboot is not a death). Its place is kept for it.
            memory.unreachable_since.pop(m["id"], None)
            label = m["labels"].get(MAINTENANCE_LABEL, "")
            return _report(memory, f"maintenance:{m['id']}:{label}", m["hostname"],
                           f"{m['hostname']} is unreachable and marked for maintenance ({label}); it keeps its place "
                           "as a manager and nothing is done until it is back or the mark is taken off "
                           "(swarmctl maintenance off)")
        since = memory.unreachable_since.setdefault(m["id"], _down_since(m, now))
        waited = now - since
        if waited < config.manager_grace_seconds:
            continue
        problem = demotion_problem(nodes, m["id"])
        if problem:
            return _report(memory, f"cannot-remove:{m['id']}", m["hostname"],
                           f"{m['hostname']} has been unreachable for {waited:.0f}s but {problem}; left as it is")
        memory.unreachable_since.pop(m["id"], None)
        if m.get("manager_addr"):
            memory.lost_manager_addrs.add(m["manager_addr"])
        why = f"manager unreachable for {waited:.0f}s (grace {config.manager_grace_seconds:.0f}s)"
        before = {"role": "manager", "reachability": m["reachability"], "state": m["state"]}
        gone = [Action("demote", m["hostname"], why, m["id"], before, {"role": "worker"}),
                Action("remove", m["hostname"], why, m["id"], {"role": "worker"}, {"in_swarm": False})]
        # Its replacement in the same pass (the daemon stops the sequence at a step that fails): a pass later
        # cost the failover seconds. Not while another manager is still unreachable (its grace runs).
        if len(unreachable) > 1:
            return gone
        left = [n for n in nodes if n["id"] != m["id"]]
        return gone + promotion_actions(left, reachable, tasks, memory, config)

    if unreachable:
        return []  # still within the grace period: no promotion yet, so a short outage causes no churn
    return promotion_actions(nodes, reachable, tasks, memory, config)


def promotion_actions(nodes, reachable, tasks, memory: Memory, config) -> list[Action]:
    """A worker promoted while the swarm has fewer reachable managers than it should, or what stops it."""
    if len(reachable) >= config.desired_managers:
        return []
    candidates = promotion_candidates(nodes, tasks, memory)
    if not candidates and any(n["role"] == "worker" and n["state"] == "unknown" for n in nodes):
        return []  # a new leader has not heard from these workers yet (they register again in seconds): wait
    if not candidates:
        return _report(memory, f"no-candidate:{len(reachable)}", "quorum",
                       f"{len(reachable)} manager(s) of {config.desired_managers} wanted, and no ready, active worker "
                       "can be promoted (workers that joined through a lost manager cannot)")
    best = candidates[0]
    return [Action("promote", best["hostname"],
                   f"{len(reachable)} manager(s) of {config.desired_managers} wanted; {best['hostname']} is the "
                   "healthiest active worker", best["id"], {"role": "worker"}, {"role": "manager"})]


def _down_since(node: dict, now: float) -> float:
    """When a manager first seen unreachable went away: its first failed probe, if probes found it down; else
    the node object's last update, if its status says down (the status change is what updated it); else now
    (the grace period starts with this look)."""
    if 0 < (node.get("probe_down_since") or 0) <= now:
        return node["probe_down_since"]
    if node.get("state") == "down" and 0 < node.get("updated_ts", 0) <= now:
        return node["updated_ts"]
    return now


def promotion_candidates(nodes, tasks, memory: Memory) -> list[dict]:
    """Ready, active workers, fewest running tasks first; never one that joined through a lost manager (its
    engine would dial that manager again when promoted, and fail)."""
    load = {}
    for t in tasks:
        if t["state"] == "running":
            load[t["node_id"]] = load.get(t["node_id"], 0) + 1
    workers = [n for n in nodes if n["role"] == "worker" and n["state"] == "ready" and n["availability"] == "active"
               and n.get("join_addr", "") not in memory.lost_manager_addrs and not in_maintenance(n)]
    return sorted(workers, key=lambda n: (load.get(n["id"], 0), n["hostname"]))


def eligible(node: dict, constraints: list[str]) -> bool | None:
    """Whether a node may run a service's tasks by its constraints; None when a constraint is not understood."""
    if node["state"] != "ready" or node["availability"] != "active":
        return False
    for constraint in constraints or []:
        op = "!=" if "!=" in constraint else "==" if "==" in constraint else None
        if op is None:
            return None
        key, value = (part.strip() for part in constraint.split(op, 1))
        if key == "node.role":
            have = node["role"]
        elif key == "node.hostname":
            have = node["hostname"]
        elif key == "node.id":
            have = node["id"]
        elif key.startswith("node.labels."):
            have = node["labels"].get(key[len("node.labels."):])
        else:
            return None
        if (have == value) != (op == "=="):
            return False
    return True


def skew(service: dict, nodes: list[dict], tasks: list[dict]) -> tuple[int, dict] | None:
    """(max - min running tasks over the nodes that may run the service, counts by hostname); None if unknown."""
    counts = {}
    for node in nodes:
        ok = eligible(node, service["constraints"])
        if ok is None:
            return None
        if ok:
            counts[node["hostname"]] = 0
    if not counts:
        return None
    names = {n["id"]: n["hostname"] for n in nodes}
    for t in tasks:
        if t["service_id"] == service["id"] and t["state"] == "running" and names.get(t["node_id"]) in counts:
            counts[names[t["node_id"]]] += 1
    return max(counts.values()) - min(counts.values()), counts


def rebalance_actions(nodes, services, tasks, now, memory: Memory, config) -> list[Action]:
    ready = {n["id"] for n in nodes if n["state"] == "ready" and n["availability"] == "active"}
    rolling = any(DRAINED_LABEL in (n.get("labels") or {}) for n in nodes)
    if rolling:
        memory.rolling_seen_at = now
    if memory.ready_nodes is not None and ready - memory.ready_nodes:
        memory.rebalance_pending |= {s["id"] for s in services}  # a node came (back): look at every service
    memory.ready_nodes = ready
    by_id = {s["id"]: s for s in services}
    if memory.rebalancing:
        current = by_id.get(memory.rebalancing)
        if current and current["update_state"] in UPDATING:
            return []  # one service at a time: wait for this one's forced update to finish
        done, order = memory.rebalancing, memory.rebalance_order
        memory.rebalancing = memory.rebalance_order = ""
        if current and order != "stop-first":
            return [Action("restore", current["name"], f"rebalance done: the service's own update order ({order}) "
                           "is back", done, {"update_order": "stop-first"}, {"update_order": order})]
    else:
        # A rebalance begun by another reconciler (the leader's, before its host died) or before a restart: the
        # service still carries its own order in the label. Once the forced update is over, put that order back.
        for service in sorted(services, key=lambda s: s["name"]):
            if REBALANCING_LABEL in service["labels"] and service["update_state"] not in UPDATING:
                return [Action("restore", service["name"], f"a rebalance another reconciler began is over: the "
                               f"service's own update order ({service['update_order']}) is back", service["id"],
                               {"update_order": "stop-first"}, {"update_order": service["update_order"]})]
    memory.rebalance_pending &= set(by_id)
    # While swarmctl restarts or upgrades engines node by node (and for a settle time after, which covers the
    # moment between two nodes), the nodes coming back are its own: rebalancing then would stop tasks while it
    # drains the next node. Once it is done, the spread it left is evened out. Nor while a node is "unknown": a
    # new leader has not heard from it yet (after a failover its workers register again one by one, some
    # seconds later), so the spread seen is not the swarm's, and their return is what to even out after.
    if (not memory.rebalance_pending or rolling or now - memory.last_rebalance_at < config.rebalance_interval_seconds
            or now - memory.rolling_seen_at < config.rolling_settle_seconds
            or any(n["state"] == "unknown" for n in nodes)):
        return []
    for service_id in sorted(memory.rebalance_pending, key=lambda i: by_id[i]["name"]):
        service = by_id[service_id]
        if (service["mode"] != "replicated" or service["labels"].get(config.rebalance_label, "true") == "false"
                or service["update_state"] in UPDATING):
            memory.rebalance_pending.discard(service_id)
            continue
        measured = skew(service, nodes, tasks)
        running = sum(1 for t in tasks if t["service_id"] == service_id and t["state"] == "running")
        if measured is None or running < service["replicas"]:
            continue  # not understood, or still converging: look again later
        spread, counts = measured
        memory.rebalance_pending.discard(service_id)
        if spread <= config.rebalance_threshold:
            continue
        memory.last_rebalance_at = now
        memory.rebalancing = service_id
        memory.rebalance_order = service.get("update_order") or "stop-first"
        # Start-first keeps each old task counted while its replacement is placed, so the scheduler would
        # put it back where it was: the forced update runs stop-first (parallelism, delay and failure
        # action stay the service's own), and the service's order is restored afterwards.
        return [Action("rebalance", service["name"],
                       f"tasks per node differ by {spread} (threshold {config.rebalance_threshold}) after a node came "
                       "back or joined; a forced rolling update (stop-first, the service's own parallelism and "
                       "delay) spreads them", service_id, {"tasks_per_node": counts}, {"spread_over": sorted(counts)})]
    return []


def stuck_actions(services, tasks, now, memory: Memory, config) -> list[Action]:
    actions = []
    for service in services:
        policy = service["labels"].get(config.stuck_policy_label, "report")
        key = f"{service['id']}:{service['update_started']}"
        if service["update_state"] in ("paused", "rollback_paused"):
            why = f"update {service['update_state'].replace('_', ' ')}: {service['update_message'] or 'no message'}"
            if (policy == "rollback" and service["update_state"] == "paused" and service["has_previous"]
                    and key not in memory.rolled_back):
                memory.rolled_back.add(key)
                actions.append(Action("rollback", service["name"], why + "; the service's policy says roll back",
                                      service["id"], {"update_state": "paused"}, {"spec": "previous"}))
            else:
                actions += _report(memory, f"paused:{key}", service["name"], why)
        stuck = [t for t in tasks if t["service_id"] == service["id"] and t["state"] == "pending"
                 and t["desired"] == "running" and now - t["since"] > config.pending_limit_seconds]
        if stuck:
            oldest = max(now - t["since"] for t in stuck)
            why = (f"{len(stuck)} task(s) pending for up to {oldest:.0f}s (limit {config.pending_limit_seconds:.0f}s): "
                   f"{stuck[0].get('message') or 'no node can take them'}")
            if (policy == "rollback" and service["has_previous"] and service["update_state"] in UPDATING
                    and key not in memory.rolled_back):
                memory.rolled_back.add(key)
                actions.append(Action("rollback", service["name"], why + "; the service's policy says roll back",
                                      service["id"], {"pending": len(stuck)}, {"spec": "previous"}))
            else:
                actions += _report(memory, f"pending:{service['id']}:{len(stuck) > 0}", service["name"], why)
    return actions

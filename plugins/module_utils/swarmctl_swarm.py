# Swarm membership and node logic shared by swarmctl's swarm modules (and the reconciler's quorum rules).
# The pure functions at the top take plain dicts, so they are unit-tested without an engine.

from __future__ import annotations

import time

# Node label holding the manager address a node joined through (set by the swarm role, read by the reconciler).
JOIN_ADDR_LABEL = "io.swarmctl.join-addr"
# Node label marking planned maintenance (`swarmctl maintenance on NODE`): the reconciler never replaces such a
# manager while it is away, and never promotes such a worker. Its value says why and since when.
MAINTENANCE_LABEL = "io.swarmctl.maintenance"
# Service label the reconciler sets while it rebalances a service: the service's own update order, which it runs
# stop-first meanwhile. swarmctl_service reads the service as if it were not there, so a run in between changes
# nothing the reconciler will put back itself.
REBALANCING_LABEL = "io.swarmctl.rebalancing"


def in_maintenance(node: dict) -> bool:
    return (node.get("labels") or {}).get(MAINTENANCE_LABEL, "") not in ("", "false")

# -- pure logic -------------------------------------------------------------------------------------------


def tolerance(managers: int) -> int:
    """Manager failures a swarm of this many managers survives."""
    return max(0, (managers - 1) // 2)


def has_quorum(reachable: int, total: int) -> bool:
    return total > 0 and reachable > total // 2


def demotion_problem(nodes: list[dict], node_id: str) -> str | None:
    """Why demoting (or removing) manager node_id would endanger the swarm; None when it is safe.

    nodes: node summaries (see summarize_node). Safe means: it is not the last manager, and the
    managers that remain reachable still form a majority of the managers that remain."""
    return removal_problem(nodes, [node_id])


def removal_problem(nodes: list[dict], node_ids: list[str]) -> str | None:
    """Why demoting (or removing) all of node_ids together would endanger the swarm; None when it is safe.

    Decided on the whole set, before any of them changes: checked one by one against the node list as it was,
    two managers could each pass and the second demotion then fail half way."""
    managers = [n for n in nodes if n["role"] == "manager"]
    leaving = [n for n in managers if n["id"] in node_ids]
    if not leaving:
        return None
    names = ", ".join(n["hostname"] for n in leaving)
    remaining = [n for n in managers if n["id"] not in node_ids]
    if not remaining:
        if len(leaving) == 1:
            return f"{names} is the last manager; a swarm cannot run without one"
        return (f"demoting {names} would leave the swarm without a manager, and a swarm cannot run without one; "
                "keep at least one manager")
    reachable = [n for n in remaining if n["reachability"] == "reachable"]
    if not has_quorum(len(reachable), len(remaining)):
        return (
            f"demoting {names} would leave {len(reachable)} reachable manager(s) of {len(remaining)}, short of the "
            f"majority Raft needs ({len(remaining) // 2 + 1}); bring the unreachable managers back (or remove them) "
            "first"
        )
    return None


def membership(local: dict, expected_cluster: str | None, swarm_node_ids: list[str]) -> str:
    """Where a node stands relative to our swarm: none | ours | other | broken | locked.

    local: the node's own view (see local_state). A worker cannot see the cluster id, so it is ours
    when its node id is in our swarm's node list."""
    state = local.get("state")
    if state == "inactive":
        return "none"
    if state == "locked":
        return "locked"
    if state in ("error", "pending") or not local.get("node_id"):
        return "broken"
    if local.get("is_manager") and local.get("cluster_id"):
        return "ours" if expected_cluster and local["cluster_id"] == expected_cluster else "other"
    return "ours" if local["node_id"] in swarm_node_ids else "other"


def describe_local(local: dict) -> str:
    where = f"node id {local.get('node_id') or '(none)'}"
    if local.get("cluster_id"):
        where += f", swarm {local['cluster_id']}"
    if local.get("remote_managers"):
        where += f", managers at {', '.join(local['remote_managers'])}"
    return where


def membership_problem(local: dict, where: str) -> str:
    """What to tell an operator about a host in another swarm or half joined; empty otherwise."""
    if where == "other":
        problem = f"this host is already in another swarm ({describe_local(local)})"
    elif where == "broken":
        problem = (f"this host is half joined to a swarm: its engine reports state '{local.get('state')}' "
                   f"({describe_local(local)}){': ' + local['error'] if local.get('error') else ''}")
    else:
        return ""
    return (f"{problem}. swarmctl left it as it was. To bring it into this swarm, run `docker swarm leave --force` "
            "on it, or set swarm_force_rejoin: true for this host in the inventory, and run again.")


def summarize_node(node: dict) -> dict:
    """The fields of a node that swarmctl looks at, from the engine's node object."""
    spec = node.get("Spec", {})
    status = node.get("Status", {})
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node["ID"],
        "hostname": node.get("Description", {}).get("Hostname", ""),
        "role": spec.get("Role", "worker"),
        "availability": spec.get("Availability", "active"),
        "labels": spec.get("Labels") or {},
        "state": status.get("State", "unknown"),
        "addr": status.get("Addr", ""),
        "leader": bool(manager.get("Leader")),
        "reachability": manager.get("Reachability", "") if spec.get("Role") == "manager" else "",
        "manager_addr": manager.get("Addr", ""),
        "version": node.get("Version", {}).get("Index"),
        "updated_at": node.get("UpdatedAt", ""),
    }


def plan_node_changes(current: dict, wanted: dict, labels_exclusive: bool = False) -> dict:
    """The spec fields to change on a node: {role?, availability?, labels?}."""
    changes = {}
    if wanted.get("role") and wanted["role"] != current["role"]:
        changes["role"] = wanted["role"]
    if wanted.get("availability") and wanted["availability"] != current["availability"]:
        changes["availability"] = wanted["availability"]
    if wanted.get("labels") is not None or wanted.get("remove_labels"):
        labels = {str(k): str(v) for k, v in (wanted.get("labels") or {}).items()}
        merged = labels if labels_exclusive else {**current["labels"], **labels}
        merged = {k: v for k, v in merged.items() if k not in (wanted.get("remove_labels") or [])}
        if merged != current["labels"]:
            changes["labels"] = merged
    return changes


# -- engine access ---------------------------------------------------------------------------------------


def local_state(client) -> dict:
    """This engine's own view of its swarm membership."""
    swarm = client.info().get("Swarm") or {}
    state = swarm.get("LocalNodeState", "inactive")
    result = {
        "state": state,
        "node_id": swarm.get("NodeID") or "",
        "node_addr": swarm.get("NodeAddr") or "",
        "is_manager": bool(swarm.get("ControlAvailable")),
        "error": swarm.get("Error") or "",
        "remote_managers": [m.get("Addr") for m in swarm.get("RemoteManagers") or []],
        "cluster_id": ((swarm.get("Cluster") or {}).get("ID")) or "",
    }
    return result


def kernel_has_ipvs() -> bool:
    """Whether this host's kernel can do IPVS (what the ingress routing mesh and VIPs balance with):
    loaded, built in, or available as a module."""
    import os
    import platform

    if os.path.exists("/proc/net/ip_vs"):
        return True
    release = platform.release()
    for name in ("modules.builtin", "modules.dep"):
        try:
            with open(f"/lib/modules/{release}/{name}") as handle:
                if "/ip_vs.ko" in handle.read():
                    return True
        except OSError:
            continue
    return False


def list_nodes(client) -> list[dict]:
    return [summarize_node(n) for n in client.api.nodes()]


def describe_swarm(client, tokens: bool = False, unlock_key: bool = False) -> dict:
    """A manager's view of its swarm: {swarm: {id, autolock, nodes}}, with the join tokens and the unlock key
    (empty when autolock is off) when asked for; secrets: the task that returns them must hide its result."""
    swarm = client.api.inspect_swarm()
    autolock = bool(swarm.get("Spec", {}).get("EncryptionConfig", {}).get("AutoLockManagers"))
    described = {"swarm": dict(id=swarm["ID"], autolock=autolock, nodes=list_nodes(client))}
    if tokens:
        described["tokens"] = dict(worker=swarm["JoinTokens"]["Worker"], manager=swarm["JoinTokens"]["Manager"])
    if unlock_key:  # empty when autolock is off
        described["unlock_key"] = ((client.api.get_unlock_key() or {}).get("UnlockKey") or "") if autolock else ""
    return described


def update_node(client, node_id: str, changes: dict) -> None:
    node = client.api.inspect_node(node_id)
    spec = dict(node["Spec"])
    if "role" in changes:
        spec["Role"] = changes["role"]
    if "availability" in changes:
        spec["Availability"] = changes["availability"]
    if "labels" in changes:
        spec["Labels"] = changes["labels"]
    client.api.update_node(node_id, node["Version"]["Index"], spec)


def wait_for(predicate, timeout: float, interval: float = 0.5):
    """Call predicate until it returns something truthy or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def running_tasks_on(client, node_id: str) -> list[dict]:
    """Tasks the swarm still wants running on a node and that are not yet shut down."""
    tasks = client.api.tasks(filters={"node": node_id, "desired-state": "running"})
    return [t for t in tasks if t.get("Status", {}).get("State") in ("new", "pending", "assigned", "accepted",
                                                                       "preparing", "starting", "running")]


def unconverged_services(client) -> list[str]:
    """Replicated services with fewer running tasks than replicas, as 'name running/wanted'."""
    behind = []
    for service in client.api.services():
        mode = service["Spec"].get("Mode", {})
        if "Replicated" not in mode:
            continue
        wanted = mode["Replicated"].get("Replicas", 0)
        tasks = client.api.tasks(filters={"service": service["ID"], "desired-state": "running"})
        running = sum(1 for t in tasks if t.get("Status", {}).get("State") == "running")
        if running < wanted:
            behind.append(f"{service['Spec']['Name']} {running}/{wanted}")
    return behind

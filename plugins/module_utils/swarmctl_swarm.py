# Swarm membership and node logic shared by swarmctl's swarm modules (and the reconciler's quorum rules).
# The pure functions at the top take plain dicts, so they are unit-tested without an engine.

from __future__ import annotations

import json
import time

# Swarm label holding the manager address each node joined through, as JSON {node id: address} (written by the
# swarm role in one write for all the nodes that joined in a run, read by the reconciler: a promoted node dials
# that manager again, so a worker that joined through a lost manager is not promoted).
JOIN_ADDRS_LABEL = "io.swarmctl.join-addrs"
# The same, as a node label of its own: what swarmctl wrote before the swarm label (one Raft write per node on a
# cold run); still read, for nodes that joined then.
JOIN_ADDR_LABEL = "io.swarmctl.join-addr"
# Node label marking planned maintenance (`swarmctl maintenance on NODE`): the reconciler never replaces such a
# manager while it is away, and never promotes such a worker. Its value says why and since when.
MAINTENANCE_LABEL = "io.swarmctl.maintenance"
# Node label swarmctl writes on a node it drains for an engine restart or upgrade (the availability to give back;
# roles/docker_engine, docker_engine_drained_label) and removes once the node is back: while a node carries it,
# swarmctl is moving tasks node by node itself, and a rebalance on top of a drain could stop every task at once.
DRAINED_LABEL = "io.swarmctl.drained"
# Service label the reconciler sets while it rebalances a service: the service's own update order, which it runs
# stop-first meanwhile. swarmctl_service reads the service as if it were not there, so a run in between changes
# nothing the reconciler will put back itself.
REBALANCING_LABEL = "io.swarmctl.rebalancing"
# Swarm label set when a new cluster is forced (`swarmctl recover`): when and from which host. Managers removed by
# the recovery that come back still hold the old Raft group - a majority of it, perhaps, with a leader and the same
# swarm id - and this tells the rebuilt swarm from that stale copy (newest first).
RECOVERED_LABEL = "io.swarmctl.recovered"


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


# What a manager's engine says (`docker info`, Swarm.Error) while its swarm has no Raft leader: quorum lost, or
# an election not over yet.
NO_LEADER = "does not have a leader"


def leaderless(local: dict) -> bool:
    """Whether a host is a manager of a swarm that has no leader (its own view, see local_state). Its state is
    'pending' rather than 'active' when its engine started without any peer (a restored Raft state)."""
    return (local.get("state") in ("active", "pending") and bool(local.get("is_manager"))
            and NO_LEADER in (local.get("error") or ""))


class RecoveryRefused(Exception):
    """swarmctl recover does not fit the swarm's state; the message says why and what to do instead."""


def recovery_plan(found: dict, order: list[str]) -> dict:
    """Which surviving manager a swarm that lost quorum is rebuilt from, and why.

    found: inventory host -> its swarm_info result (local, raft, quorum, swarm), or None when the host did not
    answer. order: the inventory's managers then workers, to break ties. Raises RecoveryRefused when quorum is
    not lost, when no manager survives, or when the survivors do not agree on one swarm."""
    answered = {h: r for h, r in found.items() if r}
    silent = sorted(h for h, r in found.items() if not r)
    leading = [h for h in order if h in answered and answered[h].get("swarm")]
    if leading:
        return _resumed_plan(leading[0], answered, order)
    survivors = [h for h in order if h in answered and leaderless(answered[h].get("local") or {})]
    if not survivors:
        locked = [h for h in order if h in answered and (answered[h].get("local") or {}).get("state") == "locked"]
        if locked:
            raise RecoveryRefused(
                f"{', '.join(locked)} {'is' if len(locked) == 1 else 'are'} locked (autolock): unlock with "
                "`docker swarm unlock` and the key in credentials/swarm-unlock-key, then run recover again; "
                "nothing was changed.")
        raise RecoveryRefused(
            "no manager of the swarm survives: no host of the inventory that answered is a manager "
            f"({', '.join(silent) or 'every host answered'}{' did not answer' if silent else ''}). recover needs one "
            "surviving manager's Raft state. Bring a manager's host back, rebuild the swarm from a backup "
            "(`swarmctl restore --from DIR --yes`), or start over on these hosts (`swarmctl reset --yes`, then "
            "`swarmctl up`); nothing was changed.")
    ids = {h: answered[h]["local"]["node_id"] for h in survivors}
    members = set(answered[survivors[0]]["local"].get("remote_manager_ids") or [])
    strangers = [h for h in survivors
                 if ids[h] not in members or set(answered[h]["local"].get("remote_manager_ids") or []) != members]
    if strangers:
        raise RecoveryRefused(
            f"the surviving managers do not belong to one swarm ({', '.join(strangers)} is not among "
            f"{survivors[0]}'s managers); keep one swarm per inventory. Nothing was changed.")
    total = len(members) or 1
    if has_quorum(len(survivors), total):
        raise RecoveryRefused(
            f"the swarm has no leader, but {len(survivors)} of its {total} managers answer, a majority: it is "
            "electing one. Wait a minute and look again with `swarmctl status`; nothing was changed.")

    def recency(host):
        raft = answered[host].get("raft") or {}
        return raft.get("snapshot_index", 0), raft.get("last_write", 0.0), -order.index(host)

    chosen = max(survivors, key=recency)
    if len(survivors) == 1:
        why = f"{chosen} is the only manager left of {total}"
    else:
        raft = answered[chosen].get("raft") or {}
        why = (f"{chosen} holds the most recent Raft state of the {len(survivors)} managers left of {total} "
               f"(newest snapshot at index {raft.get('snapshot_index', 0)}, last log write at "
               f"{time.strftime('%H:%M:%S', time.gmtime(raft.get('last_write', 0)))} UTC)")
    local = answered[chosen]["local"]
    addrs = dict(zip(local.get("remote_manager_ids") or [], local.get("remote_managers") or []))
    lost = [{"node_id": i, "host": f"the manager at {addrs.get(i) or 'an unknown address'}"}
            for i in sorted(members - set(ids.values()))]
    others = [h for h in survivors if h != chosen]
    return {"chosen": chosen, "why": why, "node_addr": local["node_addr"], "survivors": survivors, "others": others,
            "lost": lost, "managers_before": total,
            # The other survivors' nodes go with the lost ones: their Raft state is the old group's; they join again.
            "remove": lost + [{"node_id": ids[h], "host": h} for h in others]}


def _resumed_plan(leader: str, answered: dict, order: list[str]) -> dict:
    """A swarm with a leader: refused, unless its reachable managers are a minority of the managers in its node
    list - a new cluster forced by a recover that did not finish (its Raft group is smaller than the list)."""
    nodes = answered[leader]["swarm"].get("nodes") or []
    managers = [n for n in nodes if n["role"] == "manager"]
    reachable = [n for n in managers if n["reachability"] == "reachable"]
    if has_quorum(len(reachable), len(managers)):
        raise RecoveryRefused(
            f"quorum is not lost: {leader} answers for the swarm, {len(reachable)} of {len(managers)} managers "
            "reachable. recover is for a swarm that lost the majority of its managers. To take dead managers out, "
            "run `swarmctl remove-node HOST --yes` (or let the reconciler replace them); nothing was changed.")
    others = [h for h in order if h in answered and leaderless(answered[h].get("local") or {})]
    other_ids = {answered[h]["local"]["node_id"] for h in others}
    lost = [{"node_id": n["id"], "host": n["hostname"]} for n in managers
            if n["reachability"] != "reachable" and n["id"] not in other_ids]
    return {"chosen": leader, "why": f"{leader} leads a swarm already forced from it by a recover that did not finish "
            f"({len(reachable)} of {len(managers)} managers reachable); going on from there",
            "node_addr": answered[leader]["local"]["node_addr"], "survivors": [leader] + others, "others": others,
            "lost": lost, "managers_before": len(managers),
            "remove": lost + [{"node_id": answered[h]["local"]["node_id"], "host": h} for h in others]}


def recovery_joiners(nodes: list[dict], found: dict, plan: dict, managers_wanted: int, order: list[str]) -> list:
    """The hosts that join the rebuilt swarm again, one at a time, each with its role and what to put back on
    its new node: the other surviving managers (their Raft state belongs to the old group), then workers of this
    swarm that the lost quorum broke (their engine in error, e.g. a former manager whose Raft node dials a lost
    one), then healthy workers, in the inventory's order, as managers until the swarm has managers_wanted; the
    broken workers left over join again as workers. nodes: the node list after the new cluster was forced."""
    by_id = {n["id"]: n for n in nodes}
    host_of = {(r.get("local") or {}).get("node_id"): h for h, r in found.items() if r}
    joiners = []
    for host in plan["others"]:
        node = by_id.get(found[host]["local"]["node_id"])
        joiners.append({"host": host, "node_id": found[host]["local"]["node_id"], "addr": found[host]["local"]["node_addr"],
                        "availability": (node or {}).get("availability", "active"), "labels": (node or {}).get("labels", {}),
                        "was": "manager", "role": "manager"})

    def in_order(node):
        return order.index(host_of[node["id"]]) if host_of[node["id"]] in order else len(order)

    def says(node):
        return (found[host_of[node["id"]]].get("local") or {}).get("state")

    # By their own engines' word a moment ago: right after the new cluster was forced, the node list says
    # "unknown" for every node until it reports in again.
    workers = sorted((n for n in nodes if n["role"] == "worker" and n["id"] in host_of), key=in_order)
    broken = [n for n in workers if says(n) in ("error", "pending") and not in_maintenance(n)]
    healthy = [n for n in workers if says(n) == "active" and n["availability"] == "active" and not in_maintenance(n)]
    # Joined again, never promoted in place: a promoted worker dials the manager it first joined through
    # (the Swarm trap), and even one that joined through the chosen manager took 18-20 s to take its new
    # role (its session to the lost managers times out first). A promotion given up on that then takes
    # after all makes a two-member Raft group whose second member is about to leave: quorum lost again.
    managers = 1 + len(joiners)
    for node in broken + healthy:
        role = "manager" if managers < managers_wanted else "worker"
        if role == "worker" and node not in broken:
            break  # enough managers: healthy workers stay as they are
        managers += role == "manager"
        host = host_of[node["id"]]
        joiners.append({"host": host, "node_id": node["id"], "addr": found[host]["local"]["node_addr"],
                        "availability": node["availability"], "labels": node["labels"],
                        "was": "broken" if node in broken else "worker", "role": role})
    return joiners


def membership(local: dict, expected_cluster: str | None, swarm_node_ids: list[str]) -> str:
    """Where a node stands relative to our swarm: none | ours | other | stale | broken | locked.

    local: the node's own view (see local_state). A worker cannot see the cluster id, so it is ours
    when its node id is in our swarm's node list."""
    state = local.get("state")
    if state == "inactive":
        return "none"
    if state == "locked":
        return "locked"
    if state == "error" or not local.get("node_id"):
        return "broken"
    if (local.get("is_manager") and local.get("cluster_id") and local["cluster_id"] == expected_cluster
            and swarm_node_ids and local["node_id"] not in swarm_node_ids):
        # Same swarm id, yet not in its node list: a manager the swarm was rebuilt without (a stale copy) - or
        # removed while away. 'pending' when it came back without enough of its old managers to elect a leader.
        return "stale"
    if state == "pending":
        return "broken"
    if local.get("is_manager") and local.get("cluster_id"):
        return "other" if not expected_cluster or local["cluster_id"] != expected_cluster else "ours"
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
    elif where == "stale":
        problem = (f"this host was a manager of this swarm but is not in its node list any more "
                   f"({describe_local(local)}): the swarm was rebuilt without it (swarmctl recover) or it was removed "
                   "while away, and it runs a stale copy of the swarm and its services")
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


def join_addrs_of(swarm_spec: dict) -> dict:
    """{node id: join address} from a swarm's spec ({} when there is none, or it is not what swarmctl writes)."""
    try:
        found = json.loads((swarm_spec.get("Labels") or {}).get(JOIN_ADDRS_LABEL) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def node_join_addr(node: dict, join_addrs: dict) -> str:
    """The manager a node (as summarize_node gives it) joined through: the swarm label's entry, else the node
    label of swarmctl before it; "" when unknown."""
    return join_addrs.get(node["id"]) or (node.get("labels") or {}).get(JOIN_ADDR_LABEL, "")


def merge_join_addrs(current: dict, new: dict, node_ids) -> dict:
    """current with new's entries, without the entries of nodes no longer in the swarm (node_ids)."""
    ids = set(node_ids)
    return {k: v for k, v in {**current, **new}.items() if k in ids}


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
    info = client.info()
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState", "inactive")
    result = {
        "state": state,
        "node_id": swarm.get("NodeID") or "",
        "node_addr": swarm.get("NodeAddr") or "",
        "is_manager": bool(swarm.get("ControlAvailable")),
        "error": swarm.get("Error") or "",
        "remote_managers": [m.get("Addr") for m in swarm.get("RemoteManagers") or []],
        "remote_manager_ids": [m.get("NodeID") for m in swarm.get("RemoteManagers") or []],
        "cluster_id": ((swarm.get("Cluster") or {}).get("ID")) or "",
    }
    if result["is_manager"] and not result["cluster_id"]:
        # No leader to ask (quorum lost, or an election running): the node's own certificate names its swarm.
        result["cluster_id"] = certificate_cluster_id(info.get("DockerRootDir") or "/var/lib/docker")
    return result


def certificate_cluster_id(docker_root: str) -> str:
    """The swarm id in this node's certificate (its subject's organization), read without a leader and without
    any library on the host; empty when there is none or it cannot be read."""
    import base64
    import os

    try:
        with open(os.path.join(docker_root, "swarm", "certificates", "swarm-node.crt")) as pem:
            text = pem.read()
        body = text.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END CERTIFICATE-----", 1)[0]
        return subject_organization(base64.b64decode("".join(body.split())))
    except (OSError, IndexError, ValueError):
        return ""


def _der_item(data: bytes, at: int) -> tuple[int, int, int]:
    """The DER item at `at`: (tag, where its content starts, where it ends)."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        length, at = int.from_bytes(data[at:at + size], "big"), at + size
    if at + length > len(data):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _der_item(data, start)
        items.append(item)
        start = item[2]
    return items


ORGANIZATION_OID = bytes((0x55, 0x04, 0x0A))  # 2.5.4.10


def subject_organization(der: bytes) -> str:
    """The O of an X.509 certificate's subject (Certificate > tbsCertificate > subject, the sixth field counting
    the optional version); empty when it has none."""
    certificate = _der_item(der, 0)
    tbs = _der_children(der, certificate[1], certificate[2])[0]
    fields = _der_children(der, tbs[1], tbs[2])
    if fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    subject = fields[4]
    for rdn in _der_children(der, subject[1], subject[2]):
        for pair in _der_children(der, rdn[1], rdn[2]):
            oid, value = _der_children(der, pair[1], pair[2])[:2]
            if der[oid[1]:oid[2]] == ORGANIZATION_OID:
                return der[value[1]:value[2]].decode("utf-8", "replace")
    return ""


def raft_state(client) -> dict:
    """How far this manager's copy of the Raft log goes, read from its files: the index of its newest snapshot
    (files named TERM-INDEX.snap) and when its write-ahead log was last appended to (the newest WAL file's
    modification time). Empty when the engine keeps no Raft state."""
    import os

    raft = os.path.join(client.info().get("DockerRootDir") or "/var/lib/docker", "swarm", "raft")
    found = {"path": raft, "snapshot_index": 0, "last_write": 0.0}
    try:
        folders = os.listdir(raft)
    except OSError:
        return {}
    for folder in folders:
        where = os.path.join(raft, folder)
        for name in os.listdir(where) if os.path.isdir(where) else []:
            if folder.startswith("snap") and name.endswith(".snap"):
                try:
                    found["snapshot_index"] = max(found["snapshot_index"], int(name[:-5].split("-")[-1], 16))
                except ValueError:
                    continue
            elif folder.startswith("wal") and name.endswith(".wal"):
                found["last_write"] = max(found["last_write"], os.stat(os.path.join(where, name)).st_mtime)
    return found


def take_raft_snapshot(client, timeout: float = 30.0) -> bool:
    """Have this manager - alone in a swarm just rebuilt from an old Raft state - write a Raft snapshot now, so
    that a manager joining next gets that snapshot instead of the whole log since the last one (up to 10000
    entries by default). Catching up on a long log, the joiner holds back every write of the two-manager swarm
    (the new member must acknowledge it) and, seen in CI, ran out of time and left it without a leader. Swarm
    has no call for it: its snapshot interval is set to 1 for one write, then back. Returns whether a new
    snapshot was written within timeout."""
    before = (raft_state(client) or {}).get("snapshot_index", 0)

    def set_interval(value: int) -> None:
        swarm = client.inspect_swarm()
        spec = swarm["Spec"]
        client.update_swarm(swarm["Version"]["Index"], dict(spec, Raft=dict(spec.get("Raft") or {}, SnapshotInterval=value)))

    interval = (client.inspect_swarm()["Spec"].get("Raft") or {}).get("SnapshotInterval") or 10000
    if interval == 1:  # left so by a run cut short here
        interval = 10000
    set_interval(1)
    try:
        return bool(wait_for(lambda: (raft_state(client) or {}).get("snapshot_index", 0) > before, timeout, 0.5))
    finally:
        set_interval(interval)


def set_swarm_labels(client, labels: dict, swarm: dict | None = None) -> None:
    """Set these labels on the swarm, keeping its others and the rest of its spec: one spec write. The API
    replaces the whole spec, so it starts from the current one (swarm: inspect_swarm's answer, if read already)."""
    swarm = swarm or client.inspect_swarm()
    spec = swarm["Spec"]
    client.update_swarm(swarm["Version"]["Index"], dict(spec, Labels={**(spec.get("Labels") or {}), **labels}))


def record_join_addrs(client, new: dict, node_ids, check_mode: bool = False) -> bool:
    """Merge new ({node id: join address}) into the swarm's JOIN_ADDRS_LABEL, one spec write; returns whether
    it changed."""
    swarm = client.inspect_swarm()
    current = join_addrs_of(swarm["Spec"])
    merged = merge_join_addrs(current, new, node_ids)
    if merged == current:
        return False
    if not check_mode:
        set_swarm_labels(client, {JOIN_ADDRS_LABEL: json.dumps(merged, sort_keys=True)}, swarm)
    return True


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
    recovered = (swarm.get("Spec", {}).get("Labels") or {}).get(RECOVERED_LABEL, "")
    described = {"swarm": dict(id=swarm["ID"], autolock=autolock, recovered=recovered, nodes=list_nodes(client))}
    if tokens:
        described["tokens"] = dict(worker=swarm["JoinTokens"]["Worker"], manager=swarm["JoinTokens"]["Manager"])
    if unlock_key:  # empty when autolock is off
        described["unlock_key"] = ((client.api.get_unlock_key() or {}).get("UnlockKey") or "") if autolock else ""
    return described


def export_swarm(client) -> dict:
    """What a swarm runs, readable: its spec, services, swarm networks, configs, secret names, nodes."""
    swarm = client.inspect_swarm()
    services = [{"name": s["Spec"]["Name"], "image": s["Spec"]["TaskTemplate"].get("ContainerSpec", {}).get("Image", ""),
                 "version": s.get("Version", {}).get("Index"), "spec": s["Spec"]} for s in client.services()]
    networks = [{"name": n["Name"], "driver": n.get("Driver"), "options": n.get("Options") or {},
                 "labels": n.get("Labels") or {}, "attachable": n.get("Attachable", False),
                 "ipam": n.get("IPAM") or {}}
                for n in client.networks() if n.get("Scope") == "swarm" and not n.get("Ingress")]
    configs = [{"name": c["Spec"]["Name"], "labels": c["Spec"].get("Labels") or {}, "data": c["Spec"].get("Data", "")}
               for c in client.configs()]
    secrets = [{"name": c["Spec"]["Name"], "labels": c["Spec"].get("Labels") or {}} for c in client.secrets()]
    nodes = [{k: n[k] for k in ("id", "hostname", "role", "availability", "labels", "state", "addr")}
             for n in list_nodes(client)]
    return {"swarm": {"id": swarm["ID"], "spec": swarm["Spec"], "created": swarm.get("CreatedAt", "")},
            "services": sorted(services, key=lambda s: s["name"]), "networks": sorted(networks, key=lambda n: n["name"]),
            "configs": configs, "secrets": secrets, "nodes": nodes}


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

"""Jinja filters over swarm state, with the same rules as the modules (plugins/module_utils/swarmctl_swarm.py).

They let a no-change run decide on the control machine that a host or a node needs nothing, instead of
calling a module on it just to hear so.
"""

from __future__ import annotations

import os

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_bundle import manifest_versions, read_manifest
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import own_engine
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    membership,
    membership_problem,
    plan_node_changes,
)
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import point_at_versions
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_stack_lb import StackLBError, behind_haproxy


def swarmctl_membership(local, cluster_id, node_ids):
    """none | ours | other | stale | broken | locked, for a host's swarmctl_swarm_info `local` result."""
    return membership(local or {"state": "inactive"}, cluster_id, list(node_ids or []))


def swarmctl_membership_problem(local, swarm):
    """The operator message for a host in another swarm or half joined (empty when it is fine)."""
    swarm = swarm or {}
    local = local or {"state": "inactive"}
    if local.get("state") == "no-engine":
        return ""
    return membership_problem(local, membership(local, swarm.get("id"), [n["id"] for n in swarm.get("nodes", [])]))


def swarmctl_membership_problems(hosts, hostvars, swarm):
    """'host: problem' for every host in another swarm or half joined, unless it may rejoin (swarm_force_rejoin)."""
    out = []
    for host in hosts or []:
        hv = hostvars[host]
        if str(hv.get("swarm_force_rejoin", False)).lower() in ("true", "yes", "1"):
            continue
        problem = swarmctl_membership_problem((hv.get("swarm_info") or {}).get("local"), swarm)
        if problem:
            out.append(f"{host}: {problem}")
    return out


def swarmctl_newest_swarm_first(hosts, hostvars):
    """Live managers (their swarm_info results), those of the most recently rebuilt swarm first, else in the given
    order: a manager a recover left out may come back to a stale copy with a leader and the same swarm id."""
    def recovered(host):
        return ((hostvars[host].get("swarm_info") or {}).get("swarm") or {}).get("recovered") or ""

    hosts = list(hosts or [])
    return sorted(hosts, key=recovered, reverse=True) if any(recovered(h) for h in hosts) else hosts


def swarmctl_leaderless(hosts, hostvars, primary=""):
    """The live managers that answer as managers of a swarm with no leader - except, when the primary manager's
    swarm has a leader, those not in its node list: a recover's lost managers, back on a stale copy of the swarm
    that has not elected a leader yet, are stale members (the membership check's business), not a swarm without
    a leader."""
    def info(host):
        return hostvars[host].get("swarm_info") or {}

    node_ids = {n.get("id") for n in (info(primary).get("swarm") or {}).get("nodes", [])} if primary else set()
    return [h for h in hosts or [] if info(h).get("quorum") is False
            and (not node_ids or (info(h).get("local") or {}).get("node_id") in node_ids)]


def swarmctl_swarm_copies(hosts, hostvars):
    """The swarms the hosts' engines describe (their swarm_info results), one entry per swarm id and leader: two
    entries with one id are two copies of a swarm, each with a leader of its own - a swarm rebuilt by a recover,
    and the stale copy its lost managers hold when they come back."""
    copies = {}
    for host in hosts or []:
        swarm = (hostvars[host].get("swarm_info") or {}).get("swarm")
        if not swarm:
            continue
        leader = next((n for n in swarm.get("nodes", []) if n.get("leader")), {})
        copy = copies.setdefault((swarm["id"], leader.get("id", "")), {
            "id": swarm["id"], "leader": leader.get("hostname", ""), "recovered": swarm.get("recovered") or "",
            "hosts": []})
        copy["hosts"].append(host)
    return list(copies.values())


def swarmctl_split_problem(copies):
    """Why swarmctl cannot tell which copy of a swarm is current (empty when it can: one copy, or one rebuilt more
    recently than every other by `swarmctl recover`)."""
    by_id = {}
    for copy in copies or []:
        by_id.setdefault(copy["id"], []).append(copy)
    for same in by_id.values():
        if len(same) < 2:
            continue
        newest = max(c["recovered"] for c in same)
        if newest and sum(c["recovered"] == newest for c in same) == 1:
            continue
        described = "; ".join(f"{', '.join(c['hosts'])} see a swarm led by {c['leader'] or 'nobody'}"
                              f"{' (rebuilt ' + c['recovered'] + ')' if c['recovered'] else ''}" for c in same)
        return (f"swarm {same[0]['id']} exists twice, each copy with a leader of its own: {described}. This happens "
                "when a swarm rebuilt from one manager (docker swarm init --force-new-cluster) meets the managers it "
                "was rebuilt without, and swarmctl cannot tell which copy is current. Nothing was changed. Decide "
                "which copy to keep; on every host of the other run `docker swarm leave --force`; then run again.")
    return ""


def swarmctl_node_refs(nodes):
    """Node summaries (as swarmctl_swarm_info returns them) as swarmctl_node takes them: node_id, and the host name."""
    return [{"node_id": n["id"], "host": n.get("hostname") or n["id"]} for n in nodes or []]


def swarmctl_not_members(hosts, hostvars, swarm):
    """The hosts whose engines (their swarm_info results) are not in `swarm` (a manager's swarm_info.swarm)."""
    swarm = swarm or {}
    node_ids = [n["id"] for n in swarm.get("nodes", [])]
    out = []
    for host in hosts or []:
        local = (hostvars[host].get("swarm_info") or {}).get("local")
        if local is None or membership(local, swarm.get("id"), node_ids) != "ours":
            out.append(host)
    return out


def swarmctl_node_entries(hosts, hostvars, managers):
    """What each host's node should look like, from its inventory settings and what this run learned:
    [{node_id, host, role, availability, labels}] for hosts with a node id."""
    entries = []
    for host in hosts or []:
        hv = hostvars[host]
        node_id = _current_node(hv)[0]
        if not node_id:
            continue
        entries.append({
            "node_id": node_id,
            "host": host,
            "role": "manager" if host in managers else "worker",
            "availability": hv.get("swarm_node_availability") or "active",
            "labels": dict(hv.get("swarm_node_labels") or {}),
        })
    return entries


def swarmctl_join_records(hosts, hostvars):
    """[{host, node_id, join_addr}] for the hosts that joined in this run: the manager each joined through,
    which swarmctl_node records (the reconciler avoids promoting a worker whose join manager is gone)."""
    records = []
    for host in hosts or []:
        node_id, join_addr, dummy = _current_node(hostvars[host])
        if node_id and join_addr:
            records.append({"host": host, "node_id": node_id, "join_addr": join_addr})
    return records


def _current_node(hv) -> tuple[str, str, str]:
    """(node id, join address, node address) of a host's engine: from a join or init in this run, else as
    discovery read it."""
    node_id = join_addr = node_addr = ""
    for result in ("swarm_member", "swarm_worker_member", "swarm_primary_result"):
        answer = hv.get(result) or {}
        node_id = node_id or answer.get("node_id") or ""
        join_addr = join_addr or answer.get("join_addr") or ""
        node_addr = node_addr or answer.get("node_addr") or ""
    local = (hv.get("swarm_info") or {}).get("local") or {}
    return node_id or local.get("node_id") or "", join_addr, node_addr or local.get("node_addr") or ""


def _node_name(hv) -> str:
    """The name a host's engine gives its swarm node: its node name (uname -n), as the host check reads it; the
    short host name from facts cached before it read node names."""
    facts = hv.get("ansible_facts") or {}
    return facts.get("nodename") or facts.get("hostname") or ""


def swarmctl_node_names(hosts, hostvars):
    """The name each host's engine gives its swarm node, in the hosts' order."""
    return [_node_name(hostvars[host]) for host in hosts or []]


def swarmctl_left_behind(hosts, hostvars, nodes):
    """Worker entries of the node list that hosts left behind by leaving and joining again (by hand, or with
    swarm_force_rejoin): down, with the host name and address of a host whose engine is now another node.
    Swarm keeps such an entry forever, and it makes the host's name ambiguous. [{node_id, host}] to remove."""
    current = {}
    for host in hosts or []:
        hv = hostvars[host]
        node_id, dummy, node_addr = _current_node(hv)
        name = _node_name(hv)
        if node_id and node_addr and name:
            current[host] = (node_id, name, node_addr)
    live_ids = {node_id for node_id, dummy, dummy in current.values()}
    out = []
    for host, (node_id, name, node_addr) in current.items():
        for node in nodes or []:
            if (node.get("role") == "worker" and node.get("state") == "down" and node["id"] not in live_ids
                    and node.get("hostname") == name and node.get("addr") == node_addr):
                out.append({"node_id": node["id"], "host": f"{host}'s old node {node['id'][:12]}"})
    return out


def swarmctl_nodes_named(hosts, hostvars, nodes):
    """[{node_id, host}] for inventory hosts: by the node id their engine gave (swarm_info), or, for a host that
    did not answer, by its host name in a manager's node list. A host found neither way is left out."""
    by_name = {n["hostname"]: n["id"] for n in nodes or []}
    found = []
    for host in hosts or []:
        hv = hostvars[host] if host in hostvars else {}
        node_id = ((hv.get("swarm_info") or {}).get("local") or {}).get("node_id") or ""
        name = _node_name(hv) or host
        node_id = node_id or by_name.get(name) or by_name.get(host) or ""
        if node_id:
            found.append({"node_id": node_id, "host": host})
    return found


def swarmctl_node_changes(wanted, nodes, exclusive=False):
    """The entries of `wanted` whose node differs from it in `nodes` (a manager's node list)."""
    by_id = {n["id"]: n for n in nodes or []}
    out = []
    for entry in wanted or []:
        # A node that joined in this run is not in the list read before: it joined with its wanted role,
        # available, without labels.
        current = by_id.get(entry.get("node_id")) or {"role": entry.get("role"), "availability": "active", "labels": {}}
        if plan_node_changes(current, entry, exclusive):
            out.append(entry)
    return out


def swarmctl_host_ports(ports):
    """[8080, 8081] -> host-mode published ports, as swarmctl_service's `publish` takes them."""
    return [{"published": int(p), "target": int(p), "mode": "host"} for p in ports or []]


def swarmctl_join_addrs(addrs, managers, hostvars, port=2377):
    """The managers a worker may join through: those read before the joins, plus the managers that joined in
    this run (their results carry their addresses)."""
    out = list(addrs or [])
    for host in managers or []:
        member = hostvars[host].get("swarm_member") or {}
        if member.get("action") in ("joined", "rejoined") and member.get("node_addr"):
            addr = f"{member['node_addr']}:{port}"
            if addr not in out:
                out.append(addr)
    return out


def swarmctl_rotate(items, index):
    """items rotated left by index (a different first join address per host)."""
    items = list(items or [])
    if not items:
        return items
    k = int(index) % len(items)
    return items[k:] + items[:k]


def swarmctl_read_files(paths, dest_dir):
    """Files on the control machine -> [{path: dest_dir/<name>, content}] for swarmctl_daemon."""
    out = []
    for path in sorted(paths or []):
        with open(path, encoding="utf-8") as handle:
            out.append({"path": f"{dest_dir}/{os.path.basename(path)}", "content": handle.read(), "mode": "0644"})
    return out


def swarmctl_deploy_waves(services, only=None):
    """The services' names in waves, lowest deploy_order first (0 when not given): the services of one wave are
    rolled out side by side, a wave after the one before has converged. only: the names to keep (all if empty)."""
    chosen = [s for s in services or [] if not only or s.get("name") in only]
    orders = sorted({int(s.get("deploy_order", 0)) for s in chosen})
    return [[s["name"] for s in chosen if int(s.get("deploy_order", 0)) == order] for order in orders]


def swarmctl_package_plan(hostvars, hosts, source="cluster", bundle_dir=""):
    """Which hosts install from a package bundle, decided once for a play from what preflight found on each:
    {hosts: {host: platform} for those lacking packages, builders: {platform: the first such host, which
    downloads it (source cluster)}, absent: [platforms with no bundle in bundle_dir (what source bundle needs)]}.
    A host preflight did not look at is left to its own mirror."""
    lacking = {}
    for host in hosts:
        found = hostvars[host].get("swarm_info") or {}  # preflight's host check
        if found.get("missing_packages"):
            lacking[host] = found.get("platform", "unknown")
    builders = {}
    for host, platform in lacking.items():
        builders.setdefault(platform, host)
    absent = [] if source != "bundle" else sorted(
        platform for platform in builders if not os.path.isfile(os.path.join(bundle_dir, f"{platform}.tar")))
    return {"hosts": lacking, "builders": builders, "absent": absent}


def swarmctl_own_engines(hostvars, hosts):
    """{host: package} of the hosts whose Docker engine is their own (docker-ce, a binary), as the engine step
    registered it (docker_engine_state.engine_package)."""
    found = {}
    for host in hosts:
        package = (hostvars[host].get("docker_engine_state") or {}).get("engine_package") or ""
        if own_engine(package):
            found[host] = package
    return found


def swarmctl_bundle_versions(bundle_dir, platform):
    """{package: version} of the package bundle for platform in bundle_dir (on the control machine), or None
    when there is none: the versions an offline host can upgrade to."""
    manifest = read_manifest(os.path.join(str(bundle_dir), f"{platform}.tar"))
    if manifest is None or manifest.get("platform") != platform:
        return None
    return manifest_versions(manifest)


def swarmctl_object_refs(secrets, configs):
    """[{kind, name, state}] for swarmctl_secrets and swarmctl_configs: what a loop over them shows (never a
    value)."""
    return [{"kind": kind, "name": o.get("name"), "state": o.get("state", "present")}
            for kind, items in (("secret", secrets), ("config", configs)) for o in items or []]


def _object_path(item, base_dir):
    path = os.path.expanduser(str(item["file"]))
    return path if os.path.isabs(path) else os.path.join(base_dir or ".", path)


def swarmctl_object_value(item, base_dir):
    """An item of swarmctl_secrets/swarmctl_configs -> its value: `value`, or the text of `file` (relative to
    base_dir, the inventory's folder), byte for byte."""
    if "value" in item:
        return item["value"]
    path = _object_path(item, base_dir)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError(f"{item.get('name')}: cannot read {path}: {exc}") from None


def _kind_of(value) -> str:
    # isinstance, not type names: Ansible hands templated values over as its own str and dict subclasses.
    for kind, types in (("text", str), ("yes/no", bool), ("a number", (int, float)), ("a mapping", dict),
                        ("a list", list)):
        if isinstance(value, types):
            return kind
    return "null" if value is None else "something else"


def _shaped(items, shape):
    """Each mapping of a list through shape (given a copy); anything else as it is, for the check to name."""
    if not isinstance(items, list):
        return items
    return [shape(dict(item)) if isinstance(item, dict) else item for item in items]


def swarmctl_object_shapes(items, base_dir):
    """swarmctl_secrets/swarmctl_configs for the inventory check, without their values: a `value` becomes the
    kind of value it is (text, a number, ...), a `file` its path resolved against base_dir (the inventory's folder)."""
    def shape(item):
        if "value" in item:
            item["value"] = {"type": _kind_of(item["value"]), "empty": item["value"] in ("", None)}
        if isinstance(item.get("file"), str):
            item["file"] = _object_path(item, base_dir)
        return item
    return _shaped(items, shape)


def swarmctl_object_versions(results):
    """The registered loop of swarmctl_swarm_object -> {'secret': {family: version}, 'config': {...}}."""
    versions = {"secret": {}, "config": {}}
    for result in results or []:
        item = result.get("item") or {}
        if result.get("version"):
            versions[item["kind"]][item["name"]] = result["version"]
    return versions


def swarmctl_point_at_versions(refs, kind, versions, pending=False):
    """A service's secret or config references, with each family swarmctl keeps replaced by its version."""
    return point_at_versions(refs, kind, versions or {}, bool(pending))


def swarmctl_stack_shapes(items, base_dir):
    """swarmctl_stacks for the inventory check: each compose path made absolute (against base_dir, the inventory's
    folder) and env reduced to its variables' names (its values may be secrets)."""
    def shape(item):
        if isinstance(item.get("compose"), str):
            item["compose"] = _object_path({"file": item["compose"]}, base_dir)
        if isinstance(item.get("env"), dict):
            item["env"] = {key: "(hidden)" for key in item["env"]}
        return item
    return _shaped(items, shape)


def swarmctl_compose_files(compose_path):
    """The files a compose file's configs and secrets name (`file:`, relative to its folder) -> {path: content},
    read on the control machine so that the deploy on the manager finds them beside the compose file."""
    import yaml
    from ansible.errors import AnsibleFilterError

    folder = os.path.dirname(os.path.abspath(compose_path))
    try:
        with open(compose_path, encoding="utf-8") as handle:
            compose = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleFilterError(f"cannot read the compose file {compose_path}: {exc}") from None
    found = {}
    for kind in ("configs", "secrets"):
        for name, entry in ((compose.get(kind) or {}) if isinstance(compose, dict) else {}).items():
            rel = (entry or {}).get("file") if isinstance(entry, dict) else None
            if not rel:
                continue
            path = os.path.normpath(os.path.join(folder, rel))
            if os.path.isabs(rel) or not path.startswith(folder + os.sep):
                raise AnsibleFilterError(f"{compose_path}: {kind[:-1]} {name!r} names {rel!r}; give a path inside "
                                         "the compose file's folder, relative to it")
            try:
                with open(path, encoding="utf-8", newline="") as handle:
                    found[os.path.relpath(path, folder)] = handle.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise AnsibleFilterError(f"{compose_path}: {kind[:-1]} {name!r}: cannot read {path}: {exc}") from None
    return found


def swarmctl_stack_for_lb(compose, stack, lb_mode, network):
    """A stack's compose file as swarmctl deploys it: where HAProxy balances (lb_mode haproxy), its ingress
    ports taken off and its services put behind HAProxy on `network` (plugin_utils/swarmctl_stack_lb.py)."""
    from ansible.errors import AnsibleFilterError

    if lb_mode != "haproxy":
        return compose
    try:
        return behind_haproxy(compose, stack, network)[0]
    except StackLBError as exc:
        raise AnsibleFilterError(str(exc)) from None


def swarmctl_stack_exposures(stacks, base_dir, network):
    """The ports the stacks' compose files publish, as HAProxy fronts them: [{name: STACK_SERVICE, expose:
    {port, target}}], the shape of an exposed item of swarmctl_services."""
    import yaml
    from ansible.errors import AnsibleFilterError

    exposed = []
    for stack in stacks or []:
        path = _object_path({"file": stack["compose"]}, base_dir)
        try:
            with open(path, encoding="utf-8") as handle:
                compose = yaml.safe_load(handle)
            exposed += behind_haproxy(compose, stack["name"], network)[1]
        except (OSError, yaml.YAMLError, StackLBError) as exc:
            raise AnsibleFilterError(f"stack {stack['name']}: {exc}") from None
    return exposed


class FilterModule:
    def filters(self):
        return {
            "swarmctl_membership": swarmctl_membership,
            "swarmctl_membership_problem": swarmctl_membership_problem,
            "swarmctl_membership_problems": swarmctl_membership_problems,
            "swarmctl_not_members": swarmctl_not_members,
            "swarmctl_newest_swarm_first": swarmctl_newest_swarm_first,
            "swarmctl_swarm_copies": swarmctl_swarm_copies,
            "swarmctl_leaderless": swarmctl_leaderless,
            "swarmctl_split_problem": swarmctl_split_problem,
            "swarmctl_node_refs": swarmctl_node_refs,
            "swarmctl_node_entries": swarmctl_node_entries,
            "swarmctl_node_changes": swarmctl_node_changes,
            "swarmctl_join_records": swarmctl_join_records,
            "swarmctl_left_behind": swarmctl_left_behind,
            "swarmctl_node_names": swarmctl_node_names,
            "swarmctl_nodes_named": swarmctl_nodes_named,
            "swarmctl_host_ports": swarmctl_host_ports,
            "swarmctl_rotate": swarmctl_rotate,
            "swarmctl_join_addrs": swarmctl_join_addrs,
            "swarmctl_read_files": swarmctl_read_files,
            "swarmctl_object_refs": swarmctl_object_refs,
            "swarmctl_package_plan": swarmctl_package_plan,
            "swarmctl_bundle_versions": swarmctl_bundle_versions,
            "swarmctl_own_engines": swarmctl_own_engines,
            "swarmctl_deploy_waves": swarmctl_deploy_waves,
            "swarmctl_object_value": swarmctl_object_value,
            "swarmctl_object_shapes": swarmctl_object_shapes,
            "swarmctl_object_versions": swarmctl_object_versions,
            "swarmctl_point_at_versions": swarmctl_point_at_versions,
            "swarmctl_compose_files": swarmctl_compose_files,
            "swarmctl_stack_shapes": swarmctl_stack_shapes,
            "swarmctl_stack_for_lb": swarmctl_stack_for_lb,
            "swarmctl_stack_exposures": swarmctl_stack_exposures,
        }

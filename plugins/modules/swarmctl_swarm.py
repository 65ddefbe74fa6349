#!/usr/bin/python
# swarmctl: a host's membership of the swarm - init, join, leave, unlock.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_swarm
short_description: Keep a host in the swarm - initialize it, join it through any live manager, leave it, unlock it
description:
  - With O(state=present), makes the host a member of the swarm - initializes a new swarm when O(init) is true
    and the host is in none, otherwise joins through O(remote_addrs) (any live managers) with O(join_token).
  - A host already in this swarm is left as it is (role changes are done from a manager by M(swarmctl.swarm.swarmctl_node), in an
    order that keeps quorum). This swarm is O(cluster_id) for a manager; a worker cannot see the cluster id, so it
    belongs to this swarm when its node id is among O(swarm_node_ids).
  - A host in another swarm, or half joined (an error state with no node id), makes the task fail with a message
    that says so and how to fix it, and is left as it was - unless O(force_rejoin) is true, when it leaves first.
  - A locked manager (autolock, after its engine restarted) is unlocked with O(unlock_key).
  - On the host that initializes or leads (O(init=true)), O(autolock) and O(rotate_tokens) are applied to the swarm.
  - With O(state=absent), the host leaves its swarm.
  - With O(return_swarm), a manager also returns the swarm as it is after the run, with its join tokens - what
    the next joins need, without a second task to read them. swarmctl's action plugin for this module then hides
    the whole result from output and logs (as C(no_log) would), while failures stay readable. Otherwise join
    tokens are never returned; the unlock key never is (M(swarmctl.swarm.swarmctl_swarm_info) reads it), and neither is logged.
options:
  state:
    description: Whether the host is in the swarm.
    type: str
    choices: [present, absent]
    default: present
  init:
    description: This host may initialize the swarm (the first manager), and applies swarm-wide settings.
    type: bool
    default: false
  role:
    description: Role to join with.
    type: str
    choices: [manager, worker]
    default: worker
  remote_addrs:
    description: Addresses (host or host:port) of live managers to join through; any of them will do.
    type: list
    elements: str
    default: []
  join_token:
    description: Join token for O(role).
    type: str
  cluster_id:
    description: Id of this swarm (from a live manager). Empty when the swarm does not exist yet.
    type: str
    default: ""
  swarm_node_ids:
    description: Node ids of this swarm's nodes (from a live manager).
    type: list
    elements: str
    default: []
  advertise_addr:
    description: Address other nodes reach this one at.
    type: str
  listen_addr:
    description: Address the swarm control plane listens on.
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description: Address for data-plane (overlay) traffic, when it differs from O(advertise_addr).
    type: str
  default_addr_pool:
    description: Address pools for overlay networks (at initialization only).
    type: list
    elements: str
  subnet_size:
    description: Subnet size of each overlay network taken from O(default_addr_pool).
    type: int
  autolock:
    description: Lock managers' Raft keys at rest; an unlocked manager needs the unlock key after its engine restarts.
    type: bool
  unlock_key:
    description: Unlock key, to unlock this manager when it is locked.
    type: str
  rotate_tokens:
    description: Rotate the worker and manager join tokens (with O(init=true) only).
    type: bool
    default: false
  return_swarm:
    description:
      - On a manager, also return the swarm after the run (id, autolock, nodes) and its join tokens. In check mode,
        a swarm that would be initialized is not there to describe.
      - Not the unlock key - AnsibleModule masks the values of O(unlock_key) in every result.
    type: bool
    default: false
  force_new_cluster:
    description:
      - On a manager of a swarm that lost quorum (no leader), start a new Raft group of this manager alone from its
        own copy of the swarm's state - services, networks, secrets, configs and the node list are kept - as
        C(docker swarm init --force-new-cluster) does, and wait until it leads. The other managers stay in the node
        list, unreachable, for the caller to remove.
      - The rebuilt swarm is labelled C(io.swarmctl.recovered) (when, from which host), so that it is told from the
        stale copy its lost managers hold if they come back.
      - It then writes a Raft snapshot (its snapshot interval set to 1 for one write, then back), so that the
        managers joining next catch up from that snapshot rather than from a long log.
      - A swarm that has a leader is left as it is - unless its node list still shows a majority of its managers
        unreachable (a cluster forced before whose lost managers were not yet removed) - that one is only labelled.
      - The manager keeps the address its Raft state records for it, whatever O(advertise_addr) says, so a state
        restored on another host must be on a host at the same address.
      - Used by C(swarmctl recover) and C(swarmctl restore).
    type: bool
    default: false
  force_rejoin:
    description: Leave another swarm, or a half-joined state, before joining this one.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), leave even as a manager (the caller accepts the risk to quorum).
      - Without it, a manager leaves only once it has been demoted; one whose demotion was just made by another
        manager is waited on (up to O(timeout) seconds) until its engine is out of the Raft group.
    type: bool
    default: false
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: A host already in this swarm is not touched.
    support: full
requirements:
  - A Docker engine on the host, asked over its socket (no Docker SDK needed)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Initialize the swarm on the first manager
  swarmctl.swarm.swarmctl_swarm:
    init: true
    advertise_addr: 172.25.78.12

- name: Initialize the swarm, and return the join tokens for the next joins (the result is hidden)
  swarmctl.swarm.swarmctl_swarm:
    init: true
    advertise_addr: 172.25.78.12
    return_swarm: true
  register: first_manager

- name: Join a worker through any live manager
  swarmctl.swarm.swarmctl_swarm:
    role: worker
    remote_addrs: [172.25.78.12, 172.25.78.13]
    join_token: "{{ first_manager.tokens.worker }}"
    cluster_id: "{{ first_manager.swarm.id }}"
    swarm_node_ids: "{{ first_manager.swarm.nodes | map(attribute='id') }}"
    advertise_addr: 172.25.78.14
"""

RETURN = r"""
action:
  description: What was done - none, initialized, joined, left, unlocked, rejoined, updated, forced_new_cluster, or
    marked_recovered (a cluster forced before, its lost managers still listed, marked as the newest copy).
  returned: always
  type: str
node_id:
  description: The node's id in the swarm after the run.
  returned: always
  type: str
cluster_id:
  description: The swarm's id, on a manager.
  returned: always
  type: str
membership:
  description: Where the host stood before the run - none, ours, other, stale (a manager the swarm was rebuilt without), broken, locked.
  returned: always
  type: str
join_addr:
  description: The manager the engine joined through (the first of O(remote_addrs)); it dials it again if promoted.
  returned: when it joined
  type: str
node_addr:
  description: The address the node uses in the swarm.
  returned: always
  type: str
swarm:
  description: The swarm after the run - id, autolock, and its nodes (as M(swarmctl.swarm.swarmctl_swarm_info) returns them).
  returned: with O(return_swarm), on a manager
  type: dict
tokens:
  description: The worker and manager join tokens (the result is then hidden from output).
  returned: with O(return_swarm), on a manager
  type: dict
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    RECOVERED_LABEL,
    describe_swarm,
    has_quorum,
    leaderless,
    list_nodes,
    local_state,
    membership,
    membership_problem,
    set_swarm_labels,
    take_raft_snapshot,
    wait_for,
)


# Module level: swarmctl's action plugin validates arguments against it on the control machine.
ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    init=dict(type="bool", default=False),
    role=dict(type="str", choices=["manager", "worker"], default="worker"),
    remote_addrs=dict(type="list", elements="str", default=[]),
    join_token=dict(type="str", no_log=True),
    cluster_id=dict(type="str", default=""),
    swarm_node_ids=dict(type="list", elements="str", default=[]),
    advertise_addr=dict(type="str"),
    listen_addr=dict(type="str", default="0.0.0.0:2377"),
    data_path_addr=dict(type="str"),
    default_addr_pool=dict(type="list", elements="str"),
    subnet_size=dict(type="int"),
    autolock=dict(type="bool"),
    unlock_key=dict(type="str", no_log=True),
    rotate_tokens=dict(type="bool", default=False, no_log=False),
    return_swarm=dict(type="bool", default=False),
    force_new_cluster=dict(type="bool", default=False),
    force_rejoin=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    **DOCKER_COMMON_ARGS,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    client = engine_api(module)
    try:
        before = local_state(client)
        where = membership(before, p["cluster_id"] or (before["cluster_id"] if p["init"] else ""), p["swarm_node_ids"])
        if p["state"] == "absent":
            action = leave(module, client, before)
        else:
            action = present(module, client, before, where)
        after = before if module.check_mode else local_state(client)
        described = {}
        if p["return_swarm"] and after["state"] == "active" and after["is_manager"]:
            described = describe_swarm(client, tokens=True)
    except EngineAPIError as exc:
        module.fail_json(msg=f"swarm operation failed on this host: {exc.explanation}")
    except OSError as exc:
        module.fail_json(msg=f"the Docker engine at {module.params['docker_host']} did not answer: {exc}")
    result = dict(changed=action != "none", action=action, membership=where, node_id=after["node_id"],
                  cluster_id=after["cluster_id"])
    if action in ("joined", "rejoined"):
        result["join_addr"] = p["remote_addrs"][0]
    result["node_addr"] = after["node_addr"]
    result.update(described)
    if module._diff:
        result["diff"] = dict(before={"membership": where, "state": before["state"], "node_id": before["node_id"]},
                              after={"action": action, "state": after["state"] if not module.check_mode else "(predicted)"})
    module.exit_json(**result)


def leave(module, client, before):
    if before["state"] == "inactive":
        return "none"
    if before["is_manager"] and not module.params["force"]:
        if demoted(client, before["node_id"]) is False:
            module.fail_json(msg="this host is a manager; demote it first (swarmctl_node), or set force to leave anyway")
        # Demoted by a manager a moment ago: this engine learns it is a worker only once it is out of the Raft
        # group, and it refuses to leave as a manager until then.
        timeout = module.params["timeout"]
        if not module.check_mode and not wait_for(lambda: not local_state(client)["is_manager"], timeout, 0.5):
            module.fail_json(msg=f"this host was demoted, but its engine still acts as a manager after {timeout}s; "
                                 "check the managers' quorum (docker node ls), or set force to leave anyway")
    if not module.check_mode:
        leave_for_sure(client, force=module.params["force"] or before["state"] != "active")
    return "left"


LEAVE_ATTEMPTS = 3


def leave_for_sure(client, force):
    """Leave the swarm, and make sure it took. The engine gives its swarm node a few seconds to stop; on a busy
    host that can run out ("context deadline exceeded") with the node half stopped, and a second request then
    usually finishes the job (moby/moby#34140, #35337)."""
    for attempt in range(1, LEAVE_ATTEMPTS + 1):
        try:
            client.leave_swarm(force=force)
            return
        except EngineAPIError as exc:
            if "deadline" not in exc.explanation:
                raise
            if wait_for(lambda: local_state(client)["state"] == "inactive", 10, 1):
                return
            if attempt == LEAVE_ATTEMPTS:
                raise EngineAPIError(exc.status, f"{exc.explanation} ({LEAVE_ATTEMPTS} times): the engine could not stop its swarm "
                                     "node; restart it (systemctl restart docker) and run again") from exc


def demoted(client, node_id):
    """Whether this manager's own node is set to be a worker: True, False, or None when the engine cannot say
    (out of the Raft group already, its demotion taking, while it still calls itself a manager)."""
    try:
        return client.inspect_node(node_id).get("Spec", {}).get("Role") == "worker"
    except EngineAPIError:
        return None


def present(module, client, before, where):
    p = module.params
    if p["force_new_cluster"]:
        return force_new_cluster(module, client, before)
    if where == "locked":
        if not p["unlock_key"]:
            module.fail_json(msg="this manager is locked (autolock is on and its engine restarted); run again with the "
                                 "unlock key kept on the control machine (credentials/swarm-unlock-key)")
        if module.check_mode:
            return "unlocked"
        try:
            client.unlock_swarm(p["unlock_key"])
        except EngineAPIError as exc:
            module.fail_json(msg=f"the unlock key was refused: {exc.explanation}")
        return "unlocked"
    if where in ("other", "stale", "broken"):
        if not p["force_rejoin"]:
            module.fail_json(msg=membership_problem(before, where), membership=where)
        if not module.check_mode:
            leave_for_sure(client, force=True)
        joined = join_or_init(module, client)
        return "rejoined" if joined != "none" else "left"
    if where == "none":
        return join_or_init(module, client)
    if p["init"]:
        return update_swarm(module, client)
    return "none"


def force_new_cluster(module, client, before):
    p = module.params
    if before["state"] == "active" and before["is_manager"]:
        # An engine that just started on a restored state may still be electing: wait until it leads or says
        # there is no leader.
        def settled():
            local = local_state(client)
            if leaderless(local):
                return local
            try:
                client.inspect_swarm()
            except EngineAPIError:
                return None
            return local

        before = wait_for(settled, p["timeout"], 1.0) or local_state(client)
    if before["state"] == "active" and before["is_manager"] and not leaderless(before):
        managers = [n for n in list_nodes(client) if n["role"] == "manager"]
        if has_quorum(sum(n["reachability"] == "reachable" for n in managers), len(managers)):
            return "none"
        # Forced already (by a recover that did not finish, or by hand): its lost managers are still listed. Marked
        # anew, so this copy is the newest should a stale one come back.
        if not module.check_mode:
            mark_recovered(client)
            take_raft_snapshot(client)
        return "marked_recovered"
    if not leaderless(before):
        module.fail_json(msg=f"force_new_cluster needs a manager of a swarm that lost its leader; this host's engine "
                             f"reports state '{before['state']}'{' as a manager' if before['is_manager'] else ''}")
    if module.check_mode:
        return "forced_new_cluster"
    request = _without_none({"ListenAddr": p["listen_addr"], "AdvertiseAddr": p["advertise_addr"] or before["node_addr"],
                             "DataPathAddr": p["data_path_addr"], "ForceNewCluster": True})

    def leads():
        try:
            return bool(client.inspect_swarm().get("ID"))
        except EngineAPIError:
            return False

    def forced():
        # Seen here: a manager that lost its peers a few seconds before answered the request with "no leader"
        # after 20 s, and took the same request a moment later. Asked again until it leads or time is up.
        try:
            client.init_swarm(request)
        except EngineAPIError as exc:
            if leaderless(local_state(client)):
                time.sleep(1)
                return False
            # Seen in bench/failover.py: the new cluster started, and the engine's own update of its settings
            # after it timed out ("error updating cluster settings: ... DeadlineExceeded"). The swarm keeps the
            # settings it had, which is what a recovery wants: forced, once it leads.
            if SETTINGS_NOT_UPDATED in str(exc) and wait_for(leads, 15, 0.5):
                return True
            raise exc
        return True

    if not wait_for(forced, p["timeout"], 0.5) or not wait_for(leads, p["timeout"], 0.5):
        module.fail_json(msg=f"the new swarm was started here but does not answer after {p['timeout']}s: "
                             f"{local_state(client)['error'] or 'no error given'}; look at `docker info` on this host")
    mark_recovered(client)
    take_raft_snapshot(client)
    return "forced_new_cluster"


SETTINGS_NOT_UPDATED = "error updating cluster settings"


def mark_recovered(client, timeout: float = 15.0):
    """Label the swarm with when and where it was rebuilt, so that it is told from the stale copy its lost managers
    hold if they come back (the newest copy is the current one). A swarm just forced may time out a write or two:
    asked again until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            set_swarm_labels(client, {
                RECOVERED_LABEL: f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {socket.gethostname()}"})
            return
        except EngineAPIError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def join_or_init(module, client):
    p = module.params
    if p["init"] and not p["cluster_id"]:
        if not module.check_mode:
            spec = {}
            if p["autolock"] is not None:
                spec["EncryptionConfig"] = {"AutoLockManagers": p["autolock"]}
            client.init_swarm(_without_none({
                "ListenAddr": p["listen_addr"], "AdvertiseAddr": p["advertise_addr"], "DataPathAddr": p["data_path_addr"],
                "DefaultAddrPool": p["default_addr_pool"], "SubnetSize": p["subnet_size"], "ForceNewCluster": False,
                "Spec": spec,
            }))
        return "initialized"
    if not p["remote_addrs"] or not p["join_token"]:
        module.fail_json(msg="no live manager to join through: give remote_addrs and join_token")
    if not module.check_mode:
        try:
            client.join_swarm(_without_none({
                "RemoteAddrs": p["remote_addrs"], "JoinToken": p["join_token"], "ListenAddr": p["listen_addr"],
                "AdvertiseAddr": p["advertise_addr"], "DataPathAddr": p["data_path_addr"],
            }))
        except EngineAPIError as exc:
            # The engine gives a join 20 s and then goes on in the background: a manager catching up on a large
            # Raft state (a restored swarm), or several joining at once on a busy host, can take longer.
            if JOIN_GOES_ON not in exc.explanation:
                raise
        manager = p["role"] == "manager"
        if not wait_for(lambda: joined(client, manager), p["timeout"], 1.0):
            local = local_state(client)
            module.fail_json(msg=f"the join did not complete within {p['timeout']}s: the engine says "
                                 f"'{local['state']}'{' (' + local['error'] + ')' if local['error'] else ''}"
                                 f"{' and sees no leader' if manager and local['state'] == 'active' else ''}; check "
                                 "the managers (docker node ls) and run again", membership="broken")
    return "joined"


JOIN_GOES_ON = "Timeout was reached before node joined"


def joined(client, manager: bool) -> bool:
    """In the swarm; a manager also once the swarm has a leader again (a manager's join is a Raft change that
    needs the members to agree, and the next step - node settings, services - needs a leader)."""
    local = local_state(client)
    if local["state"] != "active":
        return False
    if not manager:
        return True
    if not local["is_manager"]:
        return False
    try:
        client.inspect_swarm()
    except EngineAPIError:
        return False
    return True


def _without_none(request):
    return {key: value for key, value in request.items() if value is not None}


def update_swarm(module, client):
    p = module.params
    swarm = client.inspect_swarm()
    spec = swarm["Spec"]
    current = bool(spec.get("EncryptionConfig", {}).get("AutoLockManagers"))
    change_lock = p["autolock"] is not None and p["autolock"] != current
    if not (change_lock or p["rotate_tokens"]):
        return "none"
    if not module.check_mode:
        # The API replaces the whole spec: start from the current one so nothing else is reset.
        if change_lock:
            spec = dict(spec, EncryptionConfig=dict(spec.get("EncryptionConfig") or {}, AutoLockManagers=p["autolock"]))
        client.update_swarm(swarm["Version"]["Index"], spec, rotate_worker_token=p["rotate_tokens"],
                            rotate_manager_token=p["rotate_tokens"])
    return "updated"


if __name__ == "__main__":
    main()

#!/usr/bin/python
# swarmctl: the swarm's nodes, as seen from a manager - role, availability, labels, removal.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_node
short_description: Keep swarm nodes' roles, availability and labels, in an order that never loses quorum; remove nodes
description:
  - Runs on a manager. For each of O(nodes), sets its role, availability and labels.
  - Promotions come first and each is checked - the promoted node must become a reachable manager within
    O(wait_timeout). A promotion that does not (a known Swarm trap, the node keeps dialling a manager that is
    gone) is reported in C(failed_promotions) for the caller to repair by making the node leave and join again
    as a manager.
  - Demotions come last, and only when the managers that remain reachable still form a majority of the managers
    that remain; the last manager is never demoted. Otherwise the task fails, with the reason, before it demotes
    anything. Each demotion is waited on (up to O(wait_timeout)) until the node is out of the managers' Raft
    group, so the next one is checked against managers that really remain and the node can leave.
  - With O(drain_wait), a node set to C(drain) is waited on until it runs no tasks and every replicated service
    runs all its replicas elsewhere (the latter unless O(drain_wait_services=false)).
  - With O(state=absent), removes the nodes from the swarm's node list - demoting a manager first under the same
    quorum rule, and waiting until the node is down (it left, or its host is gone) unless O(force). The quorum
    rule is checked for all the given nodes together before any of them changes. A manager outside the managers'
    Raft group (left out when a new cluster was forced) cannot be demoted and is removed as it is.
  - With O(join_addrs), records the manager each node joined through in the swarm's C(io.swarmctl.join-addrs)
    label, in one write for all of them; the reconciler reads it (a promoted node dials that manager again).
options:
  nodes:
    description: The nodes.
    type: list
    elements: dict
    default: []
    suboptions:
      node_id:
        description: Node id (a host learns its own with M(swarmctl.swarm.swarmctl_swarm_info)).
        type: str
        required: true
      host:
        description: Inventory name, for messages.
        type: str
      role:
        description: Wanted role.
        type: str
        choices: [manager, worker]
      availability:
        description: Wanted availability.
        type: str
        choices: [active, pause, drain]
      labels:
        description: Node labels to set.
        type: dict
      remove_labels:
        description: Names of node labels to take off.
        type: list
        elements: str
  join_addrs:
    description:
      - The manager address (host:port) each node joined through, by node id, merged into the swarm's
        C(io.swarmctl.join-addrs) label; entries of nodes no longer in the swarm are dropped at the same time.
      - With O(state=present) only.
    type: dict
    default: {}
  labels_exclusive:
    description: Remove labels not listed in C(labels).
    type: bool
    default: false
  state:
    description: C(present) keeps the nodes' settings; C(absent) removes them from the swarm.
    type: str
    choices: [present, absent]
    default: present
  drain_wait:
    description: After setting C(drain), wait until the node's tasks run elsewhere.
    type: bool
    default: true
  drain_wait_services:
    description:
      - With O(drain_wait), also wait until every replicated service runs all its replicas. Off where other nodes'
        tasks are being replaced at the same time (a swarm rebuilt after losing nodes) and only this node's own
        tasks matter.
    type: bool
    default: true
  wait_converged:
    description:
      - With O(state=present), once the nodes are set, wait (up to O(wait_timeout)) until every replicated service
        runs all its replicas - after a node comes back from a drain, before the next one goes.
    type: bool
    default: false
  force:
    description: With O(state=absent), remove a node that is still up.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for a promotion, a demotion, a drain, or a node to go down.
    type: int
    default: 120
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: Nodes already as wanted are not touched.
    support: full
requirements:
  - A Docker engine on a manager, asked over its socket (no Docker SDK needed)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: A manager that runs no tasks, and a labelled worker
  swarmctl.swarm.swarmctl_node:
    nodes:
      - {node_id: "{{ hostvars.base2.swarm_node_id }}", host: base2, role: manager, availability: drain}
      - {node_id: "{{ hostvars.base3.swarm_node_id }}", host: base3, role: worker, labels: {zone: a}}

- name: Record the manager two new nodes joined through
  swarmctl.swarm.swarmctl_node:
    join_addrs:
      "{{ hostvars.base3.swarm_node_id }}": 172.25.78.12:2377
      "{{ hostvars.base4.swarm_node_id }}": 172.25.78.13:2377
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
failed_promotions:
  description: Nodes (host, node_id) promoted that did not become reachable managers.
  returned: always
  type: list
  elements: dict
nodes:
  description: The swarm's nodes after the run.
  returned: always
  type: list
  elements: dict
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    join_addrs_of,
    list_nodes,
    local_state,
    plan_node_changes,
    record_join_addrs,
    removal_problem,
    running_tasks_on,
    unconverged_services,
    update_node,
    wait_for,
)


class Nodes:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.actions = []
        self.failed_promotions = []
        self.by_id = {}
        self.refresh()

    def refresh(self):
        self.by_id = {n["id"]: n for n in list_nodes(self.client)}
        return self.by_id

    def name(self, wanted):
        node = self.by_id.get(wanted["node_id"])
        return wanted.get("host") or (node["hostname"] if node else wanted["node_id"])

    def get(self, wanted):
        node = self.by_id.get(wanted["node_id"])
        if node is None:
            self.module.fail_json(msg=f"{self.name(wanted)} (node {wanted['node_id']}) is not in this swarm's node list")
        return node

    def change(self, wanted, changes, what):
        self.actions.append(f"{self.name(wanted)}: {what}")
        if not self.module.check_mode:
            update_node(self.client, wanted["node_id"], changes)
            self.refresh()

    def change_many(self, items):
        """Settings of several nodes (labels, active/pause) at once, a request per node: they are independent
        of each other. On the 5-node lab five updates take ~60 ms either way; it is for large swarms."""
        for wanted, dummy, what in items:
            self.actions.append(f"{self.name(wanted)}: {what}")
        if self.module.check_mode or not items:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            list(pool.map(lambda item: update_node(self.client, item[0]["node_id"], item[1]), items))
        self.refresh()

    def promote(self, wanted):
        self.change(wanted, {"role": "manager"}, "promoted to manager")
        if self.module.check_mode:
            return
        timeout = self.module.params["wait_timeout"]
        ok = wait_for(lambda: self.refresh()[wanted["node_id"]]["reachability"] == "reachable", timeout, 1.0)
        if not ok:
            self.failed_promotions.append({"host": wanted.get("host"), "node_id": wanted["node_id"]})
            self.actions.append(f"{self.name(wanted)}: did not become a reachable manager within {timeout}s")

    def demote(self, wanted, leaving=()):
        """leaving: the other nodes removed with this one (checked together already), left out of the count."""
        problem = removal_problem(list(self.by_id.values()), [wanted["node_id"], *leaving])
        if problem:
            self.module.fail_json(msg=f"refusing to demote {self.name(wanted)}: {problem}", actions=self.actions)
        if wanted["node_id"] == local_state(self.client)["node_id"]:
            self.module.fail_json(msg=f"{self.name(wanted)} is the manager this task runs on; run it on another manager "
                                      "to demote this one", actions=self.actions)
        self.change(wanted, {"role": "worker"}, "demoted to worker")
        if self.module.check_mode:
            return
        # The demotion has taken once the node is out of the Raft group (no manager status left); the next
        # demotion's quorum check, and the node leaving, need that.
        timeout = self.module.params["wait_timeout"]
        if not wait_for(lambda: not self.refresh()[wanted["node_id"]]["manager_addr"], timeout, 0.5):
            self.actions.append(f"{self.name(wanted)}: still in the managers' Raft group after {timeout}s")

    def wait_drained(self, wanted):
        if self.module.check_mode:
            return
        timeout = self.module.params["wait_timeout"]

        def drained():
            return not running_tasks_on(self.client, wanted["node_id"]) and (
                not self.module.params["drain_wait_services"] or not unconverged_services(self.client))

        if not wait_for(drained, timeout, 1.0):
            left = running_tasks_on(self.client, wanted["node_id"])
            self.module.fail_json(
                msg=f"{self.name(wanted)} still runs {len(left)} task(s), or services are short of replicas "
                    f"({', '.join(unconverged_services(self.client)) or 'none'}), after {timeout}s of draining; "
                    "the other nodes may lack room or match no placement constraint",
                actions=self.actions)
        self.actions.append(f"{self.name(wanted)}: its tasks run elsewhere")


def present(module, nodes):
    wanted_all = module.params["nodes"]
    plans = [(w, plan_node_changes(nodes.get(w), w, module.params["labels_exclusive"])) for w in wanted_all]
    for wanted, changes in plans:  # promotions first: more managers before any fewer
        if changes.get("role") == "manager":
            nodes.promote(wanted)
    settings, drains = [], []
    for wanted, changes in plans:
        rest = {k: v for k, v in changes.items() if k != "role"}
        if rest:
            what = "set " + ", ".join(f"{k} {v if k != 'labels' else sorted(v.items())}" for k, v in rest.items())
            draining = rest.get("availability") == "drain" and module.params["drain_wait"]
            (drains if draining else settings).append((wanted, rest, what))
    nodes.change_many(settings)
    for wanted, rest, what in drains:  # one at a time, each until its tasks run elsewhere
        nodes.change(wanted, rest, what)
        nodes.wait_drained(wanted)
    for wanted, changes in plans:  # demotions last, each checked against quorum at that moment
        if changes.get("role") == "worker":
            nodes.demote(wanted)
    if module.params["join_addrs"]:
        if record_join_addrs(nodes.client, module.params["join_addrs"], nodes.by_id, module.check_mode):
            nodes.actions.append(f"swarm: recorded the managers {len(module.params['join_addrs'])} node(s) joined through")


def wait_converged(module, nodes):
    """Waiting changes nothing: it is not an action."""
    timeout = module.params["wait_timeout"]
    if not wait_for(lambda: not unconverged_services(nodes.client), timeout, 1.0):
        module.fail_json(msg=f"services are short of replicas after {timeout}s: "
                             f"{', '.join(unconverged_services(nodes.client))}; the nodes may lack room or match no "
                             "placement constraint (docker service ps <name>)", actions=nodes.actions)


def absent(module, nodes):
    wanted_ids = [w["node_id"] for w in module.params["nodes"]]
    problem = removal_problem(list(nodes.by_id.values()), wanted_ids)
    if problem:
        names = ", ".join(nodes.name(w) for w in module.params["nodes"]
                          if nodes.by_id.get(w["node_id"], {}).get("role") == "manager")
        module.fail_json(msg=f"refusing to demote {names}: {problem}. Nothing was changed.", actions=nodes.actions)
    for wanted in module.params["nodes"]:
        node = nodes.by_id.get(wanted["node_id"])
        if node is None:
            continue
        if node["role"] == "manager":
            try:
                nodes.demote(wanted, [i for i in wanted_ids if i != wanted["node_id"]])
            except EngineAPIError as exc:
                # A manager left out of the Raft group (a new cluster was forced without it) cannot be demoted,
                # and need not be: the engine removes it as it is.
                if "raft memberlist" not in str(exc.explanation):
                    raise
                nodes.actions[-1] = f"{nodes.name(wanted)}: outside the managers' Raft group, so not demoted"
        if not module.check_mode and not module.params["force"]:
            down = wait_for(lambda: nodes.refresh()[wanted["node_id"]]["state"] == "down", module.params["wait_timeout"], 1.0)
            if not down:
                module.fail_json(msg=f"{nodes.name(wanted)} is still up; make it leave the swarm first "
                                     "(or remove it with force)", actions=nodes.actions)
        nodes.actions.append(f"{nodes.name(wanted)}: removed from the swarm")
        if not module.check_mode:
            nodes.client.remove_node(wanted["node_id"], force=True)
            nodes.refresh()


# Module level: swarmctl's action plugin validates arguments against it on the control machine.
ARGUMENT_SPEC = dict(
    nodes=dict(type="list", elements="dict", default=[], options=dict(
        node_id=dict(type="str", required=True),
        host=dict(type="str"),
        role=dict(type="str", choices=["manager", "worker"]),
        availability=dict(type="str", choices=["active", "pause", "drain"]),
        labels=dict(type="dict"),
        remove_labels=dict(type="list", elements="str"),
    )),
    join_addrs=dict(type="dict", default={}),
    labels_exclusive=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    drain_wait=dict(type="bool", default=True),
    drain_wait_services=dict(type="bool", default=True),
    wait_converged=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=120),
    **DOCKER_COMMON_ARGS,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = engine_api(module)
    try:
        if not local_state(client)["is_manager"]:
            module.fail_json(msg="swarmctl_node runs on a manager; this host is not one")
        nodes = Nodes(module, client)
        before = {n["id"]: {k: n[k] for k in ("role", "availability", "labels")} for n in nodes.by_id.values()}
        if module.params["join_addrs"]:
            before["join_addrs"] = join_addrs_of(client.inspect_swarm()["Spec"])
        if module.params["state"] == "present":
            present(module, nodes)
            if module.params["wait_converged"] and not module.check_mode:
                wait_converged(module, nodes)
        else:
            absent(module, nodes)
    except EngineAPIError as exc:
        module.fail_json(msg=f"node update failed: {exc.explanation}")
    except OSError as exc:
        module.fail_json(msg=f"the Docker engine at {module.params['docker_host']} did not answer: {exc}")
    result = dict(changed=bool(nodes.actions), actions=nodes.actions, failed_promotions=nodes.failed_promotions,
                  nodes=list(nodes.by_id.values()))
    if module._diff:
        after = {n["id"]: {k: n[k] for k in ("role", "availability", "labels")} for n in nodes.by_id.values()}
        if module.params["join_addrs"]:
            after["join_addrs"] = join_addrs_of(client.inspect_swarm()["Spec"])
        result["diff"] = dict(before=before, after=after if not module.check_mode else {"planned": nodes.actions})
    module.exit_json(**result)


if __name__ == "__main__":
    main()

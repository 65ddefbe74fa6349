#!/usr/bin/python
# swarmctl: the cluster at a glance, from a manager - nodes, services, the reconciler's last actions.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_status
short_description: Report the swarm's nodes, its services and the reconciler's recent actions
description:
  - Runs on a manager and only reads - nodes (role, availability, state, leader, reachability), services
    (replicas running and wanted, image, update state), and, where the swarmctl reconciler runs on this manager,
    its status (leader, last actions).
options:
  reconciler_url:
    description: The reconciler's status endpoint on this manager.
    type: str
    default: http://127.0.0.1:9610/status
  tasks:
    description: Also return the tasks the swarm wants running or that still run (what the dashboard draws).
    type: bool
    default: false
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Cluster status
  swarmctl.swarm.swarmctl_status:
  register: status
"""

RETURN = r"""
nodes:
  description: id, hostname, role, availability, state, addr, leader, reachability, labels, maintenance (the node
    is marked for maintenance; the reconciler leaves it alone).
  returned: always
  type: list
  elements: dict
services:
  description: name, mode, image, running, wanted, state (swarmctl's conclusion - converged, rolling out, paused,
    short of replicas), update_state and update_message (the engine's own), ports.
  returned: always
  type: list
  elements: dict
reconciler:
  description: The reconciler's own status (leader, dry_run, last actions), or an error when it does not answer.
  returned: always
  type: dict
tasks:
  description: id, service, slot, node_id, state, desired, image, updated, error of each task the swarm wants
    running or that still runs.
  returned: when O(tasks)
  type: list
  elements: dict
"""

import http.client
import json
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPI, EngineAPIError
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import MAINTENANCE_LABEL, local_state, summarize_node


def service_rows(api, nodes, services):
    ready = sum(1 for n in nodes if n["state"] == "ready" and n["availability"] == "active")
    tasks = api.tasks(filters={"desired-state": "running"})
    rows = []
    for svc in services:
        spec = svc["Spec"]
        image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
        mine = [t for t in tasks if t["ServiceID"] == svc["ID"]]
        running = sum(1 for t in mine if t.get("Status", {}).get("State") == "running")
        current = sum(1 for t in mine if t.get("Status", {}).get("State") == "running"
                      and t.get("Spec", {}).get("ContainerSpec", {}).get("Image") == image)
        mode = spec.get("Mode", {})
        wanted = mode["Replicated"].get("Replicas", 0) if "Replicated" in mode else ready
        update = svc.get("UpdateStatus") or {}
        ports = [f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('PublishMode', 'ingress')}"
                 for p in (spec.get("EndpointSpec") or {}).get("Ports") or []]
        rows.append({
            "name": spec["Name"],
            "mode": "replicated" if "Replicated" in mode else "global",
            "image": image.split("@")[0],
            "running": running,
            "wanted": wanted,
            "state": service_state(update.get("State", ""), running, current, wanted),
            "update_state": update.get("State", ""),
            "update_message": update.get("Message", ""),
            "ports": ports,
        })
    return sorted(rows, key=lambda r: r["name"])


def task_rows(api, services):
    """The tasks the swarm wants running, and those that still run though it no longer wants them (a rollout's
    old tasks), with their service's name."""
    names = {svc["ID"]: svc["Spec"]["Name"] for svc in services}
    rows = []
    for task in api.tasks():
        status = task.get("Status", {})
        if task.get("DesiredState") != "running" and status.get("State") not in ("running", "starting"):
            continue
        rows.append({
            "id": task["ID"],
            "service": names.get(task.get("ServiceID", ""), task.get("ServiceID", "")[:10]),
            "slot": task.get("Slot"),
            "node_id": task.get("NodeID", ""),
            "state": status.get("State", ""),
            "desired": task.get("DesiredState", ""),
            "image": task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "").split("@")[0],
            "updated": task.get("UpdatedAt", ""),
            "error": status.get("Err", ""),
        })
    return rows


def service_state(engine_state, running, current, wanted):
    """What swarmctl concludes of a service from its tasks, beside the engine's update state: converged once
    every wanted task runs the service's current spec (the engine may still say `updating` while it watches
    the last new tasks through the update's monitor window)."""
    if engine_state in ("paused", "rollback_paused"):
        return "paused"
    if current >= wanted and running >= wanted:
        return "converged"
    if engine_state in ("updating", "rollback_started"):
        return f"{'rolling back' if engine_state == 'rollback_started' else 'rolling out'} ({current}/{wanted} new)"
    return f"short of replicas ({running}/{wanted})"


def reconciler_status(url, timeout):
    """The reconciler's status page (plain HTTP on the manager itself), or an error that says why not."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            return {"error": f"no answer from {url}: HTTP {response.status} {response.reason}"}
        return json.loads(body.decode())
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return {"error": f"no answer from {url}: {exc}"}
    finally:
        connection.close()


# Module level: swarmctl's action plugin validates arguments against it on the control machine.
ARGUMENT_SPEC = dict(
    reconciler_url=dict(type="str", default="http://127.0.0.1:9610/status"),
    tasks=dict(type="bool", default=False),
    **DOCKER_COMMON_ARGS,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    url = module.params["docker_host"]
    api = EngineAPI(url, module.params["timeout"])
    try:
        local = local_state(api)
    except (EngineAPIError, OSError) as exc:
        module.fail_json(msg=f"no Docker engine answers at {url} ({exc}); is it installed and running? "
                             "(systemctl status docker)")
    if local["state"] == "locked":
        module.fail_json(msg="its engine is locked (autolock, after a restart): `swarmctl up` unlocks it with the key "
                             "kept on the control machine")
    if local["state"] != "active":
        module.fail_json(msg=f"not in a swarm (its engine says {local['state']}"
                             f"{': ' + local['error'] if local['error'] else ''}); form it with `swarmctl up`")
    if not local["is_manager"]:
        module.fail_json(msg="a worker, which cannot tell the swarm's state; only managers can")
    extra = {}
    try:
        nodes = [summarize_node(n) for n in api.nodes()]
        engine_services = api.services()
        services = service_rows(api, nodes, engine_services)
        if module.params["tasks"]:
            extra["tasks"] = task_rows(api, engine_services)
    except (EngineAPIError, OSError) as exc:
        module.fail_json(msg=f"a manager that cannot read the swarm ({exc}); the swarm may have lost its quorum: "
                             "see `swarmctl reconcile --once --dry-run`, and bring managers back")
    for node in nodes:
        node.pop("version", None)
        node["maintenance"] = node["labels"].get(MAINTENANCE_LABEL, "") not in ("", "false")
    module.exit_json(changed=False, nodes=sorted(nodes, key=lambda n: n["hostname"]), services=services,
                     reconciler=reconciler_status(module.params["reconciler_url"], 3), **extra)


if __name__ == "__main__":
    main()

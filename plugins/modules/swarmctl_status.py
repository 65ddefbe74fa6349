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
extends_documentation_fragment:
  - swarmctl_docker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: swarmctl developers
"""

EXAMPLES = r"""
- name: Cluster status
  swarmctl_status:
  register: status
"""

RETURN = r"""
nodes:
  description: id, hostname, role, availability, state, addr, leader, reachability, labels.
  returned: always
  type: list
  elements: dict
services:
  description: name, mode, image, running, wanted, update_state, update_message, ports.
  returned: always
  type: list
  elements: dict
reconciler:
  description: The reconciler's own status (leader, dry_run, last actions), or an error when it does not answer.
  returned: always
  type: dict
"""

import json
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible.module_utils.swarmctl_engine_api import EngineAPI, EngineAPIError
from ansible.module_utils.swarmctl_swarm import summarize_node


def service_rows(api, nodes):
    ready = sum(1 for n in nodes if n["state"] == "ready" and n["availability"] == "active")
    tasks = api.tasks(filters={"desired-state": "running"})
    rows = []
    for svc in api.services():
        spec = svc["Spec"]
        running = sum(1 for t in tasks if t["ServiceID"] == svc["ID"] and t.get("Status", {}).get("State") == "running")
        mode = spec.get("Mode", {})
        wanted = mode["Replicated"].get("Replicas", 0) if "Replicated" in mode else ready
        update = svc.get("UpdateStatus") or {}
        ports = [f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('PublishMode', 'ingress')}"
                 for p in (spec.get("EndpointSpec") or {}).get("Ports") or []]
        rows.append({
            "name": spec["Name"],
            "mode": "replicated" if "Replicated" in mode else "global",
            "image": spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
            "running": running,
            "wanted": wanted,
            "update_state": update.get("State", ""),
            "update_message": update.get("Message", ""),
            "ports": ports,
        })
    return sorted(rows, key=lambda r: r["name"])


def reconciler_status(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read().decode())
    except (OSError, ValueError) as exc:
        return {"error": f"no answer from {url}: {exc}"}


# Module level: swarmctl's action plugin validates arguments against it on the control machine.
ARGUMENT_SPEC = dict(
    reconciler_url=dict(type="str", default="http://127.0.0.1:9610/status"),
    **DOCKER_COMMON_ARGS,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    api = EngineAPI(module.params["docker_host"], module.params["timeout"])
    try:
        nodes = [summarize_node(n) for n in api.nodes()]
        services = service_rows(api, nodes)
    except (EngineAPIError, OSError) as exc:
        module.fail_json(msg=f"this host cannot tell the swarm's state (is it a manager, with quorum?): {exc}")
    for node in nodes:
        node.pop("version", None)
    module.exit_json(changed=False, nodes=sorted(nodes, key=lambda n: n["hostname"]), services=services,
                     reconciler=reconciler_status(module.params["reconciler_url"], 3))


if __name__ == "__main__":
    main()

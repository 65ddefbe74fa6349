#!/usr/bin/python
# swarmctl: what a host's engine knows about its swarm.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_swarm_info
short_description: Report a host's swarm membership and, on a manager, the swarm's nodes
description:
  - Returns the engine's own view - not in a swarm, active, pending, in an error state (half joined), or
    locked - with its node id, and whether it is a manager.
  - On a manager also returns the swarm's id and its nodes (role, availability, state, leader, reachability,
    labels), and on request the join tokens and the unlock key; swarmctl's action plugin for this module hides
    a result that carries them from output and logs (as C(no_log) would), while failures stay readable.
  - A manager whose swarm has no leader (quorum lost, or an election not over) reports RV(quorum=false) instead
    of the swarm, which no manager can describe then.
  - Changes nothing.
options:
  tokens:
    description: Also return the worker and manager join tokens (managers only).
    type: bool
    default: false
  unlock_key:
    description: Also return the swarm's unlock key, when autolock is on (managers only).
    type: bool
    default: false
  raft:
    description:
      - On a manager, also return how far its copy of the Raft log goes (see RV(raft)); what C(swarmctl recover)
        compares to rebuild a swarm from the most recent surviving manager.
    type: bool
    default: false
  export:
    description:
      - On a manager, also return a readable export of what the swarm runs (see RV(export)); what C(swarmctl backup)
        keeps next to the Raft state. Secrets' values are never readable through the engine; only their names are.
    type: bool
    default: false
  engine_missing_ok:
    description:
      - Where there is no engine yet (or it does not answer), report C(local.state=no-engine) instead of
        failing. Used by checks that run before the engine is installed.
    type: bool
    default: false
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
requirements:
  - A Docker engine on the host, asked over its socket (no Docker SDK needed)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Where does each host stand?
  swarmctl.swarm.swarmctl_swarm_info:
  register: swarm_local

- name: Join tokens from a live manager (the result is hidden from output)
  swarmctl.swarm.swarmctl_swarm_info:
    tokens: true
  register: swarm_tokens
"""

RETURN = r"""
local:
  description: The node's own view - state (inactive, pending, active, error, locked), node_id, node_addr,
    is_manager, error, remote_managers, cluster_id (managers only).
  returned: always
  type: dict
swarm:
  description: On a manager - id, autolock, and the nodes (id, hostname, role, availability, state, addr, leader,
    reachability, labels).
  returned: on a manager
  type: dict
quorum:
  description: Whether the swarm has a leader (false while quorum is lost or an election runs).
  returned: on a manager
  type: bool
raft:
  description: The manager's Raft state - path, snapshot_index (its newest snapshot), last_write (epoch seconds of
    the last append to its log).
  returned: when O(raft) on a manager
  type: dict
export:
  description: The swarm's spec (without join tokens), its services (spec, and the image each runs), swarm-scoped
    networks, configs (with their data), secrets (names and labels only) and nodes (hostname, role, availability,
    labels).
  returned: when O(export) on a manager of a swarm with a leader
  type: dict
tokens:
  description: Worker and manager join tokens.
  returned: when O(tokens) on a manager
  type: dict
unlock_key:
  description: The unlock key (empty when autolock is off).
  returned: when O(unlock_key) on a manager
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS, api_error_text
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import (
    describe_swarm,
    export_swarm,
    kernel_has_ipvs,
    leaderless,
    local_state,
    raft_state,
)


# Module level: swarmctl's action plugin validates arguments against it on the control machine.
ARGUMENT_SPEC = dict(tokens=dict(type="bool", default=False), unlock_key=dict(type="bool", default=False),
                     raft=dict(type="bool", default=False), export=dict(type="bool", default=False),
                     engine_missing_ok=dict(type="bool", default=False), **DOCKER_COMMON_ARGS)


# Passing states a manager's answer waits out: its engine started a moment ago (the control socket is not up
# yet), or the swarm is electing a leader (a manager restarted, say its own leader). Each lasts seconds.
PASSING = ("swarm/control.sock", "does not have a leader", "context deadline exceeded")
PASSING_WAIT = 20


def read(module, client) -> dict:
    result = dict(changed=False)
    local = local_state(client)
    local["ipvs"] = kernel_has_ipvs()
    result["local"] = local
    if local["state"] == "active" and local["is_manager"]:
        if module.params["raft"]:
            result["raft"] = raft_state(client)
        result["quorum"] = not leaderless(local)
        if result["quorum"]:
            result.update(describe_swarm(client, module.params["tokens"], module.params["unlock_key"]))
            if module.params["export"]:
                result["export"] = export_swarm(client)
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = engine_api(module, missing_ok=module.params["engine_missing_ok"])
    if client is None:
        module.exit_json(changed=False, local=dict(state="no-engine", node_id="", node_addr="", is_manager=False,
                                                   error="", remote_managers=[], cluster_id="", ipvs=kernel_has_ipvs()))
    deadline = time.monotonic() + PASSING_WAIT
    while True:
        try:
            result = read(module, client)
            break
        except EngineAPIError as exc:
            text = api_error_text(exc)
            if not any(state in text for state in PASSING) or time.monotonic() >= deadline:
                module.fail_json(msg=f"the engine could not tell its swarm state: {text}")
            time.sleep(1)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# The work is done by the action plugin of the same name, on the control machine; this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_recovery_plan
short_description: Decide how a swarm that lost quorum is rebuilt, from what its hosts' engines said
description:
  - Runs on the control machine, from the results of M(swarmctl.swarm.swarmctl_swarm_info) (with O(swarmctl.swarm.swarmctl_swarm_info#module:raft))
    registered on every host of the inventory under O(register). Contacts no host.
  - Picks the surviving manager to rebuild the swarm from - the one whose Raft log goes furthest (newest snapshot,
    then last write), and says why.
  - Refuses (a failure marked as bad input, so swarmctl exits with code 2) when quorum is not lost (a manager leads),
    when a majority of the managers answers (an election runs), when no manager survives, and when the survivors
    are not in one swarm; each message says what to do instead.
  - Given O(nodes) (the swarm's node list once the new cluster was forced), also returns the hosts that join
    again, one at a time - the other survivors, then workers the lost quorum broke (engine in error), then
    healthy workers in the inventory's order - as managers until the swarm has O(managers_wanted) (broken
    workers left over as workers), with the availability and labels to put back on their new nodes.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  hosts:
    description: The inventory's managers, then its workers (the order breaks ties).
    type: list
    elements: str
    required: true
  register:
    description: Name under which each host's M(swarmctl.swarm.swarmctl_swarm_info) result was registered.
    type: str
    default: recover_info
  managers_wanted:
    description: Managers the rebuilt swarm should have.
    type: int
    required: true
  nodes:
    description: The swarm's nodes (as M(swarmctl.swarm.swarmctl_swarm_info) returns them) after the new cluster was forced.
    type: list
    elements: dict
  plan:
    description: The plan an earlier call returned, to add the joiners to.
    type: dict
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Choose the manager to rebuild the swarm from
  swarmctl.swarm.swarmctl_recovery_plan:
    hosts: "{{ groups['managers'] + groups['workers'] }}"
    managers_wanted: 3
  run_once: true
  register: recovery
"""

RETURN = r"""
plan:
  description: The plan - chosen (host), why, node_addr (of the chosen manager), survivors, others (survivors that
    rejoin), lost_node_ids (managers gone), managers_before; and with O(nodes), joiners (host, node_id, addr,
    availability, labels, was - manager, worker or broken -, role).
  returned: success
  type: dict
"""

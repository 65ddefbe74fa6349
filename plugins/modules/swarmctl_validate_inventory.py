#!/usr/bin/python
# The work is done by the action plugin of the same name, on the control machine; this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_validate_inventory
short_description: Check that an inventory describes a swarm swarmctl can build
description:
  - Runs on the control machine before any host is contacted and fails with a message that says what is
    wrong and how to fix it.
  - "Errors: no host in C(managers); a host in both C(managers) and C(workers); no host, or more than one,
    in C(registry) while the registry is enabled; two hosts with one address; names that differ only in case;
    a swarm host reached over SSH at the control machine's own address (set C(ansible_connection=local) to make
    this machine a swarm host); an C(ansible_host) that is neither an IP nor a host name;
    a C(swarmctl_advertise_addr) that is not an IP address."
  - "Warnings: an even number of managers (it tolerates no more failures than one manager fewer:
    (N-1)/2 rounded down); no C(workers) group."
  - "Variables: O(variables) (services, registry name and ports, the reconciler's address, ...) and each swarm
    host's C(swarm_node_availability) and C(swarm_node_labels) are checked too: every item of C(swarmctl_services)
    against swarmctl_service's options (an unknown key, a wrong type, negative replicas, a bad image reference
    are errors)."
  - A failed check is marked C(swarmctl_bad_input), which C(swarmctl) reports with exit code 2.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  registry_enabled:
    description: Whether the inventory must name one registry host.
    type: bool
    default: true
  nodes:
    description: Hosts a membership job was given (add-node, remove-node); each must be a manager or worker of the
      inventory.
    type: list
    elements: str
  removing:
    description: The O(nodes) are to be removed; removing every manager is refused.
    type: bool
    default: false
  variables:
    description: Variables to check, by name; a value of null is not set (the role's default applies).
    type: dict
    default: {}
notes:
  - Never changes anything.
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Check the inventory
  swarmctl.swarm.swarmctl_validate_inventory:
    registry_enabled: "{{ swarmctl_registry_enabled }}"
"""

RETURN = r"""
report:
  description: What was found.
  returned: always
  type: dict
  contains:
    errors:
      description: Problems that stop the run.
      type: list
      elements: str
    warnings:
      description: Risks worth knowing.
      type: list
      elements: str
    managers:
      description: Manager hosts.
      type: list
      elements: str
    workers:
      description: Worker hosts.
      type: list
      elements: str
    registry:
      description: The registry host.
      type: list
      elements: str
    tolerance:
      description: Manager failures the swarm survives, (N-1)/2.
      type: int
"""

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
    a swarm host pointing at the control machine; an C(ansible_host) that is neither an IP nor a host name;
    a C(swarmctl_advertise_addr) that is not an IP address."
  - "Warnings: an even number of managers (it tolerates no more failures than one manager fewer:
    (N-1)/2 rounded down); no C(workers) group."
options:
  registry_enabled:
    description: Whether the inventory must name one registry host.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Never changes anything.
author: swarmctl developers
"""

EXAMPLES = r"""
- name: Check the inventory
  swarmctl_validate_inventory:
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

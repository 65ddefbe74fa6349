#!/usr/bin/python
# The work is done by the action plugin of the same name, on the control machine; this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_refuse
short_description: Refuse a request that does not fit the cluster's state, as bad input
description:
  - Fails with O(msg), like M(ansible.builtin.fail), but marks the failure as bad input, so that swarmctl exits with
    code 2 (bad usage or bad input) rather than 3 (a host failed). Use it with C(when) for a request the cluster's
    state rules out - a restore over a running swarm, say - after which nothing was changed.
  - Runs on the control machine; contacts no host.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  msg:
    description: What is wrong and what to do instead.
    type: str
    required: true
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Refuse to restore over a running swarm
  swarmctl.swarm.swarmctl_refuse:
    msg: base2 is in a swarm already; nothing was changed
  when: in_swarm | length > 0
  run_once: true
"""

RETURN = r"""
msg:
  description: The reason given.
  returned: always
  type: str
"""

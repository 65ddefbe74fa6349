#!/usr/bin/python
# swarmctl: a generated secret kept in a file on the control machine.
# The work is done on the control machine by the action plugin of the same name
# (plugins/action/swarmctl_secret.py, logic in plugins/plugin_utils/swarmctl_pki.py); this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_secret
short_description: Generate a random secret into a file (mode 0600) unless the file already holds one
description:
  - Makes O(path) with O(length) random letters and digits when it is missing or empty; an existing secret is
    kept. The secret is never returned or logged - read it where it is needed with the C(file) lookup.
  - In check mode nothing is written, and C(changed) says whether the secret would be made.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  path:
    description: File holding the secret. Its directory is made with mode 0700.
    type: path
    required: true
  length:
    description: Number of characters of a new secret.
    type: int
    default: 32
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Registry password, made once
  swarmctl.swarm.swarmctl_secret:
    path: "{{ swarmctl_credentials_dir }}/registry-password"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The file holding the secret.
  returned: always
  type: str
"""

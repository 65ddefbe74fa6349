#!/usr/bin/python
# swarmctl: read a certificate and say whether clients will accept it for the names they use.
# The work is done on the control machine by the action plugin of the same name
# (plugins/action/swarmctl_certificate_info.py, logic in plugins/plugin_utils/swarmctl_pki.py); this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_certificate_info
short_description: Tell whether a certificate will be accepted for the names and addresses clients use
description:
  - Reads a PEM certificate and reports its subject, subjectAltNames and expiry, and the problems a TLS
    client would have with it when it reaches the server as O(dns_names) or O(ip_addresses) - a missing
    subjectAltName (clients ignore the legacy common name), expiry, a CA that did not sign it.
  - Changes nothing. Used by the preflight role to stop a run before anything changes.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  path:
    description: The certificate (PEM).
    type: path
    required: true
  dns_names:
    description: DNS names clients use to reach the server.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP addresses clients use to reach the server.
    type: list
    elements: str
    default: []
  ca_cert:
    description: CA certificate that must have signed it.
    type: path
  min_days_left:
    description: Report a problem when the certificate expires within this many days.
    type: int
    default: 0
  fail_on_problems:
    description: Fail the task, with the problems as its message, when there are any.
    type: bool
    default: false
requirements:
  - cryptography >= 40 on the host the module runs on
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Check the registry certificate the operator supplied
  swarmctl.swarm.swarmctl_certificate_info:
    path: /srv/pki/registry.crt
    dns_names: [westos.org]
  delegate_to: localhost
  register: registry_cert
  failed_when: registry_cert.problems | length > 0
"""

RETURN = r"""
certificate:
  description: Subject, issuer, SANs, expiry, serial and fingerprint.
  returned: success
  type: dict
problems:
  description: What a client would refuse, one sentence each; empty when the certificate is fine.
  returned: success
  type: list
  elements: str
"""

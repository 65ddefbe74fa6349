#!/usr/bin/python
# swarmctl: the cluster's certificate authority, kept on the control machine.
# The work is done on the control machine by the action plugin of the same name
# (plugins/action/swarmctl_ca.py, logic in plugins/plugin_utils/swarmctl_pki.py); this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_ca
short_description: Keep a private certificate authority (key and self-signed certificate) in a directory
description:
  - Makes C(ca.key) (mode 0600) and C(ca.crt) in O(path). It runs on the control machine (an action
    plugin), so the CA key is never copied to a host.
  - The certificate is a CA (C(CA:TRUE), C(keyCertSign)). It is re-issued, with the same key, only when it
    is missing, does not match the key, is not a CA certificate, or expires within O(renew_before_days).
    Re-issuing with the same key and subject keeps every certificate it signed valid.
  - When the key is missing a new key and certificate are made; certificates signed by the old CA are then
    re-issued by M(swarmctl.swarm.swarmctl_certificate) because they are no longer signed by this CA.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
options:
  path:
    description: Directory holding C(ca.key) and C(ca.crt). Created with mode 0700.
    type: path
    required: true
  common_name:
    description: Subject common name of the CA.
    type: str
    default: swarmctl CA
  organization:
    description: Subject organization of the CA.
    type: str
  key_type:
    description: Key algorithm.
    type: str
    choices: [ec, rsa]
    default: ec
  key_size:
    description: RSA bits (default 4096), or EC curve size 256 or 384 (default 256).
    type: int
    default: 0
  valid_days:
    description: Lifetime of a newly issued CA certificate.
    type: int
    default: 3650
  renew_before_days:
    description: Re-issue when the certificate expires within this many days.
    type: int
    default: 90
attributes:
  idempotent:
    description: A second run with the same arguments changes nothing.
    support: full
requirements:
  - cryptography >= 40 on the host the module runs on (the control machine)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Keep the cluster CA on the control machine
  swarmctl.swarm.swarmctl_ca:
    path: "{{ swarmctl_pki_dir }}"
    common_name: swarmctl CA for westos.org
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
reasons:
  description: Why the CA was (or, in check mode, would be) made or re-issued; empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["the certificate expires in 20 day(s), within the renewal window of 90 day(s)"]
certificate:
  description: Subject, issuer, SANs, expiry, serial and SHA-256 fingerprint of the CA certificate.
  returned: always
  type: dict
cert_path:
  description: Path of C(ca.crt).
  returned: always
  type: str
key_path:
  description: Path of C(ca.key). The key itself is never returned.
  returned: always
  type: str
"""

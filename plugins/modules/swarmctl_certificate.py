#!/usr/bin/python
# swarmctl: a server certificate signed by the cluster CA.
# The work is done on the control machine by the action plugin of the same name
# (plugins/action/swarmctl_certificate.py, logic in plugins/plugin_utils/swarmctl_pki.py); this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_certificate
short_description: Keep a server certificate signed by the swarmctl CA, re-issued only when it must be
description:
  - Makes a private key (mode 0600) and a certificate signed by the CA in O(ca_path) (see M(swarmctl.swarm.swarmctl_ca)),
    with a subjectAltName for every DNS name and IP address the server is reached by.
  - "Re-issues the certificate (keeping its key) only when it is missing, does not match its key, was not
    signed by this CA, lacks a required subjectAltName, or expires within O(renew_before_days); otherwise
    nothing changes. The result says why it was (re)issued."
  - It runs on the control machine (an action plugin), where the CA key is; the leaf key and certificate are
    copied to the server afterwards.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
options:
  cert_path:
    description: Where the certificate (PEM) is kept.
    type: path
    required: true
  key_path:
    description: Where its private key (PEM, mode 0600) is kept. Made when missing.
    type: path
    required: true
  ca_path:
    description: Directory with the CA's C(ca.crt) and C(ca.key).
    type: path
    required: true
  common_name:
    description: Subject common name; clients check the subjectAltNames, not this.
    type: str
    required: true
  dns_names:
    description: DNS names the server is reached by.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP addresses the server is reached by.
    type: list
    elements: str
    default: []
  client_auth:
    description: Also allow the certificate for TLS client authentication.
    type: bool
    default: false
  key_type:
    description: Key algorithm for a new key.
    type: str
    choices: [ec, rsa]
    default: ec
  key_size:
    description: RSA bits (default 4096) or EC curve size (256 or 384, default 256) for a new key.
    type: int
    default: 0
  valid_days:
    description: Lifetime of a newly issued certificate (never beyond the CA's own expiry).
    type: int
    default: 365
  renew_before_days:
    description: Re-issue when the certificate expires within this many days.
    type: int
    default: 30
attributes:
  idempotent:
    description: A second run with the same arguments changes nothing.
    support: full
requirements:
  - cryptography >= 40 on the host the module runs on (the control machine)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Certificate of the registry, reached as westos.org and by its address
  swarmctl.swarm.swarmctl_certificate:
    cert_path: "{{ swarmctl_pki_dir }}/registry.crt"
    key_path: "{{ swarmctl_pki_dir }}/registry.key"
    ca_path: "{{ swarmctl_pki_dir }}"
    common_name: westos.org
    dns_names: [westos.org]
    ip_addresses: [172.25.254.78]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
reasons:
  description: Why the certificate was (or, in check mode, would be) issued; empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["the certificate lacks subjectAltName DNS:westos.org"]
certificate:
  description: Subject, issuer, SANs, expiry, serial and SHA-256 fingerprint of the certificate.
  returned: always
  type: dict
"""

#!/usr/bin/python
# swarmctl: the Docker engine on a host, from the distribution's packages.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_docker_engine
short_description: Keep the Docker engine installed from Debian/Ubuntu packages, configured, and running
description:
  - Writes C(/etc/docker/daemon.json) from O(daemon_config) (before a first install, so the engine's first
    start already uses it), installs the O(packages) that are missing with apt, and keeps the C(docker)
    unit enabled and active.
  - It does not restart a running engine itself when its configuration changed; it returns
    C(restart_needed) so the caller can restart engines one host at a time (a swarm must never lose all
    its managers at once).
  - One call does what would otherwise take several tasks per host, which keeps a no-change run fast.
options:
  packages:
    description: Debian packages that make up the engine and the Docker SDK the other modules use.
    type: list
    elements: str
    default: [docker.io, python3-docker]
  daemon_config:
    description: Content of C(daemon.json).
    type: dict
    default: {}
  tls:
    description:
      - The engine's own TCP endpoint, served with TLS and open only to clients with a certificate signed by
        O(tls.ca_cert) (C(tlsverify)). The certificates go to C(/etc/docker/tls) (the key 0600), C(daemon.json)
        gets the C(tls*) and C(hosts) keys, and a systemd drop-in takes C(-H fd://) off the unit's command
        line, because the engine refuses to start with C(hosts) in both places.
      - Omitted, the endpoint is closed again and those files removed.
    type: dict
    suboptions:
      port:
        description: TCP port of the endpoint.
        type: int
        default: 2376
      address:
        description: Address to listen on.
        type: str
        default: 0.0.0.0
      ca_cert:
        description: PEM of the CA whose certificates clients must present.
        type: str
        required: true
      cert:
        description: PEM of the engine's certificate (its host names and addresses as subjectAltNames).
        type: str
        required: true
      key:
        description: PEM of the engine certificate's private key. Never shown.
        type: str
        required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description: A second run changes nothing.
notes:
  - Debian and Ubuntu only (apt and dpkg); other systems get a clear failure.
author: swarmctl developers
"""

EXAMPLES = r"""
- name: Docker engine with log rotation
  swarmctl_docker_engine:
    daemon_config:
      log-driver: json-file
      log-opts: {max-size: 10m, max-file: "3"}
  register: engine

- name: Docker engine that also answers on tcp/2376, for clients with a certificate from the cluster CA
  swarmctl_docker_engine:
    tls:
      ca_cert: "{{ lookup('file', 'credentials/ca.crt') }}"
      cert: "{{ lookup('file', 'credentials/docker-tls/' ~ inventory_hostname ~ '.crt') }}"
      key: "{{ lookup('file', 'credentials/docker-tls/' ~ inventory_hostname ~ '.key') }}"
  register: engine

- name: Restart engines one at a time when their configuration changed
  ansible.builtin.systemd_service:
    name: docker
    state: restarted
  throttle: 1
  when: engine.restart_needed
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["wrote /etc/docker/daemon.json", "installed docker.io python3-docker", "started docker"]
restart_needed:
  description: The engine was running before and its configuration changed; restart it to apply.
  returned: always
  type: bool
installed:
  description: Packages that were (or would be) installed.
  returned: always
  type: list
  elements: str
"""

import json
import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.swarmctl_host import HostChanges

DAEMON_JSON = "/etc/docker/daemon.json"
TLS_DIR = "/etc/docker/tls"
# The packaged unit starts `dockerd -H fd://`; with `hosts` in daemon.json as well the engine refuses to
# start, so the endpoints move to daemon.json (fd:// kept, for socket activation) and the flag goes.
HOSTS_DROP_IN = "/etc/systemd/system/docker.service.d/swarmctl-hosts.conf"
HOSTS_DROP_IN_TEXT = """# Managed by swarmctl: the engine's endpoints are in /etc/docker/daemon.json (hosts).
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
"""


def tls_daemon_config(tls: dict) -> dict:
    """The daemon.json keys that open the TLS endpoint described by the module's tls option."""
    return {
        "hosts": ["fd://", f"tcp://{tls['address']}:{tls['port']}"],
        "tlsverify": True,
        "tlscacert": f"{TLS_DIR}/ca.pem",
        "tlscert": f"{TLS_DIR}/cert.pem",
        "tlskey": f"{TLS_DIR}/key.pem",
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=["docker.io", "python3-docker"]),
            daemon_config=dict(type="dict", default={}),
            tls=dict(type="dict", options=dict(
                port=dict(type="int", default=2376),
                address=dict(type="str", default="0.0.0.0"),
                ca_cert=dict(type="str", required=True),
                cert=dict(type="str", required=True),
                key=dict(type="str", required=True, no_log=True),
            )),
        ),
        supports_check_mode=True,
    )
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        module.fail_json(msg="this host has no apt-get/dpkg: swarmctl installs the Docker engine from Debian/Ubuntu "
                             "packages only. Install docker and python3-docker yourself, then run again.")
    changes = HostChanges(module)
    was_installed = os.path.exists("/usr/sbin/dockerd") or os.path.exists("/usr/bin/dockerd")

    tls = module.params["tls"]
    daemon_config = dict(module.params["daemon_config"])
    changes.directory("/etc/docker")
    if tls:
        daemon_config.update(tls_daemon_config(tls))
        changes.directory(TLS_DIR, mode=0o700)
        config_changed = any([
            changes.file(f"{TLS_DIR}/ca.pem", tls["ca_cert"].strip() + "\n"),
            changes.file(f"{TLS_DIR}/cert.pem", tls["cert"].strip() + "\n"),
            changes.file(f"{TLS_DIR}/key.pem", tls["key"].strip() + "\n", mode=0o600, secret=True),
        ])
        changes.directory(os.path.dirname(HOSTS_DROP_IN))
        unit_changed = changes.file(HOSTS_DROP_IN, HOSTS_DROP_IN_TEXT)
    else:
        config_changed = any([changes.absent(f"{TLS_DIR}/{name}") for name in ("ca.pem", "cert.pem", "key.pem")])
        unit_changed = changes.absent(HOSTS_DROP_IN)
    config_changed = changes.file(DAEMON_JSON, json.dumps(daemon_config, indent=2, sort_keys=True) + "\n") \
        or config_changed or unit_changed
    installed = changes.packages(module.params["packages"])
    engine_present = was_installed or not module.check_mode
    restart_needed = False
    if engine_present:
        active_before = was_installed and _active(module)
        changes.service("docker", daemon_reload=unit_changed)
        restart_needed = bool(config_changed and active_before)
    elif installed:
        changes.add("started docker")

    result = dict(changed=changes.changed, actions=changes.actions, restart_needed=restart_needed,
                  installed=installed)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


def _active(module):
    rc, out, _ = module.run_command(["systemctl", "is-active", "docker"])
    return out.strip() == "active"


if __name__ == "__main__":
    main()

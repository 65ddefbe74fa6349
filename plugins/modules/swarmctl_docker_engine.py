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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=["docker.io", "python3-docker"]),
            daemon_config=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        module.fail_json(msg="this host has no apt-get/dpkg: swarmctl installs the Docker engine from Debian/Ubuntu "
                             "packages only. Install docker and python3-docker yourself, then run again.")
    changes = HostChanges(module)
    was_installed = os.path.exists("/usr/sbin/dockerd") or os.path.exists("/usr/bin/dockerd")

    changes.directory("/etc/docker")
    config_changed = changes.file(DAEMON_JSON, json.dumps(module.params["daemon_config"], indent=2, sort_keys=True) + "\n")
    installed = changes.packages(module.params["packages"])
    engine_present = was_installed or not module.check_mode
    restart_needed = False
    if engine_present:
        active_before = was_installed and _active(module)
        changes.service("docker")
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

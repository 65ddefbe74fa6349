#!/usr/bin/python
# swarmctl: a program kept as files on a host and run by a systemd unit.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_daemon
short_description: Keep a program's files and its systemd unit, and keep it running; restart it when they change
description:
  - Writes O(files) and the unit file for O(name), reloads systemd when the unit changed, keeps the unit enabled
    and running, and restarts it when any of its files changed.
  - Before a restart, O(check_command) runs against the new files (e.g. the program's own configuration check);
    when it fails, the files are put back as they were and the task fails with its output, so a bad
    configuration never replaces a working one.
  - With O(state=absent), stops and disables the unit and removes its files.
  - One call per host for what would be a task per file.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
options:
  name:
    description: Unit name, without C(.service).
    type: str
    required: true
  unit:
    description: Content of C(/etc/systemd/system/<name>.service).
    type: str
  files:
    description: Files of the program - path, content, mode (default 0644).
    type: list
    elements: dict
    default: []
  check_command:
    description: Command (argv) that must succeed with the new files before the program is (re)started.
    type: list
    elements: str
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
attributes:
  idempotent:
    description: A second run changes nothing and restarts nothing.
    support: full
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: The reconciler on a manager
  swarmctl.swarm.swarmctl_daemon:
    name: swarmctl-reconciler
    unit: "{{ lookup('template', 'swarmctl-reconciler.service.j2') }}"
    files:
      - {path: /etc/swarmctl/reconciler.json, content: "{{ config | to_nice_json }}"}
    check_command: [/usr/bin/python3, -m, swarmctl_reconciler, --config, /etc/swarmctl/reconciler.json, --check-config]
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import HostChanges, systemctl


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            unit=dict(type="str"),
            files=dict(type="list", elements="dict", default=[]),
            check_command=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["unit"])],
        supports_check_mode=True,
    )
    p = module.params
    unit_path = f"/etc/systemd/system/{p['name']}.service"
    changes = HostChanges(module)

    if p["state"] == "absent":
        if os.path.exists(unit_path):
            changes.add(f"stopped and removed {p['name']}")
            if not module.check_mode:
                systemctl(module, "disable", "--now", p["name"], check=False)
                os.unlink(unit_path)
                systemctl(module, "daemon-reload")
        for item in p["files"]:
            if os.path.exists(item["path"]):
                changes.add(f"removed {item['path']}")
                if not module.check_mode:
                    os.unlink(item["path"])
        module.exit_json(changed=changes.changed, actions=changes.actions)

    previous = {}
    files_changed = False
    for item in p["files"]:
        path = item["path"]
        try:
            with open(path, "rb") as handle:
                previous[path] = handle.read()
        except FileNotFoundError:
            previous[path] = None
        mode = int(str(item.get("mode", "0644")), 8)
        files_changed |= changes.file(path, item["content"], mode=mode)

    if files_changed and p["check_command"] and not module.check_mode:
        rc, out, err = module.run_command(p["check_command"])
        if rc != 0:
            for path, data in previous.items():  # put the working files back
                if data is None:
                    os.unlink(path)
                else:
                    with open(path, "wb") as handle:
                        handle.write(data)
            module.fail_json(msg=f"{p['name']}: the new files do not pass `{' '.join(p['check_command'])}`, so they "
                                 f"were not kept: {(err or out).strip()}", actions=changes.actions)

    unit_changed = changes.file(unit_path, p["unit"])
    changes.service(p["name"], restart=files_changed or unit_changed, daemon_reload=unit_changed)
    result = dict(changed=changes.changed, actions=changes.actions)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()

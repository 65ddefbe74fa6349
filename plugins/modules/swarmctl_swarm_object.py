#!/usr/bin/python
# swarmctl: a swarm secret or config, one version per content, and the versions no service uses removed.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_swarm_object
short_description: Keep a swarm secret or config at a value, as a version named after its content
description:
  - Runs on a manager. Swarm secrets and configs cannot change, so each value is kept as its own version named
    C(NAME-DIGEST) (the digest of the value; keyed with O(digest_key), so that it says nothing about a secret's
    value). The version is made when missing; an existing one is left as it is. Services move to a new version
    in a rolling update (swarmctl_service, with the version's name), then O(prune) removes the older versions.
  - Versions carry the labels C(io.swarmctl.family=NAME), C(io.swarmctl.kind) and C(io.swarmctl.digest); only
    objects with the family label are ever removed, and only when no service refers to them.
  - With O(state=absent), every version of the family goes - refused, removing none, while a service still
    refers to one (take it out of the service's secrets or configs first).
  - The value is never returned or logged.
options:
  kind:
    description: A swarm secret or a swarm config.
    type: str
    required: true
    choices: [secret, config]
  name:
    description: The family's name; versions are named C(NAME-DIGEST), and a service that names the family gets
      the current version (see the services role).
    type: str
    required: true
  data:
    description: The value (text). Required with O(state=present).
    type: str
  digest_key:
    description: Key of the digest (HMAC-SHA256). Required for a secret with O(state=present); without it
      (configs) the digest is a plain SHA-256 of the content.
    type: str
  state:
    description:
      - C(present) keeps the version of O(data); C(absent) removes the family's every version (made by swarmctl,
        with its family label), once no service refers to any.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description: More labels for a new version.
    type: dict
    default: {}
  prune:
    description: Remove the family's other versions that no service refers to any more (after the services
      moved to the current one).
    type: bool
    default: false
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
requirements:
  - a Docker engine that is a manager of a swarm
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: The database password, as a swarm secret
  swarmctl.swarm.swarmctl_swarm_object:
    kind: secret
    name: db-password
    data: "{{ vault_db_password }}"
    digest_key: "{{ lookup('ansible.builtin.file', swarmctl_credentials_dir ~ '/swarm-object-key') }}"
  register: db_password

- name: A service reads it at /run/secrets/db-password
  swarmctl.swarm.swarmctl_service:
    name: api
    image: registry.example.com/api:v3
    secrets: [{name: "{{ db_password.version }}", target: db-password}]

- name: Then the older versions go
  swarmctl.swarm.swarmctl_swarm_object:
    kind: secret
    name: db-password
    data: "{{ vault_db_password }}"
    digest_key: "{{ lookup('ansible.builtin.file', swarmctl_credentials_dir ~ '/swarm-object-key') }}"
    prune: true

- name: A secret no service reads any more, taken out of the swarm (every version)
  swarmctl.swarm.swarmctl_swarm_object:
    kind: secret
    name: old-api-token
    state: absent
"""

RETURN = r"""
version:
  description: Name of the current version, C(NAME-DIGEST).
  returned: with O(state=present)
  type: str
id:
  description: Its id (empty in check mode when it would be made).
  returned: always
  type: str
created:
  description: Whether the current version was made by this run (or would be, in check mode).
  returned: always
  type: bool
removed:
  description: Versions removed (or that would be, in check mode) - the older ones with O(prune), every one with
    O(state=absent).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import (
    DIGEST_LABEL,
    FAMILY_LABEL,
    KIND_LABEL,
    digest,
    family_members,
    name_problem,
    stale_versions,
    users_of,
    versioned_name,
)

ARGUMENT_SPEC = dict(
    kind=dict(type="str", required=True, choices=["secret", "config"]),
    name=dict(type="str", required=True),
    data=dict(type="str", no_log=True),
    digest_key=dict(type="str", no_log=True),
    labels=dict(type="dict", default={}),
    prune=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    **DOCKER_COMMON_ARGS,
)
# As AnsibleModule takes them; the control machine checks them too where the module runs light.
ARGUMENT_RULES = dict(required_if=[("state", "present", ["data"])])


def keep_version(module, api, objects: list) -> dict:
    p = module.params
    version_digest = digest(p["kind"], p["data"], p["digest_key"])
    version = versioned_name(p["name"], version_digest)
    found = next((o for o in objects if o["Spec"]["Name"] == version), None)
    if found is not None:
        labels = found["Spec"].get("Labels") or {}
        if labels.get(FAMILY_LABEL) != p["name"] or labels.get(DIGEST_LABEL) != version_digest:
            module.fail_json(msg=f"{p['kind']} {version} exists but was not made by swarmctl for this value (its labels "
                                 f"{FAMILY_LABEL} and {DIGEST_LABEL} differ). Remove or rename it "
                                 f"(docker {p['kind']} rm {version}). Nothing was changed.")
        return dict(version=version, id=found["ID"], created=False)
    labels = dict(p["labels"], **{FAMILY_LABEL: p["name"], KIND_LABEL: p["kind"], DIGEST_LABEL: version_digest})
    made_id = ""
    if not module.check_mode:
        create = api.create_secret if p["kind"] == "secret" else api.create_config
        made_id = create(version, p["data"].encode(), labels=labels)["ID"]
    return dict(version=version, id=made_id, created=True)


def remove_family(module, api, objects: list) -> list:
    """Every version of the family, removed unless a service refers to one (then none is). Returns their names."""
    p = module.params
    members = family_members(objects, p["name"])
    users = users_of(api.services(), p["kind"], {m["ID"] for m in members})
    if users and not module.check_mode:
        module.fail_json(msg=f"{p['kind']} {p['name']} is absent in the inventory, but service(s) {', '.join(users)} "
                             f"still refer to it: take it out of their {p['kind']}s (swarmctl_services) and run again. "
                             "Nothing was removed.", users=users)
    if users:
        module.warn(f"{p['kind']} {p['name']}: service(s) {', '.join(users)} refer to it now; it goes once they no "
                    "longer do (as this run's services step would leave them, if the inventory says so)")
    remove = api.remove_secret if p["kind"] == "secret" else api.remove_config
    for member in members:
        if not module.check_mode:
            remove(member["ID"])
    return sorted(m["Spec"]["Name"] for m in members)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES)
    p = module.params
    problem = name_problem(p["name"])
    if problem:
        module.fail_json(msg=f"{p['kind']} {problem}")
    if p["state"] == "present" and p["kind"] == "secret" and not p["digest_key"]:
        module.fail_json(msg="a secret's versions are named with a keyed digest: digest_key is required")
    api = engine_api(module)
    listing = api.secrets if p["kind"] == "secret" else api.configs
    if p["state"] == "absent":
        try:
            removed = remove_family(module, api, listing())
        except EngineAPIError as exc:
            module.fail_json(msg=f"{p['kind']} {p['name']}: the engine refused: {exc}")
        module.exit_json(changed=bool(removed), removed=removed, id="", created=False)
    try:
        result = keep_version(module, api, listing())
        removed = []
        if p["prune"]:
            remove = api.remove_secret if p["kind"] == "secret" else api.remove_config
            for stale in stale_versions(listing(), api.services(), p["kind"], p["name"], result["version"]):
                if not module.check_mode:
                    remove(stale["ID"])
                removed.append(stale["Spec"]["Name"])
    except EngineAPIError as exc:
        module.fail_json(msg=f"{p['kind']} {p['name']}: the engine refused: {exc}")
    module.exit_json(changed=result["created"] or bool(removed), removed=removed, **result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# swarmctl: a swarm config object (configuration files handed to services), and pruning old ones.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_swarm_config
short_description: Keep a swarm config object, and remove the older ones of the same family
description:
  - Runs on a manager. Makes the config O(name) with O(data) unless it exists. Configs cannot change, so
    callers name them after their content (e.g. C(edge-lb-<hash>)) and roll services over to the new name.
  - With O(prune_label), removes the other configs that carry that label and no service uses any more.
options:
  name:
    description: Config name.
    type: str
    required: true
  data:
    description: Content.
    type: str
    required: true
  labels:
    description: Labels of a new config.
    type: dict
    default: {}
  prune_label:
    description: C(key=value); other configs with this label that no service uses are removed.
    type: str
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
requirements:
  - a Docker engine that is a manager of a swarm
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: HAProxy configuration, named after its content
  swarmctl.swarm.swarmctl_swarm_config:
    name: "edge-lb-{{ cfg | hash('sha256') | truncate(12, true, '') }}"
    data: "{{ cfg }}"
    labels: {io.swarmctl.edge_lb: "true"}
    prune_label: io.swarmctl.edge_lb=true
"""

RETURN = r"""
id:
  description: Id of the config (empty in check mode when it would be made).
  returned: always
  type: str
removed:
  description: Older configs removed.
  returned: always
  type: list
  elements: str
"""

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import used_ids

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    data=dict(type="str", required=True),
    labels=dict(type="dict", default={}),
    prune_label=dict(type="str"),
    **DOCKER_COMMON_ARGS,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    api = engine_api(module)
    changed = False
    removed = []
    try:
        existing = {c["Spec"]["Name"]: c for c in api.configs()}
        config = existing.get(p["name"])
        if config is not None:
            have = base64.b64decode(config["Spec"].get("Data", "")).decode()
            if have != p["data"]:
                module.fail_json(msg=f"config {p['name']} exists with other content; configs cannot change, so give "
                                     "the new content a new name")
            config_id = config["ID"]
        else:
            changed = True
            config_id = ""
            if not module.check_mode:
                config_id = api.create_config(p["name"], p["data"].encode(), labels=p["labels"])["ID"]
        if p["prune_label"]:
            key, dummy, value = p["prune_label"].partition("=")
            used = used_ids(api.services(), "config")
            for name, cfg in existing.items():
                if name != p["name"] and (cfg["Spec"].get("Labels") or {}).get(key) == value and cfg["ID"] not in used:
                    removed.append(name)
                    if not module.check_mode:
                        api.remove_config(cfg["ID"])
    except EngineAPIError as exc:
        module.fail_json(msg=f"config {p['name']}: the engine refused: {exc.explanation}")
    module.exit_json(changed=changed or bool(removed), id=config_id, removed=removed)


if __name__ == "__main__":
    main()

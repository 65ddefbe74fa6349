#!/usr/bin/python
# swarmctl: the swarm's services read back as swarmctl specs, to adopt a swarm swarmctl did not make.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_service_export
short_description: Read a swarm's services as items of swarmctl_services
description:
  - Runs on a manager; changes nothing. Reads every service (or those of O(names)) and returns each as the
    options of M(swarmctl.swarm.swarmctl_service) that describe it - an item of the inventory's
    C(swarmctl_services) - so that a swarm made by hand or by another tool can be handed to swarmctl without its
    first deploy changing anything.
  - A secret or config version that swarmctl keeps is named by its family (its C(io.swarmctl.family) label).
    Images keep their tag (the digest the service is pinned to is looked up again at each deploy).
  - Each description is checked the way a deploy would check it - made into a spec and compared with the live
    one - and the parts of the live spec no option describes (a log driver, DNS settings, capabilities) are
    returned in RV(unexpressed) - a deploy of that description would take them out.
  - Services swarmctl keeps itself (its load balancer) and the services of stacks are left out, with the reason
    (RV(kept_out)).
  - Environment variables often hold credentials - run this module with C(no_log) and keep what it returns
    where only its owner reads it, as C(swarmctl export) does (a file of mode 0600).
options:
  names:
    description: The services to read (default, every one).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
requirements:
  - a Docker engine that is a manager of a swarm
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Read the swarm's services as swarmctl specs
  swarmctl.swarm.swarmctl_service_export:
  register: found
  no_log: true  # environment values

- name: Keep them where only their owner reads them
  ansible.builtin.copy:
    content: "{{ {'swarmctl_services': found.services} | to_nice_yaml }}"
    dest: group_vars/all/services.yml
    mode: "0600"
  delegate_to: localhost
  no_log: true
"""

RETURN = r"""
services:
  description: One item of swarmctl_services per service read, in the order of their names.
  returned: always
  type: list
  elements: dict
  sample: [{name: web, image: "registry.example.com/web:v1", replicas: 6, update_config: {parallelism: 2}}]
unexpressed:
  description: Per service, the paths of its live spec that no option describes (a deploy would take them out).
  returned: always
  type: dict
  sample: {api: ["TaskTemplate.LogDriver"]}
kept_out:
  description: Services not read, with the reason (swarmctl's own, a stack's, a job).
  returned: always
  type: dict
missing:
  description: Names of O(names) that are no service of the swarm.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import as_declared
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service_export import (
    kept_out,
    service_options,
    unexpressed,
)
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import REBALANCING_LABEL
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import FAMILY_LABEL

ARGUMENT_SPEC = dict(
    names=dict(type="list", elements="str", default=[]),
    **DOCKER_COMMON_ARGS,
)


def families(objects: list) -> dict:
    """{version name: family} of the secrets (or configs) swarmctl keeps."""
    return {o["Spec"]["Name"]: (o["Spec"].get("Labels") or {})[FAMILY_LABEL] for o in objects
            if FAMILY_LABEL in (o["Spec"].get("Labels") or {})}


def export(api, names: list) -> dict:
    services = sorted(api.services(), key=lambda s: s["Spec"]["Name"])
    wanted = set(names) or {s["Spec"]["Name"] for s in services}
    network_names = {n["Id"]: n["Name"] for n in api.networks()}
    kinds = {"secret": families(api.secrets()), "config": families(api.configs())}
    result = dict(services=[], unexpressed={}, kept_out={},
                  missing=sorted(wanted - {s["Spec"]["Name"] for s in services}))
    for svc in services:
        spec = as_declared(svc["Spec"], REBALANCING_LABEL)
        if spec["Name"] not in wanted:
            continue
        reason = kept_out(spec)
        if reason:
            result["kept_out"][spec["Name"]] = reason
            continue
        options = service_options(spec, network_names, kinds)
        result["services"].append(options)
        left = unexpressed(spec, options, network_names, kinds)
        if left:
            result["unexpressed"][spec["Name"]] = left
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    api = engine_api(module)
    try:
        result = export(api, module.params["names"])
    except EngineAPIError as exc:
        module.fail_json(msg=f"reading the services: the engine refused: {exc.explanation}")
    except OSError as exc:
        module.fail_json(msg=f"cannot reach the Docker engine at {module.params['docker_host']}: {exc}. Is it "
                             "running? (systemctl status docker)")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# swarmctl: a compose file deployed as a swarm stack (the Docker CLI's own `docker stack deploy`), every service
# of it followed until its rollout ends, and the result said truthfully.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_stack
short_description: Deploy a compose file as a swarm stack and follow every service until its rollout ends
description:
  - Runs on a manager, where the Docker CLI comes with the engine. The compose file is read by the CLI's own
    C(docker stack deploy) (no compose interpreter of swarmctl's), with the registry credentials of the host's
    C(docker login) (C(--with-registry-auth)) and, with O(prune), the stack's services the file no longer has
    removed.
  - What the CLI lacks, this adds - each service the deploy created or changed is followed until its rollout
    converges, pauses or rolls back (a rollback or pause fails the task, naming the service, the engine's
    message and the failing tasks); C(changed) is true only when a service, network, config or secret of the
    stack was created, changed or removed (the CLI updates every service on every deploy; an update that leaves
    a spec as it was is no change).
  - Check mode runs nothing and predicts from the file - services it would create, remove (O(prune)), or give
    another image - and says that other changes show only in a real run.
options:
  name:
    description: The stack's name (prefix of its services, networks, configs and secrets).
    type: str
    required: true
  compose:
    description:
      - The compose file - parsed (a mapping, e.g. C(lookup('file', ...) | from_yaml), so the manager needs no YAML
        library) or its text (JSON, or YAML where the manager's Python has PyYAML).
    type: raw
    required: true
  files:
    description: Files the compose file names by relative path (the C(file) of its configs and secrets), as
      path -> content; written beside it for the deploy, then removed. Never logged.
    type: dict
    default: {}
  env:
    description: Variables the compose file interpolates (C(${VAR})), given to the CLI's environment. Never
      logged.
    type: dict
    default: {}
  prune:
    description: Remove the stack's services the file no longer has.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to follow each service's rollout.
    type: int
    default: 300
  make_networks:
    description:
      - Overlay networks (attachable) made before the deploy when missing - the load balancer's, which a compose
        file rewritten for HAProxy names as an external network.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_docker
  - swarmctl.swarm.swarmctl_attributes
attributes:
  idempotent:
    description: A second deploy of the same file changes nothing and restarts nothing.
    support: full
requirements:
  - a manager of a swarm, with the Docker CLI (Debian's docker.io has it)
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: The shop, from its compose file
  swarmctl.swarm.swarmctl_stack:
    name: shop
    compose: "{{ lookup('ansible.builtin.file', 'stacks/shop/compose.yml') | from_yaml }}"
    env: {TAG: v3}
"""

RETURN = r"""
created:
  description: Services created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: Services whose spec changed (in check mode, those that would get another image).
  returned: always
  type: list
  elements: str
removed:
  description: Services removed (or that would be).
  returned: always
  type: list
  elements: str
objects:
  description: Networks, configs and secrets of the stack the deploy created (and the load balancer's network, when made).
  returned: always
  type: list
  elements: str
rollouts:
  description: Per followed service, how its rollout ended (converged, paused, rolled_back, timeout), its
    tasks running/wanted, and the tasks it did not wait for (unplaced_tasks - while a node is away, the ones no
    node can take now; also said as warnings).
  returned: always
  type: dict
"""

import json
import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (
    ENGINE_OWNED,
    RolloutFollower,
    engine_time,
    follow_rollouts,
    same_image,
)

NAMESPACE_LABEL = "com.docker.stack.namespace"

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    compose=dict(type="raw", required=True),
    files=dict(type="dict", default={}, no_log=True),
    env=dict(type="dict", default={}, no_log=True),
    prune=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    make_networks=dict(type="list", elements="str", default=[]),
    **DOCKER_COMMON_ARGS,
)
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def make_networks(api, names) -> list[str]:
    """Make the overlay networks of names that do not exist yet; returns those made."""
    made = []
    for name in names:
        if not [n for n in api.networks(names=[name]) if n.get("Name") == name]:
            api.create_network({"Name": name, "Driver": "overlay", "Attachable": True,
                                "Labels": {"io.swarmctl.managed": "true"}})
            made.append(f"network {name}")
    return made


def stack_services(api, name: str) -> dict:
    """The stack's services, by their short name (without the stack's prefix)."""
    found = api.services(filters={"label": [f"{NAMESPACE_LABEL}={name}"]})
    return {s["Spec"]["Name"][len(name) + 1:]: s for s in found}


def stack_objects(api, name: str) -> set:
    label = {"label": [f"{NAMESPACE_LABEL}={name}"]}
    return ({f"network {n['Name']}" for n in api.networks(filters=label)}
            | {f"config {c['Spec']['Name']}" for c in api.configs() if _in_stack(c, name)}
            | {f"secret {c['Spec']['Name']}" for c in api.secrets() if _in_stack(c, name)})


def _in_stack(obj, name) -> bool:
    return (obj.get("Spec", {}).get("Labels") or {}).get(NAMESPACE_LABEL) == name


def _comparable(spec: dict) -> str:
    spec = json.loads(json.dumps(spec))
    for path in ENGINE_OWNED:
        node = spec
        for key in path[:-1]:
            node = node.get(key) or {}
        node.pop(path[-1], None)
    return json.dumps(spec, sort_keys=True)


def interpolate(value: str, env: dict) -> str:
    """${VAR}, ${VAR:-default} and $VAR, as compose interpolates them (for check mode's image prediction)."""
    def sub(match):
        var = match.group(1) or match.group(3)
        return str(env.get(var, os.environ.get(var, match.group(2) or "")))
    return _VAR_RE.sub(sub, value)


def predict(compose: dict, env: dict, before: dict, prune: bool) -> dict:
    """What a deploy would do, as far as the file tells: services created, removed, given another image."""
    services = (compose or {}).get("services") or {}
    created = sorted(set(services) - set(before))
    removed = sorted(set(before) - set(services)) if prune else []
    updated = []
    for name in sorted(set(services) & set(before)):
        image = interpolate(str((services[name] or {}).get("image", "")), env)
        live = before[name]["Spec"]["TaskTemplate"].get("ContainerSpec", {}).get("Image", "")
        if image and not same_image(image, live):
            updated.append(name)
    return dict(created=created, updated=updated, removed=removed)


def parse_compose(module) -> dict:
    """The compose file as a mapping: as given, or read from JSON or (with PyYAML) YAML text."""
    p = module.params
    compose = p["compose"]
    if isinstance(compose, str):
        try:
            compose = json.loads(compose)
        except ValueError:
            try:
                import yaml
            except ImportError:
                module.fail_json(msg=f"stack {p['name']}: give the compose file parsed (| from_yaml): this host's "
                                     "Python has no YAML library to read its text")
            try:
                compose = yaml.safe_load(compose)
            except yaml.YAMLError as exc:
                module.fail_json(msg=f"stack {p['name']}: the compose file is not YAML: {exc}")
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict):
        module.fail_json(msg=f"stack {p['name']}: the compose file has no `services:` mapping")
    return compose


def deploy(module, compose: dict, workdir: str) -> None:
    p = module.params
    # JSON is YAML: the CLI reads the file as the user wrote it, interpolation included.
    with open(os.path.join(workdir, "compose.yml"), "w", encoding="utf-8") as handle:
        json.dump(compose, handle)
    for rel, content in (p["files"] or {}).items():
        path = os.path.normpath(os.path.join(workdir, rel))
        if not path.startswith(workdir + os.sep):
            module.fail_json(msg=f"stack {p['name']}: file {rel!r} is outside the compose file's folder")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            handle.write(str(content))
    argv = ["docker", "stack", "deploy", "--compose-file", "compose.yml", "--with-registry-auth"]
    if p["prune"]:
        argv.append("--prune")
    rc, out, err = module.run_command(argv + [p["name"]], cwd=workdir,
                                      environ_update={k: str(v) for k, v in (p["env"] or {}).items()})
    if rc != 0:
        said = (err or out).strip().splitlines()
        module.fail_json(msg=f"stack {p['name']}: docker stack deploy refused it: "
                             f"{' '.join(said[-3:]) or f'exit code {rc}'}. Fix the compose file (or its env) and "
                             "deploy again.")


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    if not _NAME_RE.match(p["name"]):
        module.fail_json(msg=f"stack name {p['name']!r}: letters, digits, '_', '.', '-', starting with a letter or digit")
    compose = parse_compose(module)
    api = engine_api(module)
    result = dict(changed=False, created=[], updated=[], removed=[], objects=[], rollouts={})
    try:
        before = stack_services(api, p["name"])
        if module.check_mode:
            result.update(predict(compose, p["env"], before, p["prune"]))
            result["changed"] = bool(result["created"] or result["updated"] or result["removed"])
            result["msg"] = "predicted from the file: created, removed and re-imaged services; other changes show in a real run"
            module.exit_json(**result)
        objects_before = stack_objects(api, p["name"])
        made = make_networks(api, p["make_networks"])
        since = engine_time(api)
        workdir = tempfile.mkdtemp(prefix="swarmctl-stack-")
        try:
            deploy(module, compose, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        after = stack_services(api, p["name"])
        result["created"] = sorted(set(after) - set(before))
        result["removed"] = sorted(set(before) - set(after))
        result["updated"] = sorted(n for n in set(after) & set(before)
                                   if _comparable(after[n]["Spec"]) != _comparable(before[n]["Spec"]))
        result["objects"] = sorted(stack_objects(api, p["name"]) - objects_before) + made
        result["changed"] = any(result[k] for k in ("created", "updated", "removed", "objects"))
        followed = {}
        for short in result["created"] + result["updated"]:
            svc = after[short]
            # As swarmctl_service follows one: a change to the task template rolls tasks out; a new service or
            # a change elsewhere (replicas, labels) has only to settle.
            rolls = short in before and (_comparable({"TaskTemplate": svc["Spec"]["TaskTemplate"]})
                                         != _comparable({"TaskTemplate": before[short]["Spec"]["TaskTemplate"]}))
            followed[short] = RolloutFollower(api, svc["Spec"]["Name"], since, svc["Spec"]["Mode"], rolls,
                                              p["wait_timeout"])
        # The deploy started every service's rollout at once; they are followed together, each to its own end.
        follow_rollouts(api, list(followed.values()))
        failed = []
        for short, follower in followed.items():
            rollout, running, failures, message = follower.outcome
            result["rollouts"][short] = {"rollout": rollout, "running": running, "unplaced_tasks": follower.unplaced}
            for line in follower.unplaced:
                module.warn(line)
            if rollout != "converged":
                failed.append(f"service {follower.name} {rollout.replace('_', ' ')} ({running} running)"
                              f"{': ' + message if message else ''}"
                              f"{'; ' + '; '.join(failures[:3]) if failures else ''}")
    except EngineAPIError as exc:
        module.fail_json(msg=f"stack {p['name']}: the engine refused: {exc}", **result)
    if failed:
        module.fail_json(msg="; ".join(failed), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

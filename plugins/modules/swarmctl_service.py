#!/usr/bin/python
# swarmctl: a swarm service, created or updated, followed until its rollout converges, pauses or rolls back.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_service
short_description: Keep a swarm service at a declared spec, and wait for the rollout to finish
description:
  - Runs on a manager. Creates the service, or updates it when its live spec differs from the declared one (an
    unchanged spec is not touched; a moved image tag is seen through the registry's digest), or removes it.
  - Unlike a bare API call, it B(waits) - after a create or an update it follows the rollout until the service
    converges, pauses, or rolls back (within O(wait_timeout)) and says which, with the failing tasks and their
    errors. A rollout that rolled back or paused fails the task with a message that says so. It has converged
    or rolled back once the old tasks have stopped too (they serve through their stop grace period after the
    engine counts the rollout done), so only the spec the service ended on answers when the task returns.
  - O(rollback=true) returns the service to its previous spec (as C(docker service rollback)) and waits.
  - O(partial=true) changes only what is given (O(image), O(replicas)) and keeps the rest of the live spec, for
    scaling and one-off image updates.
  - Overlay networks the service names are created when missing.
options:
  name:
    description: Service name.
    type: str
    required: true
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  rollback:
    description: Roll the service back to its previous spec.
    type: bool
    default: false
  partial:
    description: Change only O(image) and O(replicas), keeping the rest of the live spec.
    type: bool
    default: false
  image:
    description: Image reference. With O(resolve_image), pinned to the registry's current digest for its tag.
    type: str
  resolve_image:
    description: Pin the image to its digest in the registry, so a moved tag is rolled out and nodes run the same image.
    type: bool
    default: true
  mode:
    description: C(replicated) or C(global).
    type: str
    choices: [replicated, global]
    default: replicated
  replicas:
    description: Number of tasks of a replicated service (1 when a full spec leaves it out).
    type: int
  recreate:
    description:
      - Allow removing the service and creating it again when the change cannot be made in place. Swarm cannot
        switch a service between C(replicated) and C(global) O(mode); without O(recreate=true) such a change
        fails and the service is left running as it is. Recreating stops every task before the new ones start.
    type: bool
    default: false
  command:
    description: Overrides the image's entrypoint.
    type: list
    elements: str
  args:
    description: Arguments.
    type: list
    elements: str
  env:
    description: Environment variables.
    type: dict
  hostname:
    description: Container host name; Go templates such as C({{.Node.Hostname}}-{{.Task.Slot}}) allowed.
    type: str
  user:
    description: User to run as.
    type: str
  workdir:
    description: Working directory.
    type: str
  labels:
    description: Service labels.
    type: dict
  container_labels:
    description: Container labels.
    type: dict
  networks:
    description: Overlay networks to attach to (created, attachable, when missing).
    type: list
    elements: str
  publish:
    description: Published ports - published, target, protocol (tcp/udp), mode (ingress/host).
    type: list
    elements: dict
  endpoint_mode:
    description: C(vip) (a virtual IP, balanced by IPVS) or C(dnsrr) (DNS round robin over the tasks).
    type: str
    choices: [vip, dnsrr]
    default: vip
  constraints:
    description: Placement constraints, e.g. C(node.role==worker).
    type: list
    elements: str
  placement_preferences:
    description: Placement preferences, each a dict with C(spread), e.g. C(node.labels.zone).
    type: list
    elements: dict
  max_replicas_per_node:
    description: At most this many tasks of the service on one node.
    type: int
  limits:
    description: Resource limits - cpus (e.g. 0.5), memory (e.g. 128M).
    type: dict
  reservations:
    description: Resource reservations - cpus, memory.
    type: dict
  healthcheck:
    description: Health check - test (a shell string or an exec list), interval, timeout, retries, start_period.
    type: dict
  restart_policy:
    description: Restart policy - condition (none/on-failure/any), delay, max_attempts, window.
    type: dict
  update_config:
    description: >-
      Rolling update - parallelism, delay, failure_action (pause/continue/rollback), monitor, max_failure_ratio,
      order (stop-first/start-first).
    type: dict
  rollback_config:
    description: Rollback - the same keys as O(update_config).
    type: dict
  mounts:
    description: Mounts - source, target, type (volume/bind/tmpfs), readonly.
    type: list
    elements: dict
  secrets:
    description:
      - Existing swarm secrets to give the tasks - name, target, uid, gid, mode.
      - C(pending=true) marks a secret made in the same run (a version kept by swarmctl_swarm_object), which in
        check mode need not exist yet.
    type: list
    elements: dict
  configs:
    description:
      - Swarm configs to give the tasks - name, target, uid, gid, mode.
      - An entry with C(data) (and optionally C(labels)) is made when no config of that name exists, so a
        service and its configuration are kept in one step. Swarm configs cannot change - name them after
        their content (e.g. C(edge-lb-<hash>)) and a new content rolls the service over to the new name.
      - C(pending=true) marks a config made in the same run, as for O(secrets).
    type: list
    elements: dict
  stop_grace_period:
    description: Time to wait for a task to stop before killing it.
    type: str
  wait:
    description:
      - Follow the rollout until it converges, pauses or rolls back (with O(rollback), until the rollback ends).
      - With V(false), the update (or rollback) is started and the module returns at once, with C(follow) saying what
        M(swarmctl.swarm.swarmctl_rollouts) needs to follow it, beside others started the same way.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to follow a rollout before giving up (the task fails, saying where the rollout stands).
    type: int
    default: 300
  on_leader_only:
    description:
      - Act only where this engine is the swarm's leader; elsewhere return at once, reported as skipped, with
        the leader's host name in C(leader). Run on every manager, exactly one acts, and no step is needed
        beforehand to find a manager that answers.
    type: bool
    default: false
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: An unchanged spec is not touched and nothing restarts.
    support: full
requirements:
  - A manager logged in to the registry the images come from (C(docker login) credentials in
    C(~/.docker/config.json)); no Docker SDK, the engine is asked over its socket
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: The demo web service, rolled out two tasks at a time, rolled back on failure
  swarmctl.swarm.swarmctl_service:
    name: web
    image: westos.org/web:v2
    replicas: 6
    networks: [web]
    endpoint_mode: dnsrr
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1/
      interval: 2s
      retries: 3
    update_config: {parallelism: 2, delay: 5s, failure_action: rollback, monitor: 10s, order: start-first}
    rollback_config: {parallelism: 2, order: start-first}

- name: Scale without touching the rest of the spec
  swarmctl.swarm.swarmctl_service:
    name: web
    partial: true
    replicas: 10
"""

RETURN = r"""
action:
  description: >-
    created, updated, recreated (switching between replicated and global, which Swarm cannot do in place),
    unchanged, removed, absent, or rolled_back.
  returned: always
  type: str
rollout:
  description: How the rollout ended - converged, paused, rolled_back, timeout, or none (nothing rolled out).
  returned: always
  type: str
changes:
  description: Spec fields that differed (or would differ, in check mode).
  returned: always
  type: list
  elements: str
image:
  description: The image the service runs, with its digest.
  returned: when present
  type: str
running:
  description: Running tasks and wanted tasks after the rollout, e.g. C(6/6).
  returned: when waited
  type: str
failed_tasks:
  description: One line per task that failed during the rollout - image, node, state and error.
  returned: always
  type: list
  elements: str
unplaced_tasks:
  description:
    - Tasks the rollout did not wait for, one line per reason - while a node is away (down, drained), the ones no
      node can take now (their constraints name that node, say). The engine starts them when such a node is back.
      Each line is also a warning.
  returned: when waited and some task waits for a node
  type: list
  elements: str
  sample:
    - "2 task(s) of pin (reg/app:v2) wait for a node: no suitable node (scheduling constraints not satisfied
      on 3 nodes); away now: base4 (down)"
seconds:
  description: How long the rollout took.
  returned: when it acted
  type: float
follow:
  description: >-
    With O(wait=false), the rollout this run started (or found under way): name, since (the engine's time when
    it started), mode, expect_rollout, verb, image, wait_timeout; give it to M(swarmctl.swarm.swarmctl_rollouts).
  returned: when a rollout was started or found under way and not followed
  type: dict
leader:
  description: Host name of the swarm's leader (empty when there is none), where O(on_leader_only) skipped.
  returned: when skipped
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api, registry_auth, registry_of
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import REBALANCING_LABEL, list_nodes, local_state
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (
    HIDDEN,
    SERVICE_OPTIONS,
    SpecError,
    as_declared,
    build_spec,
    diff_views,
    engine_time,
    follow_rollout,
    image_lookup_problem,
    live_image,
    merge_partial,
    parse_time,
    rollout_failure,
    same_image,
    spec_differences,
)


OUT_OF_SEQUENCE = "update out of sequence"


class Service:
    """One service, through the engine's API (EngineAPI: no Docker SDK, whose import costs more than a no-change
    run of this module does)."""

    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.p = module.params

    # -- reading -----------------------------------------------------------------------------------
    def current(self):
        try:
            return self.api.inspect_service(self.p["name"])
        except EngineAPIError as exc:
            if exc.not_found:
                return None
            raise

    def resolve_image(self, image):
        if not self.p["resolve_image"] or "@" in image:
            return image
        try:
            digest = self.api.inspect_distribution(image, registry_auth(image))["Descriptor"]["digest"]
        except EngineAPIError as exc:
            self.module.fail_json(msg=image_lookup_problem(image, registry_of(image), exc.explanation))
        return f"{image}@{digest}"

    def network_ids(self, create):
        ids = {}
        for name in self.p["networks"] or []:
            found = [n for n in self.api.networks(names=[name]) if n["Name"] == name]
            if found:
                if found[0].get("Driver") != "overlay" or found[0].get("Scope") != "swarm":
                    self.module.fail_json(msg=f"network {name!r} exists but is not a swarm overlay network")
                ids[name] = found[0]["Id"]
            elif create:
                created = self.api.create_network({"Name": name, "Driver": "overlay", "Attachable": True,
                                                   "Labels": {"io.swarmctl.managed": "true"}})
                ids[name] = created["Id"]
            else:
                ids[name] = f"(new network {name})"
        return ids

    def named_ids(self, kind):
        if any(not (item or {}).get("name") for item in self.p[kind] or []):
            self.module.fail_json(msg=f"service {self.p['name']}: every entry of {kind} needs a name (name: ...)")
        wanted = [item["name"] for item in self.p[kind] or []]
        if not wanted:
            return {}
        listing = self.api.secrets() if kind == "secrets" else self.api.configs()
        return {obj["Spec"]["Name"]: obj["ID"] for obj in listing if obj["Spec"]["Name"] in wanted}

    def secret_ids(self):
        """IDs of the secrets the service names. In check mode, one marked pending (a version the services role
        makes in the same run) need not exist yet."""
        ids = self.named_ids("secrets")
        if self.module.check_mode:
            for item in self.p["secrets"] or []:
                if item.get("pending") and item["name"] not in ids:
                    ids[item["name"]] = f"(new secret {item['name']})"
        return ids

    def config_ids(self, create):
        """IDs of the configs the service names; one given with its data is made when missing."""
        ids = self.named_ids("configs")
        for item in self.p["configs"] or []:
            if item["name"] in ids:
                continue
            if item.get("data") is None:
                if item.get("pending") and self.module.check_mode:
                    ids[item["name"]] = f"(new config {item['name']})"
                continue
            if create:
                made = self.api.create_config(item["name"], str(item["data"]).encode(), labels=item.get("labels") or {})
                ids[item["name"]] = made["ID"]
            else:
                ids[item["name"]] = f"(new config {item['name']})"
        return ids

    # -- writing -----------------------------------------------------------------------------------
    def create(self, spec):
        # The manager keeps the registry credentials with the service, so every node can pull its image.
        self.api.create_service(spec, registry_auth(spec["TaskTemplate"]["ContainerSpec"]["Image"]))

    def update(self, current, spec, tries=3):
        for attempt in range(1, tries + 1):
            template = dict(spec["TaskTemplate"])
            # Keep the engine's own counter, so an update does not force a restart of unchanged tasks.
            template["ForceUpdate"] = current["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
            # The API replaces the whole spec. A part left out is reset to the engine's default; an empty one
            # would be stored as a filled-in default that the next run sees as a difference.
            body = {key: value for key, value in spec.items() if value not in (None, {}, [])}
            body["TaskTemplate"] = template
            try:
                self.api.update_service(current["ID"], current["Version"]["Index"], body,
                                        registry_auth(template["ContainerSpec"]["Image"]))
                return
            except EngineAPIError as exc:
                # Another writer updated the service since it was read (seen in CI: the reconciler's rebalance
                # of the same service). The declared spec goes on top of the version that is there now.
                if OUT_OF_SEQUENCE not in exc.explanation or attempt == tries:
                    raise
                current = self.current() or current

    def rollback(self, current):
        # What `docker service rollback` asks: the engine goes back to the service's previous spec.
        self.api.update_service(current["ID"], current["Version"]["Index"], current["Spec"], rollback=True)

    # -- following a rollout -------------------------------------------------------------------------
    def follow(self, module, result, since, mode, expect_rollout):
        """Wait until the rollout ends; returns (rollout, running 'n/m', failure lines, engine message), put in
        result with the tasks left waiting for a node (said as warnings too)."""
        follower = follow_rollout(self.api, self.p["name"], since, mode, expect_rollout, self.p["wait_timeout"])
        rollout, running, failures, message = follower.outcome
        result.update(rollout=rollout, running=running, failed_tasks=failures)
        if follower.unplaced:
            result["unplaced_tasks"] = follower.unplaced
            for line in follower.unplaced:
                module.warn(line)
        return follower.outcome


def leadership(module, api):
    """(whether this engine leads its swarm, the leader's host name or None), asked without the Docker SDK."""
    url = module.params["docker_host"]
    try:
        me = local_state(api)
        leader = next((n for n in list_nodes(api) if n["leader"]), None) if me["is_manager"] else None
    except (EngineAPIError, OSError) as exc:
        module.fail_json(msg=f"cannot ask the engine at {url} whether it leads the swarm: {exc}")
    if leader is None:
        return False, None
    return leader["id"] == me["node_id"], leader["hostname"] or leader["id"]


# Module level: swarmctl's action plugin validates arguments against it on the control machine. The options
# that describe a service are SERVICE_OPTIONS (shared with the inventory check of swarmctl_services); the rest
# say what to do with it.
ARGUMENT_SPEC = dict(
    SERVICE_OPTIONS,
    state=dict(type="str", choices=["present", "absent"], default="present"),
    rollback=dict(type="bool", default=False),
    partial=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    on_leader_only=dict(type="bool", default=False),
    **DOCKER_COMMON_ARGS,
)


class ServiceModule(AnsibleModule):
    """An AnsibleModule whose results show the arguments (what -vvv prints as `invocation`) with the service's
    environment variables named, never valued: they often carry credentials."""

    def _shown(self):
        env = self.params.get("env")
        return {"module_args": dict(self.params, env={name: HIDDEN for name in env}) if env else self.params}

    def exit_json(self, **result):
        result.setdefault("invocation", self._shown())
        super().exit_json(**result)

    def fail_json(self, msg, **result):
        result.setdefault("invocation", self._shown())
        super().fail_json(msg, **result)


def main():
    module = ServiceModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    api = engine_api(module)
    if p["on_leader_only"]:
        leads, leader = leadership(module, api)
        if not leads:
            module.exit_json(changed=False, skipped=True, leader=leader or "",
                             msg=f"{leader} leads the swarm and does this" if leader else
                             "not done here: this engine is not a manager of a swarm that has a leader")
    service = Service(module, api)
    started = time.monotonic()
    try:
        result = run(module, api, service)
    except SpecError as exc:
        module.fail_json(msg=f"service {p['name']}: {exc}")
    except EngineAPIError as exc:
        module.fail_json(msg=f"service {p['name']}: the engine refused: {exc.explanation}")
    except OSError as exc:
        module.fail_json(msg=f"service {p['name']}: cannot reach the Docker engine at {p['docker_host']}: {exc}. "
                             "Is it running? (systemctl status docker)")
    result["seconds"] = round(time.monotonic() - started, 1)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


def run(module, api, service):
    p = module.params
    current = service.current()
    base = dict(changed=False, action="unchanged", rollout="none", changes=[], failed_tasks=[])

    if p["state"] == "absent":
        if current is None:
            return dict(base, action="absent")
        if not module.check_mode:
            api.remove_service(current["ID"])
        return dict(base, changed=True, action="removed")

    if p["rollback"]:
        if current is None:
            module.fail_json(msg=f"service {p['name']} does not exist; nothing to roll back")
        if not current.get("PreviousSpec"):
            module.fail_json(msg=f"service {p['name']} has no previous spec to roll back to")
        previous_image = current["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        result = dict(base, changed=True, action="rolled_back", image=previous_image)
        if module.check_mode:
            return result
        since = engine_time(api)
        service.rollback(current)
        if not p["wait"]:
            result["follow"] = _to_follow(p, since, current["Spec"]["Mode"], True, "rolling back")
            return result
        rollout, running, failures, message = service.follow(module, result, since, current["Spec"]["Mode"], True)
        if rollout != "rolled_back":
            result.update(failed=True, msg=f"rollback of {p['name']} did not complete: {rollout} ({message}); "
                                           f"{running} tasks running")
        return result

    if p["partial"]:
        if current is None:
            module.fail_json(msg=f"service {p['name']} does not exist; deploy it before scaling or updating its image")
        image_ref = service.resolve_image(p["image"]) if p["image"] else None
        if image_ref and same_image(image_ref, current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]):
            image_ref = None
        replicas = p["replicas"]
        if replicas is not None and current["Spec"]["Mode"].get("Replicated", {}).get("Replicas") == replicas:
            replicas = None
        desired = merge_partial(current["Spec"], image_ref, replicas)
    else:
        # Not a required_if: only a full spec of a present service needs it (not partial, absent or rollback).
        if not p["image"]:
            module.fail_json(msg=f"service {p['name']}: image is required")
        image_ref = service.resolve_image(p["image"])
        params = dict(p, replicas=p["replicas"] if p["replicas"] is not None else 1)
        desired = build_spec(params, image_ref, service.network_ids(create=not module.check_mode),
                             service.secret_ids(), service.config_ids(create=not module.check_mode))

    if current is None:
        action, changes = "created", ["(new service)"]
    else:
        changes = differences(desired, current["Spec"])
        action = "updated" if changes else "unchanged"
    mode_switch = current is not None and set(current["Spec"].get("Mode", {})) != set(desired["Mode"])
    if mode_switch and not p["recreate"]:
        module.fail_json(msg=f"service {p['name']}: switching it from {_mode_name(current['Spec'])} to "
                             f"{_mode_name(desired)} cannot be done in place: Swarm would have to remove the service "
                             "(stopping every task) and create it again. Nothing was changed. To do that, set "
                             "recreate: true on the service; or keep its mode.",
                         changed=False, action="unchanged", changes=changes)
    if mode_switch:
        action = "recreated"
    result = dict(base, changed=bool(changes), action=action, changes=changes,
                  image=desired["TaskTemplate"]["ContainerSpec"]["Image"])
    if module._diff:
        before, after = diff_views(current["Spec"] if current else {}, desired)
        result["diff"] = dict(before=before, after=after, before_header=p["name"], after_header=p["name"])
    if module.check_mode:
        return result
    if not changes:
        # The spec is already the declared one, but its rollout may still run (a run interrupted while it
        # followed it): follow it to its end, so that running again finishes the job. Not the reconciler's
        # rebalance (it follows that itself). The outcome fails the task only where the service no longer
        # runs its declared spec (paused, or rolled back to another one).
        status = (current or {}).get("UpdateStatus") or {}
        rebalancing = REBALANCING_LABEL in (current or {}).get("Spec", {}).get("Labels", {})
        if not p["wait"] and status.get("State") in ("updating", "rollback_started") and not rebalancing:
            result["follow"] = dict(_to_follow(p, parse_time(status.get("StartedAt", "")), current["Spec"]["Mode"],
                                               True, "updating"),
                                    resumed=True, declared_image=desired["TaskTemplate"]["ContainerSpec"]["Image"])
        elif p["wait"] and status.get("State") in ("updating", "rollback_started") and not rebalancing:
            rollout, running, failures, message = service.follow(
                module, result, parse_time(status.get("StartedAt", "")), current["Spec"]["Mode"], True)
            now = service.current()
            declared = now is not None and not differences(desired, now["Spec"])
            if rollout == "paused" or (rollout != "converged" and not declared):
                result.update(failed=True, msg=_rollout_failure(p, "updating", rollout, service, failures, message,
                                                                running))
            elif rollout != "converged":
                module.warn(f"service {p['name']}: an update under way when this run came {rollout.replace('_', ' ')} "
                            f"({message}); the service runs its declared spec")
        return result

    since = engine_time(api)
    if current is not None and set(current["Spec"].get("Mode", {})) != set(desired["Mode"]):
        # Swarm cannot switch a service between replicated and global: it is made again, if allowed.
        api.remove_service(current["ID"])
        _wait_gone(api, current["ID"])
        result["action"] = action = "recreated"
        current = None
    if current is None:
        service.create(desired)
    else:
        service.update(current, desired)
    # A change to the task template rolls tasks out; a change elsewhere (replicas, labels) does not.
    expect_rollout = current is not None and any(c.startswith("TaskTemplate") for c in changes)
    if not p["wait"]:
        result["follow"] = _to_follow(p, since, desired["Mode"], expect_rollout,
                                      {"created": "creating", "recreated": "recreating"}.get(action, "updating"))
        return result
    rollout, running, failures, message = service.follow(module, result, since, desired["Mode"], expect_rollout)
    if rollout != "converged":
        verb = {"created": "creating", "updated": "updating", "recreated": "recreating"}.get(action, action)
        result.update(failed=True, msg=_rollout_failure(p, verb, rollout, service, failures, message, running))
    return result


def differences(desired, live):
    """Where a live spec differs from the desired one, as its owner declared it (see as_declared), the same image
    by another reference (a tag and its digest) not counted."""
    found = spec_differences(desired, as_declared(live, REBALANCING_LABEL))
    image_path = "TaskTemplate.ContainerSpec.Image"
    if image_path in found and same_image(desired["TaskTemplate"]["ContainerSpec"]["Image"],
                                          live["TaskTemplate"]["ContainerSpec"]["Image"]):
        found.remove(image_path)
    return found


def _rollout_failure(p, verb, rollout, service, failures, message, running):
    return rollout_failure(p["name"], p["image"], verb, rollout, live_image(service.api, p["name"]), failures,
                           message, running, p["wait_timeout"])


def _to_follow(p, since, mode, expect_rollout, verb):
    """What swarmctl_rollouts needs to follow this service's rollout (O(wait=false) started it)."""
    return dict(name=p["name"], since=since.isoformat(), mode=mode, expect_rollout=expect_rollout, verb=verb,
                image=p["image"] or "", wait_timeout=p["wait_timeout"])


def _mode_name(spec):
    return "global" if "Global" in spec.get("Mode", {}) else "replicated"


def _wait_gone(api, service_id, timeout=60):
    """Until the removed service's tasks are gone (a new one may need their host ports)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not api.tasks(filters={"service": service_id}):
                return
        except EngineAPIError as exc:
            if exc.not_found or "not found" in str(exc.explanation):
                return
            raise
        time.sleep(0.5)


if __name__ == "__main__":
    main()

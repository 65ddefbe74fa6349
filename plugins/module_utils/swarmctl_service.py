# Swarm service specs: from swarmctl_service's options to the engine's ServiceSpec, comparison with a
# live spec, and the reading of a rollout's progress (pure functions, unit-tested without an engine); then
# following a rollout on a manager's engine.

from __future__ import annotations

import datetime
import re
import time

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)?$", re.I)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

# What the engine adds to a spec on its own; a difference there is not a difference in what the user asked.
ENGINE_OWNED = {
    ("TaskTemplate", "ForceUpdate"),
    ("TaskTemplate", "Runtime"),
    ("TaskTemplate", "ContainerSpec", "Isolation"),
    ("TaskTemplate", "Placement", "Platforms"),
}

# Lists whose order means nothing: swarmctl writes the environment sorted, `docker service create --env` as given.
UNORDERED = {("TaskTemplate", "ContainerSpec", "Env")}

# The engine's UpdateStatus.State at the end of a rollout, and what swarmctl_service reports for it.
ROLLOUT_OUTCOME = {"completed": "converged", "paused": "paused", "rollback_completed": "rolled_back",
                   "rollback_paused": "paused"}
# Swarm's own default for update_config.monitor and rollback_config.monitor.
DEFAULT_MONITOR_S = 5.0


# What describes a service: swarmctl_service's options for it, and what an item of the inventory's
# swarmctl_services may hold (besides `expose`, which the services role turns into ports).
SERVICE_OPTIONS = dict(
    name=dict(type="str", required=True),
    image=dict(type="str"),
    resolve_image=dict(type="bool", default=True),
    mode=dict(type="str", choices=["replicated", "global"], default="replicated"),
    replicas=dict(type="int"),
    recreate=dict(type="bool", default=False),
    command=dict(type="list", elements="str"),
    args=dict(type="list", elements="str"),
    env=dict(type="dict"),
    hostname=dict(type="str"),
    user=dict(type="str"),
    workdir=dict(type="str"),
    labels=dict(type="dict"),
    container_labels=dict(type="dict"),
    networks=dict(type="list", elements="str"),
    publish=dict(type="list", elements="dict"),
    endpoint_mode=dict(type="str", choices=["vip", "dnsrr"], default="vip"),
    constraints=dict(type="list", elements="str"),
    placement_preferences=dict(type="list", elements="dict"),
    max_replicas_per_node=dict(type="int"),
    limits=dict(type="dict"),
    reservations=dict(type="dict"),
    healthcheck=dict(type="dict"),
    restart_policy=dict(type="dict"),
    update_config=dict(type="dict"),
    rollback_config=dict(type="dict"),
    mounts=dict(type="list", elements="dict"),
    secrets=dict(type="list", elements="dict", no_log=False),  # names of swarm secrets, never their values
    configs=dict(type="list", elements="dict"),
    stop_grace_period=dict(type="str"),
    wait_timeout=dict(type="int", default=300),
)


class SpecError(ValueError):
    """An option that cannot become a spec; the message says which and why."""


def duration_ns(value) -> int | None:
    """'5s', '1m30s', '500ms', 10 (seconds) -> nanoseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value * 10**9)
    text = str(value).strip()
    if text.isdigit():
        return int(text) * 10**9
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SpecError(f"{value!r} is not a duration (use forms like 5s, 1m30s, 500ms)")
    return int(sum(float(n) * _DURATION_UNITS[u] for n, u in parts))


def size_bytes(value) -> int | None:
    """'128M', '1g', '512MiB', 1048576 -> bytes."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value).strip())
    if not match:
        raise SpecError(f"{value!r} is not a size (use forms like 64M, 1G)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _clean(obj):
    """Drop None values and empty containers, recursively."""
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _update_config(cfg):
    if not cfg:
        return None
    return {
        "Parallelism": cfg.get("parallelism"),
        "Delay": duration_ns(cfg.get("delay")),
        "FailureAction": cfg.get("failure_action"),
        "Monitor": duration_ns(cfg.get("monitor")),
        "MaxFailureRatio": cfg.get("max_failure_ratio"),
        "Order": cfg.get("order"),
    }


def _healthcheck(hc):
    if not hc:
        return None
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return {
        "Test": test,
        "Interval": duration_ns(hc.get("interval")),
        "Timeout": duration_ns(hc.get("timeout")),
        "Retries": hc.get("retries"),
        "StartPeriod": duration_ns(hc.get("start_period")),
    }


def _resources(res):
    if not res:
        return None
    cpus = res.get("cpus")
    return {"NanoCPUs": int(float(cpus) * 10**9) if cpus else None, "MemoryBytes": size_bytes(res.get("memory"))}


def _references(items, kind, ids):
    out = []
    for item in items or []:
        name = item["name"]
        if name not in ids:
            raise SpecError(f"{kind} {name!r} does not exist in the swarm; create it first")
        out.append({
            f"{kind.capitalize()}ID": ids[name],
            f"{kind.capitalize()}Name": name,
            "File": {
                "Name": item.get("target") or name,
                "UID": str(item.get("uid", "0")),
                "GID": str(item.get("gid", "0")),
                "Mode": int(str(item.get("mode", "0444")), 8),
            },
        })
    return out


def build_spec(p: dict, image_ref: str, network_ids: dict, secret_ids: dict | None = None,
               config_ids: dict | None = None) -> dict:
    """The ServiceSpec the engine takes, from the module's options (already validated)."""
    mode = {"Global": {}} if p.get("mode") == "global" else {"Replicated": {"Replicas": p.get("replicas", 1)}}
    restart = p.get("restart_policy") or {}
    prefs = [{"Spread": {"SpreadDescriptor": pref["spread"]}} for pref in p.get("placement_preferences") or []]
    ports = [
        {
            "Protocol": port.get("protocol") or "tcp",
            "TargetPort": int(port["target"]),
            "PublishedPort": int(port["published"]) if port.get("published") else None,
            "PublishMode": port.get("mode") or "ingress",
        }
        for port in p.get("publish") or []
    ]
    mounts = [
        {"Type": m.get("type") or "volume", "Source": m.get("source"), "Target": m["target"],
         "ReadOnly": bool(m.get("readonly"))}
        for m in p.get("mounts") or []
    ]
    spec = {
        "Name": p["name"],
        "Labels": p.get("labels") or {},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": image_ref,
                "Command": p.get("command"),
                "Args": p.get("args"),
                "Env": sorted(f"{k}={v}" for k, v in (p.get("env") or {}).items()),
                "Labels": p.get("container_labels") or {},
                "Hostname": p.get("hostname"),
                "User": p.get("user"),
                "Dir": p.get("workdir"),
                "Mounts": mounts,
                "Healthcheck": _healthcheck(p.get("healthcheck")),
                "StopGracePeriod": duration_ns(p.get("stop_grace_period")),
                "Secrets": _references(p.get("secrets"), "secret", secret_ids or {}),
                "Configs": _references(p.get("configs"), "config", config_ids or {}),
            },
            "Resources": {"Limits": _resources(p.get("limits")), "Reservations": _resources(p.get("reservations"))},
            "RestartPolicy": {
                "Condition": restart.get("condition"),
                "Delay": duration_ns(restart.get("delay")),
                "MaxAttempts": restart.get("max_attempts"),
                "Window": duration_ns(restart.get("window")),
            },
            "Placement": {
                "Constraints": p.get("constraints"),
                "Preferences": prefs,
                "MaxReplicas": p.get("max_replicas_per_node"),
            },
            "Networks": [{"Target": network_ids[n]} for n in p.get("networks") or []],
        },
        "Mode": mode,
        "UpdateConfig": _update_config(p.get("update_config")),
        "RollbackConfig": _update_config(p.get("rollback_config")),
        "EndpointSpec": {"Mode": p.get("endpoint_mode") or "vip", "Ports": ports},
    }
    spec = _clean(spec)
    spec["Mode"] = mode  # {"Global": {}} is empty but meaningful
    return spec


def _empty(value) -> bool:
    return value in (None, {}, [], "", 0, False)


def as_declared(spec: dict, rebalancing_label: str) -> dict:
    """A live spec as its owner declared it: while the reconciler rebalances the service, it runs with update
    order stop-first and keeps the service's own order in a label; both are the reconciler's, not a difference."""
    labels = spec.get("Labels") or {}
    if rebalancing_label not in labels:
        return spec
    own = dict(spec)
    own["Labels"] = {k: v for k, v in labels.items() if k != rebalancing_label}
    own["UpdateConfig"] = dict(spec.get("UpdateConfig") or {}, Order=labels[rebalancing_label])
    return own


def spec_differences(desired, current, path=()) -> list[str]:
    """Paths where the live spec differs from the desired one ('TaskTemplate.ContainerSpec.Image').

    A key the desired spec leaves out must be empty (or engine-owned) in the live one: the module owns the
    whole spec, so anything else set there would be reverted by an update."""
    if path in ENGINE_OWNED:
        return []
    if path in UNORDERED and isinstance(desired, list) and isinstance(current, list):
        desired, current = sorted(desired), sorted(current)
    if isinstance(desired, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(desired) | set(current)):
            if key not in desired:
                if (*path, key) not in ENGINE_OWNED and not _empty(current[key]) and not _default(path + (key,), current[key]):
                    out.append(".".join((*path, key)))
            elif key not in current:
                if not _empty(desired[key]):
                    out.append(".".join((*path, key)))
            else:
                out.extend(spec_differences(desired[key], current[key], (*path, key)))
        return out
    if isinstance(desired, list) and isinstance(current, list):
        if len(desired) != len(current):
            return [".".join(path)]
        out = []
        for index, (d, c) in enumerate(zip(desired, current)):
            out.extend(spec_differences(d, c, (*path, str(index))))
        return [".".join(path)] if out else []
    if _empty(desired) and _empty(current):
        return []
    return [] if desired == current else [".".join(path)]


def _default(path, value) -> bool:
    """Values the engine fills in on its own when a field is left out."""
    return path == ("EndpointSpec", "Mode") and value == "vip"


def merge_partial(current: dict, image_ref: str | None = None, replicas: int | None = None) -> dict:
    """The live spec with only the image and/or the replica count changed (scale, update --image)."""
    spec = dict(current.items())
    if image_ref:
        template = dict(spec.get("TaskTemplate") or {})
        container = dict(template.get("ContainerSpec") or {})
        container["Image"] = image_ref
        template["ContainerSpec"] = container
        spec["TaskTemplate"] = template
    if replicas is not None:
        if "Replicated" not in (spec.get("Mode") or {}):
            raise SpecError("only a replicated service has a replica count to scale")
        spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    return spec


def same_image(wanted: str, current: str) -> bool:
    """Whether two references name the same image; a digest, when both have one, decides."""
    if "@" in wanted and "@" in current:
        return wanted.split("@", 1)[1] == current.split("@", 1)[1] and wanted.split("@")[0] == current.split("@")[0]
    return wanted.split("@")[0] == current.split("@")[0]


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: str) -> datetime.datetime:
    """An engine timestamp (RFC 3339, nanoseconds, any offset) as an aware datetime; the epoch when empty."""
    if not value:
        return datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
    text = _FRACTION.sub(lambda m: m.group(1), value.replace("Z", "+00:00"), count=1)
    return datetime.datetime.fromisoformat(text)


def task_summary(task: dict, node_names: dict) -> dict:
    status = task.get("Status", {})
    return {
        "id": task.get("ID", "")[:12],
        "slot": task.get("Slot"),
        "node": node_names.get(task.get("NodeID"), task.get("NodeID", "")[:12]) or "no node",
        "state": status.get("State"),
        "desired": task.get("DesiredState"),
        "error": status.get("Err") or "",
        "message": status.get("Message") or "",
        "image": task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "").split("@")[0],
        "updated": task.get("UpdatedAt", ""),
    }


def convergence(tasks: list[dict], mode: dict, eligible_nodes: int) -> tuple[int, int]:
    """(running, wanted) for a service's tasks: running means state running with desired state running."""
    running = sum(1 for t in tasks if t.get("DesiredState") == "running" and t.get("Status", {}).get("State") == "running")
    if "Replicated" in mode:
        wanted = mode["Replicated"].get("Replicas", 0)
    else:
        wanted = eligible_nodes
    return running, wanted


def failure_lines(tasks: list[dict]) -> list[str]:
    """One line per failed or rejected task, newest first: what went wrong, where, with which image."""
    failed = [t for t in tasks if t["state"] in ("failed", "rejected") or (t["error"] and t["state"] != "running")]
    failed.sort(key=lambda t: t["updated"], reverse=True)
    seen = set()
    lines = []
    for t in failed:
        line = f"{t['image']} on {t['node']}: {t['state']}: {t['error'] or t['message']}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


class RolloutWatch:
    """Decides, from one look at a service after another, when its rollout has ended.

    As `docker service update` decides: an end state of the engine's (paused, rolled back, completed), or
    every task of the new spec running and none failing for the monitor window. After that window the engine
    can no longer fail the update because of those tasks; it only records `completed` one update delay later,
    which is not worth waiting for.
    """

    def __init__(self, update_monitor_s: float, rollback_monitor_s: float):
        self.monitor = {"update": update_monitor_s, "rollback": rollback_monitor_s}
        self.converged_at: float | None = None

    def verdict(self, state: str | None, running: int, wanted: int, now: float) -> str | None:
        """state: UpdateStatus.State of this rollout (None until the engine started it); running: tasks of the
        current spec that run; now: a monotonic clock. Returns converged/rolled_back/paused, or None to go on."""
        if state in ("paused", "rollback_paused", "rollback_completed"):
            return ROLLOUT_OUTCOME[state]
        if state == "completed" and running >= wanted:
            return "converged"
        if state not in ("updating", "rollback_started", "completed") or running < wanted:
            self.converged_at = None
            return None
        if self.converged_at is None:
            self.converged_at = now
        phase = "rollback" if state == "rollback_started" else "update"
        if now - self.converged_at >= self.monitor[phase]:
            return "rolled_back" if phase == "rollback" else "converged"
        return None


def monitor_seconds(config: dict | None) -> float:
    """An update_config/rollback_config's monitor window in seconds (the engine's default when unset)."""
    monitor = (config or {}).get("Monitor")
    return monitor / 1e9 if monitor else DEFAULT_MONITOR_S


HIDDEN = "(hidden)"


def _view(spec: dict) -> dict:
    """The parts of a spec worth reading in a diff."""
    if not spec:
        return {}
    template = spec.get("TaskTemplate", {})
    return {
        "image": template.get("ContainerSpec", {}).get("Image"),
        "mode": spec.get("Mode"),
        "env": template.get("ContainerSpec", {}).get("Env"),
        "placement": template.get("Placement"),
        "resources": template.get("Resources"),
        "healthcheck": template.get("ContainerSpec", {}).get("Healthcheck"),
        "update_config": spec.get("UpdateConfig"),
        "rollback_config": spec.get("RollbackConfig"),
        "endpoint": spec.get("EndpointSpec"),
        "networks": template.get("Networks"),
    }


def _env_names(env) -> dict:
    return dict(item.partition("=")[::2] for item in env or [])


def diff_views(before_spec: dict, after_spec: dict) -> tuple[dict, dict]:
    """(before, after) for diff mode. Environment values often are credentials: a diff names each variable and
    says whether its value changed, never the value."""
    before, after = _view(before_spec), _view(after_spec)
    old, new = _env_names(before.get("env")), _env_names(after.get("env"))
    if before:
        before["env"] = {name: HIDDEN for name in old} or None
    if after:
        after["env"] = {name: HIDDEN if old.get(name) == value else
                        f"{HIDDEN}, {'changed' if name in old else 'new'}" for name, value in new.items()} or None
    return before, after


_UNREACHABLE = ("dial tcp", "connection refused", "no route to host", "i/o timeout", "no such host",
                "tls handshake timeout", "context deadline exceeded", "network is unreachable", "connection reset")


def image_lookup_problem(image: str, registry: str, explanation: str) -> str:
    """What to tell an operator when the engine could not find an image's digest in its registry: the registry
    did not answer (where), the image is not there, or the image was never meant for a registry."""
    text = str(explanation)
    if any(marker in text.lower() for marker in _UNREACHABLE) and "index.docker.io" not in registry:
        return (f"the registry {registry} did not answer when asked for {image} ({text}). Check it runs and that "
                "this manager reaches it (swarmctl up brings the registry back); the image may well be there.")
    if any(marker in text.lower() for marker in _UNREACHABLE):  # Docker Hub, unreachable as everything outside
        return (f"cannot look up image {image}: it names no registry, so the engine asked Docker Hub, which it "
                f"cannot reach ({text}). Give the image's registry (e.g. {{{{ swarmctl_registry }}}}/name:tag), or, "
                "to run an image that exists only on the nodes, set resolve_image: false on the service.")
    local = "index.docker.io" in registry
    registry = "Docker Hub" if local else registry
    hint = (" It names no registry: to run an image that exists only on the nodes, set resolve_image: false on "
            "the service (every node that runs it must have it)." if local else
            " Push it first (swarmctl up pushes registry_images), and check the manager is logged in; to run an "
            "image that exists only on the nodes, set resolve_image: false on the service.")
    return f"cannot find image {image} in its registry {registry}: {text}.{hint}"


# -- following a rollout, on a manager's engine ---------------------------------------------------------
def rollout_failure(name: str, image: str, verb: str, rollout: str, now_image: str, failures: list, message: str,
                    running: str, wait_timeout) -> str:
    """What to tell an operator about a rollout of service NAME that did not converge: how it ended, what the
    service runs now, the engine's message and the failing tasks."""
    what = {"rolled_back": f"rolled back; the service runs {now_image.split('@')[0]} again",
            "paused": "paused; fix the cause and run again, or roll back (swarmctl rollback)",
            "timeout": f"did not finish within {wait_timeout}s"}[rollout]
    detail = f" {len(failures)} task failure(s): " + "; ".join(failures[:5]) if failures else ""
    return (f"{verb} {name} to {image or 'its new spec'}: the rollout {what}. {message}.{detail} "
            f"({running} tasks running)")


def live_image(api, name: str) -> str:
    """The image service NAME runs now (empty when it is gone)."""
    svc = _inspect_or_none(api, name) or {}
    return svc.get("Spec", {}).get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")


class RolloutFollower:
    """The rollout of service NAME that started at `since`, looked at step by step (expect_rollout: its tasks are
    replaced; else only its end state or settled tasks count), so that one loop can follow many services side
    by side. step() returns None while it goes on, then (rollout, running 'n/m', failure lines, the engine's
    message); rollout is converged, paused, rolled_back or timeout. Converged and rolled back wait for the old
    tasks to stop.

    While a node is away (down, drained, paused), a task no node can take now (its constraints name that node,
    say) is not waited for: the engine starts it when such a node is back, and its update waits for it
    meanwhile. The rollout has converged once every other task runs; `unplaced` then says which tasks wait, and
    why. With every node there, such a task is waited for (resources may free up), until the timeout."""

    def __init__(self, api, name: str, since, mode: dict, expect_rollout: bool, timeout: float):
        self.api, self.name, self.since, self.mode, self.expect_rollout = api, name, since, mode, expect_rollout
        self.deadline = time.monotonic() + timeout
        self.started = time.monotonic()
        self.watch = None
        self.outcome = None
        self.seconds = None
        self.unplaced: list[str] = []

    def step(self, nodes=None):
        """One look (nodes: the engine's node list, read once for every service followed in this round)."""
        if self.outcome is not None:
            return self.outcome
        nodes = self.api.nodes() if nodes is None else nodes
        svc = _inspect_or_none(self.api, self.name)
        status = (svc or {}).get("UpdateStatus") or {}
        fresh = bool(status) and parse_time(status.get("StartedAt", "")) >= self.since
        tasks = self.api.tasks(filters={"service": self.name})
        eligible = sum(1 for n in nodes if n.get("Status", {}).get("State") == "ready"
                       and n.get("Spec", {}).get("Availability") == "active")
        mode_now = svc["Spec"]["Mode"] if svc else self.mode
        state = status.get("State") if fresh else None
        away = nodes_away(nodes)
        unplaced = [t for t in tasks if _unplaceable(t)] if away else []
        rollout = None
        if self.expect_rollout:
            # Only tasks the rollout made count (old ones run on until replaced). Not the engine's own
            # `_up-to-date` task filter: on Docker 20.10 it crashes the daemon while a task has no node yet.
            new_tasks = [t for t in tasks if parse_time(t.get("CreatedAt", "")) >= self.since]
            running, wanted = convergence(new_tasks, mode_now, eligible)
            if self.watch is None and svc:
                self.watch = RolloutWatch(monitor_seconds(svc["Spec"].get("UpdateConfig")),
                                          monitor_seconds(svc["Spec"].get("RollbackConfig")))
            rollout = (self.watch.verdict(state, running + len(unplaced), wanted, time.monotonic())
                       if self.watch else None)
        else:
            # No task changes (replicas, labels): the engine's end state, or the tasks settled.
            running, wanted = convergence(tasks, mode_now, eligible)
            placed = running + len(unplaced)
            if state in ROLLOUT_OUTCOME and (state != "completed" or placed >= wanted):
                rollout = ROLLOUT_OUTCOME[state]
            elif not fresh and placed >= wanted and _settled([t for t in tasks if t not in unplaced]):
                rollout = "converged"
        if rollout in ("converged", "rolled_back") and _stopping(tasks, nodes) and time.monotonic() <= self.deadline:
            # Done means only the spec the service ended on answers: old tasks still finish their stop grace
            # period, serving, after the engine counts the rollout done.
            rollout = None
        elif rollout is None and time.monotonic() > self.deadline:
            rollout = "timeout"
        if rollout is None:
            return None
        names = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"][:12]) for n in nodes}
        waiting = unplaced if rollout == "converged" else []
        window = [task_summary(t, names) for t in tasks if parse_time(t.get("UpdatedAt", "")) >= self.since
                  and t not in waiting]
        self.unplaced = unplaced_lines(waiting, self.name, away) if waiting else []
        self.outcome = (rollout, f"{running}/{wanted}", failure_lines(window), status.get("Message", ""))
        self.seconds = round(time.monotonic() - self.started, 1)
        return self.outcome


def follow_rollout(api, name: str, since, mode: dict, expect_rollout: bool, timeout: float) -> RolloutFollower:
    """Wait until the rollout of service NAME that started at `since` ends; returns its follower, with its
    outcome (see RolloutFollower)."""
    follower = RolloutFollower(api, name, since, mode, expect_rollout, timeout)
    while follower.step() is None:
        time.sleep(0.2)
    return follower


def follow_rollouts(api, followers: list, interval: float = 0.5) -> None:
    """Follow many rollouts together until each has its outcome (follower.outcome): one node list a round, and
    one look at each service still rolling."""
    while any(f.outcome is None for f in followers):
        nodes = api.nodes()
        for follower in followers:
            follower.step(nodes)
        if any(f.outcome is None for f in followers):
            time.sleep(interval)


def nodes_away(nodes: list[dict]) -> list[str]:
    """The nodes that take no task now: 'name (down)', 'name (drain)', ..."""
    away = []
    for node in nodes:
        state, availability = node.get("Status", {}).get("State"), node.get("Spec", {}).get("Availability")
        if state != "ready" or availability != "active":
            name = node.get("Description", {}).get("Hostname", node["ID"][:12])
            away.append(f"{name} ({state if state != 'ready' else availability})")
    return sorted(away)


def _unplaceable(task) -> bool:
    """A task the service wants that the scheduler finds no node for (constraints, resources, a node down)."""
    status = task.get("Status", {})
    return (task.get("DesiredState") == "running" and status.get("State") == "pending"
            and status.get("Err", "").startswith("no suitable node"))


def unplaced_lines(tasks: list[dict], name: str, away: list[str]) -> list[str]:
    """One line per reason tasks of service NAME wait for a node: how many, with which image, the scheduler's
    words, and the nodes away now."""
    counts: dict = {}
    for task in tasks:
        image = task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "").split("@")[0]
        key = (image, task.get("Status", {}).get("Err", ""))
        counts[key] = counts.get(key, 0) + 1
    return [f"{count} task(s) of {name} ({image}) wait for a node: {err}; away now: {', '.join(away)}"
            for (image, err), count in sorted(counts.items())]


def _stopping(tasks, nodes):
    """Tasks the service no longer wants that still run on a node that answers (one that is down cannot stop
    them, and they will not serve there)."""
    ready = {n["ID"] for n in nodes if n.get("Status", {}).get("State") == "ready"}
    return [t for t in tasks if t.get("DesiredState") in ("shutdown", "remove")
            and t.get("Status", {}).get("State") == "running" and t.get("NodeID") in ready]


def _settled(tasks):
    """No task the service still wants is on its way up (pending, starting, ...)."""
    return all(t.get("Status", {}).get("State") == "running" for t in tasks if t.get("DesiredState") == "running")


def engine_time(api):
    """The engine's clock now: UpdateStatus and task times come from it, not from the host's clock."""
    return parse_time(api.info().get("SystemTime", ""))


def _inspect_or_none(api, name: str):
    try:
        return api.inspect_service(name)
    except EngineAPIError as exc:
        if exc.not_found:
            return None
        raise

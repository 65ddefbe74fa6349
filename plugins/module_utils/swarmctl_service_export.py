# A live service read back as swarmctl_service's options (an item of the inventory's swarmctl_services): the
# inverse of build_spec, checked against it, so that adopting a service swarmctl did not make changes nothing.

from __future__ import annotations

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (
    SERVICE_OPTIONS,
    build_spec,
    spec_differences,
)
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import point_at_versions

_DURATION_STEPS = (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1))
DEFAULT_FILE_MODE = 0o444
# Services that are swarmctl's own or come from a compose file: kept out of an export, with the reason.
OWN_ROLE_LABEL = "io.swarmctl.role"
STACK_LABEL = "com.docker.stack.namespace"


def duration_text(ns) -> str | None:
    """Nanoseconds -> the shortest exact form duration_ns reads back ('90s', '500ms')."""
    if not ns:
        return None
    for unit, size in _DURATION_STEPS:
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return None


def _compact(options: dict) -> dict:
    return {k: v for k, v in options.items() if v not in (None, {}, [], "")}


def _rollout_config(cfg) -> dict | None:
    if not cfg:
        return None
    return _compact({
        "parallelism": cfg.get("Parallelism") or None,
        "delay": duration_text(cfg.get("Delay")),
        "failure_action": cfg.get("FailureAction"),
        "monitor": duration_text(cfg.get("Monitor")),
        "max_failure_ratio": cfg.get("MaxFailureRatio") or None,
        "order": cfg.get("Order"),
    }) or None


def _healthcheck(hc) -> dict | None:
    if not hc:
        return None
    test = hc.get("Test")
    if isinstance(test, list) and len(test) == 2 and test[0] == "CMD-SHELL":
        test = test[1]
    return _compact({
        "test": test,
        "interval": duration_text(hc.get("Interval")),
        "timeout": duration_text(hc.get("Timeout")),
        "retries": hc.get("Retries") or None,
        "start_period": duration_text(hc.get("StartPeriod")),
    }) or None


def _resources(res) -> dict | None:
    if not res:
        return None
    cpus = res.get("NanoCPUs")
    if cpus:
        cpus = cpus // 10**9 if cpus % 10**9 == 0 else cpus / 10**9
    return _compact({"cpus": cpus or None, "memory": res.get("MemoryBytes") or None}) or None


def _references(refs, kind: str, families: dict) -> list:
    """Secret (or config) references, a version swarmctl keeps named by its family (the services role points
    it at the current version again); target, uid, gid and mode only where they are not the default."""
    out = []
    for ref in refs or []:
        name = ref.get(f"{kind.capitalize()}Name")
        family = families.get(name)
        item = {"name": family or name}
        file = ref.get("File") or {}
        if family:
            default_target = family if kind == "secret" else f"/{family}"
        else:
            default_target = name
        if file.get("Name") and file["Name"] != default_target:
            item["target"] = file["Name"]
        for key in ("uid", "gid"):
            if str(file.get(key.upper(), "0")) != "0":
                item[key] = str(file[key.upper()])
        if file.get("Mode") is not None and file["Mode"] != DEFAULT_FILE_MODE:
            item["mode"] = f"{file['Mode']:04o}"
        out.append(item)
    return out


def service_options(spec: dict, network_names: dict, families: dict) -> dict:
    """The options of swarmctl_service that describe a live ServiceSpec. network_names: network ID -> name;
    families: {'secret': {version: family}, 'config': {...}} for the versions swarmctl keeps."""
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    placement = template.get("Placement") or {}
    restart = template.get("RestartPolicy") or {}
    endpoint = spec.get("EndpointSpec") or {}
    image = container.get("Image", "")
    mode = spec.get("Mode") or {}
    options = {
        "name": spec.get("Name"),
        "image": image.split("@")[0] if "@" in image and ":" in image.split("@")[0].rsplit("/", 1)[-1] else image,
        # An image the engine was not asked to pin to a digest stays as it was given.
        "resolve_image": None if "@" in image else False,
        "mode": "global" if "Global" in mode else None,
        "replicas": mode.get("Replicated", {}).get("Replicas") if "Replicated" in mode else None,
        "command": container.get("Command"),
        "args": container.get("Args"),
        "env": dict(item.partition("=")[::2] for item in container.get("Env") or []) or None,
        "hostname": container.get("Hostname"),
        "user": container.get("User"),
        "workdir": container.get("Dir"),
        "labels": spec.get("Labels"),
        "container_labels": container.get("Labels"),
        "networks": [network_names.get(n.get("Target"), n.get("Target")) for n in template.get("Networks") or []],
        "publish": [_compact({"published": p.get("PublishedPort"), "target": p.get("TargetPort"),
                              "protocol": None if p.get("Protocol", "tcp") == "tcp" else p.get("Protocol"),
                              "mode": None if p.get("PublishMode", "ingress") == "ingress" else p.get("PublishMode")})
                    for p in endpoint.get("Ports") or []],
        "endpoint_mode": endpoint.get("Mode") if endpoint.get("Mode") not in (None, "vip") else None,
        "constraints": placement.get("Constraints"),
        "placement_preferences": [{"spread": p["Spread"]["SpreadDescriptor"]}
                                  for p in placement.get("Preferences") or [] if "Spread" in p],
        "max_replicas_per_node": placement.get("MaxReplicas") or None,
        "limits": _resources((template.get("Resources") or {}).get("Limits")),
        "reservations": _resources((template.get("Resources") or {}).get("Reservations")),
        "healthcheck": _healthcheck(container.get("Healthcheck")),
        "restart_policy": _compact({"condition": restart.get("Condition"),
                                    "delay": duration_text(restart.get("Delay")),
                                    "max_attempts": restart.get("MaxAttempts") or None,
                                    "window": duration_text(restart.get("Window"))}) or None,
        "update_config": _rollout_config(spec.get("UpdateConfig")),
        "rollback_config": _rollout_config(spec.get("RollbackConfig")),
        "mounts": [_compact({"type": None if m.get("Type") == "volume" else m.get("Type"), "source": m.get("Source"),
                             "target": m.get("Target"), "readonly": True if m.get("ReadOnly") else None})
                   for m in container.get("Mounts") or []],
        "secrets": _references(container.get("Secrets"), "secret", families.get("secret", {})),
        "configs": _references(container.get("Configs"), "config", families.get("config", {})),
        "stop_grace_period": duration_text(container.get("StopGracePeriod")),
    }
    return {key: options[key] for key in SERVICE_OPTIONS if key in options and options[key] not in (None, {}, [], "")}


def unexpressed(spec: dict, options: dict, network_names: dict, families: dict) -> list:
    """The paths of the live spec that the options do not give back (what a deploy of them would take out):
    build_spec of the options, as the services role hands them over, compared with the spec as a deploy
    compares them."""
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    params = dict(options, replicas=options.get("replicas", 1))
    ids = {}
    for kind in ("secret", "config"):
        field = kind.capitalize()
        versions = {family: version for version, family in families.get(kind, {}).items()}
        params[f"{kind}s"] = point_at_versions(options.get(f"{kind}s"), kind, versions)
        ids[kind] = {ref[f"{field}Name"]: ref[f"{field}ID"] for ref in container.get(f"{field}s") or []}
    built = build_spec(params, container.get("Image", ""), {name: nid for nid, name in network_names.items()},
                       ids["secret"], ids["config"])
    return spec_differences(built, spec)


def kept_out(spec: dict) -> str | None:
    """Why a service is left out of an export, or None."""
    labels = spec.get("Labels") or {}
    if OWN_ROLE_LABEL in labels:
        return f"swarmctl's own ({labels[OWN_ROLE_LABEL]}): swarmctl up keeps it"
    if STACK_LABEL in labels:
        return f"a service of stack {labels[STACK_LABEL]} (a compose file: swarmctl_stacks)"
    mode = spec.get("Mode") or {}
    if not ({"Replicated", "Global"} & set(mode)):
        return f"a {', '.join(mode) or 'job'} service, which swarmctl_services cannot describe"
    return None

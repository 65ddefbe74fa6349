"""Check an inventory and the variables given to a run before anything touches a host (see the module of the
same name). Its failures are marked as bad input (swarmctl_bad_input), which swarmctl reports with exit code 2."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import SERVICE_OPTIONS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import name_problem

SWARM_GROUPS = ("managers", "workers")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def tolerance(managers: int) -> int:
    """Manager failures a swarm of this many managers survives: (N-1)/2, rounded down."""
    return max(0, (managers - 1) // 2)


# Docker's reference grammar, simplified: [REGISTRY[:PORT]/]PATH[:TAG][@DIGEST]. The first part is a registry
# only if it has a '.' or a ':' or is localhost; path components are lowercase.
_REGISTRY_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?$")
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_SERVICE_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
# What an item of swarmctl_services may hold: the service options of swarmctl_service, and `expose`.
# Keys of a swarmctl_services item that are the services role's own (roles/services: services_role_keys).
SERVICE_ROLE_KEYS = ("expose", "deploy_order")
SERVICE_ITEM_KEYS = sorted(set(SERVICE_OPTIONS) | set(SERVICE_ROLE_KEYS))
# What a service's secrets and configs references may hold (swarmctl_service: target file, owner, mode).
OBJECT_REFERENCE_KEYS = {"secrets": {"name", "target", "uid", "gid", "mode", "pending"},
                         "configs": {"name", "target", "uid", "gid", "mode", "pending", "data", "labels"}}
AVAILABILITIES = ("active", "pause", "drain")


def _port_ok(value) -> bool:
    return not isinstance(value, bool) and str(value).isdigit() and 0 < int(value) < 65536


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_image(image) -> str | None:
    """Why image is not an image reference; None when it is one."""
    if not isinstance(image, str) or not image:
        return f"image {image!r} is not an image reference (e.g. registry.example.com/web:v1)"
    if not _image_ok(image):
        return (f"image {image!r} is not an image reference: REGISTRY[:PORT]/NAME[:TAG][@DIGEST], the name in "
                "lowercase (e.g. registry.example.com/web:v1)")
    return None


def _image_ok(image: str) -> bool:
    name, dummy, digest = image.partition("@")
    if digest and not _DIGEST_RE.match(digest):
        return False
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _REGISTRY_RE.match(parts[0]):
            return False
        parts = parts[1:]
    last, colon, tag = parts[-1].partition(":")
    if colon and not _TAG_RE.match(tag):
        return False
    return all(_PATH_COMPONENT_RE.match(p) for p in parts[:-1] + [last])


def check_service(item, index: int) -> list[str]:
    """Problems of one item of swarmctl_services."""
    where = f"swarmctl_services[{index}]"
    if not isinstance(item, dict):
        return [f"{where} must be a mapping (name, image, replicas, ...), not {type(item).__name__} {item!r}"]
    name = item.get("name")
    if isinstance(name, str) and name:
        where = f"service {name!r}"
    problems = []
    for key in sorted(set(item) - set(SERVICE_ITEM_KEYS)):
        problems.append(f"{where}: {key!r} is not a service option{_suggest(key, SERVICE_ITEM_KEYS)}; the options "
                        "are those of swarmctl_service (see plugins/modules/swarmctl_service.py), `expose` and "
                        "`deploy_order`")
    if problems:
        return problems
    if not isinstance(name, str) or not _SERVICE_NAME_RE.match(name):
        problems.append(f"{where}: name {name!r} is not a service name (letters, digits, '_', '.', '-'; "
                        "at most 63 characters, starting with a letter or digit)")
    options = {k: v for k, v in item.items() if k not in SERVICE_ROLE_KEYS}
    validated = ArgumentSpecValidator(SERVICE_OPTIONS).validate(options)
    for error in validated.errors:
        problems.append(f"{where}: {error}")
    params = validated.validated_parameters
    if "image" not in item:
        problems.append(f"{where}: image is required (e.g. image: registry.example.com/web:v1)")
    elif isinstance(params.get("image"), str):
        problem = check_image(params["image"])
        if problem:
            problems.append(f"{where}: {problem}")
    for kind, keys in OBJECT_REFERENCE_KEYS.items():
        for index, ref in enumerate(params.get(kind) or []):
            if not isinstance(ref.get("name"), str) or not ref["name"]:
                problems.append(f"{where}: {kind}[{index}] needs the name of the {kind[:-1]} (name: ...)")
            for extra in sorted(set(ref) - keys):
                problems.append(f"{where}: {kind}[{index}]: {extra!r} is not a {kind[:-1]} reference key"
                                f"{_suggest(extra, sorted(keys))}; give {', '.join(sorted(keys))}")
    replicas = params.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        problems.append(f"{where}: replicas must be 0 or more, not {replicas}")
    order = item.get("deploy_order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        problems.append(f"{where}: deploy_order must be a whole number (services of one deploy_order roll out side "
                        f"by side, lower ones first), not {order!r}")
    if "expose" in item:
        expose = item["expose"]
        if not isinstance(expose, dict) or set(expose) - {"port", "target"} or not {"port", "target"} <= set(expose):
            problems.append(f"{where}: expose must be {{port: PUBLISHED, target: CONTAINER_PORT}}, not {expose!r}")
        else:
            for key in ("port", "target"):
                if not _port_ok(expose[key]):
                    problems.append(f"{where}: expose.{key} must be a TCP port (1-65535), not {expose[key]!r}")
    return problems


def _mappings(items, key: str, form: str) -> tuple[list[str], list[tuple[str, dict]]]:
    """A variable that must be a list of mappings: (problems, [(where, item)] of the items that are mappings)."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [f"{key} must be a list of {form}, not {type(items).__name__}"], []
    problems, found = [], []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            found.append((f"{key}[{index}]", item))
        else:
            problems.append(f"{key}[{index}] must be a mapping {form}")
    return problems, found


def check_objects(items, kind: str) -> list[str]:
    """Problems of swarmctl_secrets or swarmctl_configs, as swarmctl_object_shapes gives them: a value replaced
    by {type: NAME}, a file's path made absolute. A message never holds a value."""
    key = f"swarmctl_{kind}s"
    problems, mappings = _mappings(items, key, "{name: NAME, value: TEXT} or {name: NAME, file: PATH}")
    names = []
    for where, item in mappings:
        name = item.get("name")
        problem = name_problem(name)
        if problem:
            problems.append(f"{where}: {problem}")
        else:
            where = f"{kind} {name!r}"
            names.append(name)
        for extra in sorted(set(item) - {"name", "value", "file", "state"}):
            problems.append(f"{where}: {extra!r} is not a {kind} key"
                            f"{_suggest(extra, ['name', 'value', 'file', 'state'])}; give name and one of value, "
                            "file (or state: absent)")
        state = item.get("state", "present")
        if state not in ("present", "absent"):
            problems.append(f"{where}: state must be present or absent, not {state!r}")
        if state != "present":
            continue  # taken out of the swarm (or to be, once its state is right): no value to check
        if ("value" in item) == ("file" in item):
            problems.append(f"{where}: give exactly one of value (the text itself, e.g. from Ansible Vault) and file "
                            "(a path on the control machine, relative to the inventory's folder)")
        elif "value" in item and (item["value"] or {}).get("type") != "text":
            problems.append(f"{where}: value must be text, not {(item['value'] or {}).get('type')} (quote it in YAML)")
        elif "value" in item and (item["value"] or {}).get("empty"):
            problems.append(f"{where}: value is empty (taken from an environment variable that is not set, as "
                            "lookup('ansible.builtin.env', ...) gives it?)")
        elif "file" in item and not (isinstance(item["file"], str) and os.path.isfile(item["file"])):
            problems.append(f"{where}: file {item['file']!r} is not a file on the control machine")
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{kind} {dup!r} is declared more than once in {key}")
    return problems


def check_absent_objects_unused(values: dict) -> list[str]:
    """A secret or config the inventory says is absent must be named by none of its services."""
    problems = []
    services = [svc for svc in values.get("swarmctl_services") or [] if isinstance(svc, dict)]
    for kind in ("secret", "config"):
        items = values.get(f"swarmctl_{kind}s")
        absent = {o.get("name") for o in items if isinstance(o, dict) and o.get("state") == "absent"} \
            if isinstance(items, list) else set()
        for svc in services:
            refs = svc.get(f"{kind}s")
            named = {ref.get("name") for ref in refs if isinstance(ref, dict)} if isinstance(refs, list) else set()
            for name in sorted(named & absent):
                problems.append(f"service {svc.get('name')!r} names {kind} {name!r}, which swarmctl_{kind}s says is "
                                f"absent: take it out of the service's {kind}s, or keep the {kind}")
    return problems


STACK_KEYS = ("name", "compose", "env", "prune", "wait_timeout")
_STACK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def check_stacks(items) -> list[str]:
    """Problems of swarmctl_stacks, as swarmctl_stack_shapes gives them (paths absolute, env values hidden)."""
    problems, mappings = _mappings(items, "swarmctl_stacks", "{name: NAME, compose: FILE, env: {...}}")
    names = []
    for where, item in mappings:
        name = item.get("name")
        if isinstance(name, str) and _STACK_NAME_RE.match(name):
            where = f"stack {name!r}"
            names.append(name)
        else:
            problems.append(f"{where}: name {name!r} is not a stack name (letters, digits, '_', '.', '-')")
        for extra in sorted(set(item) - set(STACK_KEYS)):
            problems.append(f"{where}: {extra!r} is not a stack key{_suggest(extra, STACK_KEYS)}; the keys are "
                            f"{', '.join(STACK_KEYS)}")
        compose = item.get("compose")
        if not (isinstance(compose, str) and os.path.isfile(compose)):
            problems.append(f"{where}: compose {compose!r} is not a file on the control machine (a path relative "
                            "to the inventory's folder)")
        if "env" in item and not isinstance(item["env"], dict):
            problems.append(f"{where}: env must be a mapping of the variables the compose file interpolates")
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"stack {dup!r} is declared more than once in swarmctl_stacks")
    return problems


def check_variables(values: dict, hosts: dict | None = None) -> list[str]:
    """Problems of the variables a run was given (None: not set, the role's default applies).

    values: variable name -> value, for the variables below. hosts: host name -> its own settings
    (node availability and labels)."""
    errors: list[str] = []
    name = values.get("swarmctl_registry_name")
    if name is not None and (not isinstance(name, str) or not _HOSTNAME_RE.match(name) or _is_ip(name)):
        errors.append(f"swarmctl_registry_name {name!r} is not a host name: give the name the registry is reached by, "
                      "without scheme, port or path (e.g. registry.example.com; the port is swarmctl_registry_port)")
    for key in ("swarmctl_registry_port", "swarmctl_docker_tls_port", "reconciler_status_port"):
        value = values.get(key)
        if value is not None and not _port_ok(value):
            errors.append(f"{key} must be a TCP port (1-65535), not {value!r}")
    bind = values.get("reconciler_status_bind")
    if bind is not None and not (isinstance(bind, str) and _is_ip(bind)):
        errors.append(f"reconciler_status_bind {bind!r} is not an IP address to listen on (e.g. 127.0.0.1)")
    failures = values.get("reconciler_probe_failures")
    if failures is not None and (isinstance(failures, bool) or not str(failures).isdigit() or int(failures) == 1):
        errors.append("reconciler_probe_failures must be 0 (wait for Swarm alone) or a whole number of at least 2 "
                      f"(one missed probe is never enough to give up on a manager), not {failures!r}")
    for key, least in (("reconciler_manager_grace_seconds", 0), ("reconciler_desired_managers", 1),
                       ("reconciler_probe_interval_seconds", 0.1), ("reconciler_probe_timeout_seconds", 0.1)):
        value = values.get(key)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if isinstance(value, bool) or number is None or number < least:
            errors.append(f"{key} must be a number of at least {least}, not {value!r}")
    balancer = values.get("swarmctl_load_balancer")
    if balancer is not None and balancer not in ("auto", "mesh", "haproxy"):
        errors.append(f"swarmctl_load_balancer must be auto, mesh or haproxy, not {balancer!r}")
    source = values.get("docker_engine_package_source")
    if source is not None and source not in ("cluster", "mirror", "bundle"):
        errors.append(f"docker_engine_package_source must be cluster (one download for the cluster), mirror (every "
                      f"host from its own apt sources) or bundle (offline, from the control machine), not {source!r}")
    for key in ("docker_engine_daemon_config", "docker_engine_daemon_extra"):
        value = values.get(key)
        if value is not None and not isinstance(value, dict):
            errors.append(f"{key} must be a mapping of daemon.json keys to values, not {value!r}")
    image = values.get("services_image")
    if image is not None:
        problem = check_image(image)
        if problem:
            errors.append(f"--image: {problem}")
    services = values.get("swarmctl_services")
    if services is not None:
        if not isinstance(services, list):
            errors.append(f"swarmctl_services must be a list of services, not {type(services).__name__}")
        else:
            names = []
            for index, item in enumerate(services):
                errors += check_service(item, index)
                if isinstance(item, dict):
                    names.append(item.get("name"))
            for dup in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
                errors.append(f"service {dup!r} is declared more than once in swarmctl_services")
    for kind in ("secret", "config"):
        errors += check_objects(values.get(f"swarmctl_{kind}s"), kind)
    errors += check_absent_objects_unused(values)
    errors += check_stacks(values.get("swarmctl_stacks"))
    for host, settings in sorted((hosts or {}).items()):
        availability = settings.get("availability")
        if availability is not None and availability not in AVAILABILITIES:
            errors.append(f"host {host}: swarm_node_availability must be one of {', '.join(AVAILABILITIES)}, "
                          f"not {availability!r}")
        labels = settings.get("labels")
        if labels is not None and not isinstance(labels, dict):
            errors.append(f"host {host}: swarm_node_labels must be a mapping (name: value), not {labels!r}")
    return errors


def check_nodes(groups: dict, nodes: list, removing: bool = False) -> list[str]:
    """Problems of the hosts a membership job (add-node, remove-node) was given."""
    managers = list(groups.get("managers") or [])
    swarm_hosts = managers + list(groups.get("workers") or [])
    if not nodes:
        return ["name at least one host of the inventory's managers or workers groups"]
    errors = []
    unknown = [n for n in nodes if n not in swarm_hosts]
    if unknown:
        errors.append(f"{', '.join(unknown)}: not in the inventory's managers or workers groups"
                      f"{_suggest(unknown[0], swarm_hosts)}; name hosts of those groups"
                      + ("" if removing else " (put new hosts in the inventory first)"))
    if removing and managers and set(managers) <= set(nodes):
        errors.append(f"removing {', '.join(managers)} would leave the swarm without a manager, and a swarm cannot "
                      "run without one. Keep at least one manager (remove the others, then the workers), or take "
                      "the whole swarm apart with `docker swarm leave --force` on every host.")
    return errors


def check_inventory(groups: dict, hosts: dict, registry_enabled: bool = True) -> dict:
    """Return {"errors": [...], "warnings": [...], ...} for an inventory.

    groups: group name -> host names (Ansible's ``groups``).
    hosts: host name -> {"address": ansible_host or None, "connection": ..., "advertise_addr": ...}.
    """
    errors: list[str] = []
    warnings: list[str] = []
    managers = list(groups.get("managers") or [])
    workers = list(groups.get("workers") or [])
    registry = list(groups.get("registry") or [])

    if not managers:
        errors.append(
            "the inventory has no hosts in group 'managers': a swarm needs at least one manager. "
            "Add one, e.g.\n  managers:\n    hosts:\n      base2:\n        ansible_host: 172.25.78.12"
        )
    elif len(managers) % 2 == 0:
        warnings.append(
            f"{len(managers)} managers tolerate {tolerance(len(managers))} manager failure(s), no more than "
            f"{len(managers) - 1} would ((N-1)/2 rounded down): an even count adds risk without adding "
            "tolerance. Use an odd number of managers (1, 3, 5, 7)."
        )
    if "workers" not in groups:
        warnings.append("the inventory has no group 'workers': every node will be a manager")

    both = sorted(set(managers) & set(workers))
    if both:
        errors.append(
            f"host(s) {', '.join(both)} are in both 'managers' and 'workers'; a node has one role: "
            "keep each host in one of the two groups"
        )

    if registry_enabled:
        if not registry:
            errors.append(
                "the inventory has no host in group 'registry', which serves the private registry. Add one "
                "(it may also be a swarm host), or set swarmctl_registry_enabled: false"
            )
        elif len(registry) > 1:
            errors.append(
                f"group 'registry' has {len(registry)} hosts ({', '.join(registry)}); it takes exactly one"
            )

    involved = sorted(set(managers) | set(workers) | (set(registry) if registry_enabled else set()))
    by_address: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for name in involved:
        info = hosts.get(name) or {}
        address = str(info.get("address") or name)
        if info.get("connection") == "local":
            # This machine itself, on purpose (a pipeline running on a manager): its swarm address comes from
            # swarmctl_advertise_addr or its facts, so its inventory address says nothing.
            address = str(info.get("advertise_addr") or f"(this machine: {name})")
        elif address in ("localhost", "::1") or address.startswith("127."):
            errors.append(
                f"host {name} points at this machine ({address}) over SSH; give ansible_host the host's own address, "
                "or, to make this machine a swarm host, set ansible_connection: local for it"
            )
        elif not (_is_ip(address) or _HOSTNAME_RE.match(address)):
            errors.append(f"host {name} has ansible_host {address!r}, which is neither an IP address nor a host name")
        by_address.setdefault(address.lower(), []).append(name)
        by_name.setdefault(name.lower(), []).append(name)
        advertise = info.get("advertise_addr")
        if advertise and not _is_ip(str(advertise)):
            errors.append(
                f"host {name} has swarmctl_advertise_addr {advertise!r}; it must be an IP address of that host"
            )
    for address, names in sorted(by_address.items()):
        if len(names) > 1:
            errors.append(
                f"hosts {', '.join(names)} share the address {address}; every host needs its own "
                "(check ansible_host)"
            )
    for dummy, names in sorted(by_name.items()):
        if len(names) > 1:
            errors.append(f"host names {', '.join(names)} differ only in case; node names must be unique")

    return {
        "errors": errors,
        "warnings": warnings,
        "managers": managers,
        "workers": workers,
        "registry": registry,
        "tolerance": tolerance(len(managers)),
    }


ARGUMENT_SPEC = dict(
    registry_enabled=dict(type="bool", default=True),
    nodes=dict(type="list", elements="str"),
    removing=dict(type="bool", default=False),
    variables=dict(type="dict", default={}),
)


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        groups = {k: list(v) for k, v in task_vars.get("groups", {}).items()}
        hostvars = task_vars.get("hostvars", {})
        hosts, settings = {}, {}
        for name in groups.get("all", []):
            host_vars = hostvars[name]
            hosts[name] = {
                "address": host_vars.get("ansible_host"),
                "connection": host_vars.get("ansible_connection"),
                "advertise_addr": host_vars.get("swarmctl_advertise_addr"),
            }
            settings[name] = {"availability": host_vars.get("swarm_node_availability"),
                              "labels": host_vars.get("swarm_node_labels")}
        report = check_inventory(groups, hosts, registry_enabled=args["registry_enabled"])
        report["errors"] += check_variables({k: v for k, v in args["variables"].items() if v is not None}, settings)
        if args["nodes"] is not None:
            report["errors"] += check_nodes(groups, [n.strip() for n in args["nodes"] if n.strip()], args["removing"])
        result["changed"] = False
        result["report"] = report
        if report["warnings"]:
            result["warnings"] = report["warnings"]
        if report["errors"]:
            result["failed"] = True
            result["swarmctl_bad_input"] = True
            count = len(report["errors"])
            result["msg"] = (f"the inventory or the variables given have {count} problem(s); nothing was changed:\n- "
                             + "\n- ".join(report["errors"]))
        else:
            result["msg"] = (
                f"inventory ok: {len(report['managers'])} manager(s) (tolerates {report['tolerance']} failure(s)), "
                f"{len(report['workers'])} worker(s), registry on {', '.join(report['registry']) or 'none'}"
            )
        return result

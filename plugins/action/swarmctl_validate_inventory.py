"""Check an inventory's shape before anything touches a host (see the module of the same name)."""

from __future__ import annotations

import ipaddress
import re

from ansible.plugins.action import ActionBase

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
        if info.get("connection") == "local" or address in ("localhost", "::1") or address.startswith("127."):
            errors.append(
                f"host {name} points at this machine ({address}); swarm and registry hosts must be "
                "remote hosts reached over SSH: set ansible_host to the host's address"
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
    for _, names in sorted(by_name.items()):
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


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec=dict(registry_enabled=dict(type="bool", default=True))
        )
        groups = {k: list(v) for k, v in task_vars.get("groups", {}).items()}
        hostvars = task_vars.get("hostvars", {})
        hosts = {}
        for name in groups.get("all", []):
            host_vars = hostvars[name]
            hosts[name] = {
                "address": host_vars.get("ansible_host"),
                "connection": host_vars.get("ansible_connection"),
                "advertise_addr": host_vars.get("swarmctl_advertise_addr"),
            }
        report = check_inventory(groups, hosts, registry_enabled=args["registry_enabled"])
        result["changed"] = False
        result["report"] = report
        if report["warnings"]:
            result["warnings"] = report["warnings"]
        if report["errors"]:
            result["failed"] = True
            count = len(report["errors"])
            result["msg"] = f"the inventory has {count} problem(s):\n- " + "\n- ".join(report["errors"])
        else:
            result["msg"] = (
                f"inventory ok: {len(report['managers'])} manager(s) (tolerates {report['tolerance']} failure(s)), "
                f"{len(report['workers'])} worker(s), registry on {', '.join(report['registry']) or 'none'}"
            )
        return result

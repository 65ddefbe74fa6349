"""Pure planning of a lab: which hosts, with which names, roles and addresses.

The default is the seed's environment: base2 (manager), base3 and base4 (workers) at
172.25.78.12-14, and a registry host (the seed's foundation78) that serves ``westos.org``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass

DEFAULT_LAB = "lab"
DEFAULT_SUBNET = "172.25.78.0/24"
DEFAULT_PREFIX = "base"
DEFAULT_REGISTRY_HOST = "foundation78"
FIRST_HOST_NUMBER = 2  # base2 is the seed's first host
FIRST_HOST_OFFSET = 12  # ...at .12
REGISTRY_OFFSET = 78  # foundation78 at .78
MAX_HOSTS = REGISTRY_OFFSET - FIRST_HOST_OFFSET

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


class TopologyError(ValueError):
    """A lab request that cannot be planned; the message says what to change."""


@dataclass(frozen=True)
class LabHost:
    name: str
    group: str  # managers | workers | registry
    address: str


@dataclass(frozen=True)
class LabSpec:
    """What a user asked for; stored with the lab so a later `lab up` can repeat it."""

    name: str = DEFAULT_LAB
    managers: int = 1
    workers: int = 2
    subnet: str = DEFAULT_SUBNET
    prefix: str = DEFAULT_PREFIX
    registry: bool = True
    registry_host: str = DEFAULT_REGISTRY_HOST

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LabSpec":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def plan(spec: LabSpec) -> list[LabHost]:
    """Return the hosts of a lab, managers first, then workers, then the registry host."""
    _check_name("lab name", spec.name)
    _check_name("host prefix", spec.prefix)
    if spec.managers < 1:
        raise TopologyError(
            f"a swarm needs at least one manager (asked for {spec.managers}); use --managers 1 or more"
        )
    if spec.workers < 0:
        raise TopologyError(f"--workers must be 0 or more (asked for {spec.workers})")
    count = spec.managers + spec.workers
    if count > MAX_HOSTS:
        raise TopologyError(f"a lab holds at most {MAX_HOSTS} swarm hosts (asked for {count})")
    network = _network(spec.subnet)

    hosts = []
    for index in range(count):
        group = "managers" if index < spec.managers else "workers"
        name = f"{spec.prefix}{FIRST_HOST_NUMBER + index}"
        hosts.append(LabHost(name, group, str(network.network_address + FIRST_HOST_OFFSET + index)))
    if spec.registry:
        _check_name("registry host name", spec.registry_host)
        if spec.registry_host in {h.name for h in hosts}:
            raise TopologyError(
                f"the registry host name {spec.registry_host!r} clashes with a swarm host; "
                "choose another with --registry-host"
            )
        hosts.append(
            LabHost(spec.registry_host, "registry", str(network.network_address + REGISTRY_OFFSET))
        )
    return hosts


def gateway(subnet: str) -> str:
    return str(_network(subnet).network_address + 1)


def _network(subnet: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise TopologyError(f"--subnet {subnet!r} is not a network address in CIDR form ({exc})") from None
    if network.version != 4:
        raise TopologyError(f"--subnet {subnet!r} must be IPv4")
    if network.prefixlen > 25:
        raise TopologyError(
            f"--subnet {subnet!r} is too small: the lab uses offsets up to .{REGISTRY_OFFSET}, use /25 or larger"
        )
    return network


def _check_name(what: str, value: str) -> None:
    if not _NAME_RE.match(value or ""):
        raise TopologyError(
            f"{what} {value!r} is not valid: use lowercase letters, digits and '-', "
            "starting with a letter, at most 24 characters"
        )

"""A compose file's published ports behind HAProxy, where the routing mesh cannot work (no IPVS in a node's
kernel): the same load balancing swarmctl_services get with `expose`. Control-machine code, used by the filters.

A service that publishes ports in ingress mode (the default) loses those ports, joins the load balancer's
network and takes endpoint_mode dnsrr; each port becomes an exposure {name: STACK_SERVICE, expose: {port,
target}} for roles/edge_lb, whose HAProxy publishes it on every node and finds the tasks through the swarm's
DNS (tasks.STACK_SERVICE). Ports published in host mode are left to the service."""

from __future__ import annotations

import copy
import re

# The key under which the load balancer's network is declared in a rewritten compose file (external, by name).
EDGE_KEY = "swarmctl-edge"
_SHORT_PORT = re.compile(r"^(?:(?P<ip>[^:]+):)?(?P<published>\d+):(?P<target>\d+)(?:/(?P<protocol>tcp|udp))?$")


class StackLBError(ValueError):
    """A published port HAProxy cannot front; the message names the stack, the service and the port."""


def _published(entry, where: str) -> tuple[int, int] | None:
    """(published, target) of a port HAProxy should front, or None for one left to the service (host mode)."""
    if isinstance(entry, dict):
        if entry.get("mode") == "host":
            return None
        published, target, protocol = entry.get("published"), entry.get("target"), entry.get("protocol", "tcp")
    else:
        text = str(entry)
        match = _SHORT_PORT.match(text)
        if not match:
            raise StackLBError(f"{where}: port {text!r} cannot be balanced by HAProxy; publish one port as "
                               "PUBLISHED:TARGET (no range, no variable), or in host mode (long syntax, mode: host)")
        if match["ip"]:
            raise StackLBError(f"{where}: port {text!r} names a host address; HAProxy listens on every node's "
                               "addresses - give PUBLISHED:TARGET")
        published, target, protocol = match["published"], match["target"], match["protocol"] or "tcp"
    if protocol != "tcp":
        raise StackLBError(f"{where}: port {entry!r} is {protocol}; HAProxy balances TCP (HTTP) ports only")
    try:
        published, target = int(published), int(target)
    except (TypeError, ValueError):
        raise StackLBError(f"{where}: port {entry!r} needs a published and a target port") from None
    if not (0 < published < 65536 and 0 < target < 65536):
        raise StackLBError(f"{where}: port {entry!r} is out of range")
    return published, target


def behind_haproxy(compose, stack: str, network: str) -> tuple[dict, list[dict]]:
    """(the compose file rewritten for HAProxy, the exposures it makes). A file without ingress ports comes back
    as it was, with no exposure."""
    if not isinstance(compose, dict):
        return compose, []
    compose = copy.deepcopy(compose)
    exposed = []
    for name, service in (compose.get("services") or {}).items():
        if not isinstance(service, dict) or not service.get("ports"):
            continue
        where = f"stack {stack}, service {name}"
        kept, balanced = [], []
        for entry in service["ports"]:
            ports = _published(entry, where)
            (kept if ports is None else balanced).append(entry if ports is None else ports)
        if not balanced:
            continue
        if kept:
            service["ports"] = kept
        else:
            del service["ports"]
        networks = service.get("networks")
        if networks is None:
            service["networks"] = ["default", EDGE_KEY]
        elif isinstance(networks, list):
            service["networks"] = networks + [EDGE_KEY]
        else:
            networks[EDGE_KEY] = None
        deploy = service.setdefault("deploy", {})
        deploy["endpoint_mode"] = "dnsrr"
        exposed += [{"name": f"{stack}_{name}", "expose": {"port": published, "target": target}}
                    for published, target in balanced]
    if exposed:
        compose.setdefault("networks", {})[EDGE_KEY] = {"external": True, "name": network}
    return compose, exposed

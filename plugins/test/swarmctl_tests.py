"""Jinja tests used by swarmctl's roles."""

from __future__ import annotations

import ipaddress


def ip_address(value) -> bool:
    """True for an IPv4 or IPv6 address (not a network, not a host name)."""
    try:
        ipaddress.ip_address(str(value).strip())
        return True
    except ValueError:
        return False


class TestModule:
    def tests(self):
        return {"swarmctl_ip": ip_address}

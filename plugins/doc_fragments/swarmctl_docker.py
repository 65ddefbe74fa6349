"""Options every swarmctl module that talks to the Docker engine takes."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description: Docker engine to talk to.
    type: str
    default: unix:///var/run/docker.sock
  timeout:
    description: Seconds to wait for one engine API call.
    type: int
    default: 120
"""

"""swarmctl: turn plain Linux hosts into a Docker Swarm with Ansible, and keep it healthy."""

__version__ = "0.1.0"

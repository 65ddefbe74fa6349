"""The reconciler's configuration: a JSON file written by roles/reconciler, checked at start."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields


class ConfigError(ValueError):
    """A configuration the reconciler refuses to start with; the message says which setting and why."""


@dataclass(frozen=True)
class Config:
    # Managers the swarm should have; a lost one is replaced by promoting a worker.
    desired_managers: int = 3
    # Seconds a manager must stay unreachable before it is demoted and removed.
    manager_grace_seconds: float = 60.0
    # Rebalance a service when its tasks per eligible node differ by more than this.
    rebalance_threshold: int = 1
    # Least seconds between two rebalances (one service at a time).
    rebalance_interval_seconds: float = 30.0
    # Seconds without any node carrying swarmctl's drain label before a rebalance may start: swarmctl gives one node
    # back and drains the next a few seconds later, and the label may have been seen last a resync before it went.
    rolling_settle_seconds: float = 60.0
    # Services with this label set to "false" are never rebalanced.
    rebalance_label: str = "io.swarmctl.rebalance"
    # Tasks pending longer than this are reported.
    pending_limit_seconds: float = 120.0
    # Service label naming what to do with a paused update or tasks stuck pending: "report" or "rollback".
    stuck_policy_label: str = "io.swarmctl.stuck-policy"
    # Full resync period, besides the engine's event stream.
    resync_seconds: float = 10.0
    # Log what would be done, do nothing.
    dry_run: bool = False
    # Status endpoint (JSON at /status).
    status_bind: str = "127.0.0.1"
    status_port: int = 9610
    # Seconds a promoted worker has to become a reachable manager.
    promote_timeout_seconds: float = 30.0
    # Each other manager's swarm port is dialled this often; after probe_failures failed probes in a row it counts
    # as unreachable since the first of them, before Swarm says so (0: wait for Swarm alone).
    probe_interval_seconds: float = 1.0
    probe_timeout_seconds: float = 1.0
    probe_failures: int = 3
    docker_host: str = "unix:///var/run/docker.sock"

    def to_dict(self) -> dict:
        return asdict(self)


_RULES = {
    "desired_managers": (lambda v: isinstance(v, int) and v >= 1, "an integer of at least 1"),
    "manager_grace_seconds": (lambda v: isinstance(v, (int, float)) and v >= 0, "a number of seconds, 0 or more"),
    "rebalance_threshold": (lambda v: isinstance(v, int) and v >= 1, "an integer of at least 1"),
    "rebalance_interval_seconds": (lambda v: isinstance(v, (int, float)) and v >= 0, "a number of seconds"),
    "rolling_settle_seconds": (lambda v: isinstance(v, (int, float)) and v >= 0, "a number of seconds"),
    "rebalance_label": (lambda v: isinstance(v, str) and v, "a label name"),
    "pending_limit_seconds": (lambda v: isinstance(v, (int, float)) and v > 0, "a positive number of seconds"),
    "stuck_policy_label": (lambda v: isinstance(v, str) and v, "a label name"),
    "resync_seconds": (lambda v: isinstance(v, (int, float)) and v >= 1, "a number of seconds, 1 or more"),
    "dry_run": (lambda v: isinstance(v, bool), "true or false"),
    "status_bind": (lambda v: isinstance(v, str) and v, "an address to listen on"),
    "status_port": (lambda v: isinstance(v, int) and 0 < v < 65536, "a TCP port"),
    "promote_timeout_seconds": (lambda v: isinstance(v, (int, float)) and v > 0, "a positive number of seconds"),
    "probe_interval_seconds": (lambda v: isinstance(v, (int, float)) and v > 0, "a positive number of seconds"),
    "probe_timeout_seconds": (lambda v: isinstance(v, (int, float)) and v > 0, "a positive number of seconds"),
    # One missed probe is never enough: a lost packet or a busy moment must not cost a manager its place.
    "probe_failures": (lambda v: isinstance(v, int) and (v == 0 or v >= 2), "0 (off) or an integer of at least 2"),
    "docker_host": (lambda v: isinstance(v, str) and v.startswith(("unix://", "tcp://")), "unix:///... or tcp://..."),
}


def parse(data: dict) -> Config:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a JSON object")
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    problems = []
    for key, value in data.items():
        check, wanted = _RULES[key]
        if isinstance(value, bool) and key != "dry_run":
            problems.append(f"{key} must be {wanted}, not {value!r}")
        elif not check(value):
            problems.append(f"{key} must be {wanted}, not {value!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return Config(**data)


def load(path: str) -> Config:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    return parse(data)

# A host's /etc/docker/daemon.json, merged rather than written whole: the keys swarmctl sets are recorded on
# the host, every other key is the host's own and kept. Pure functions (unit-tested without a host).

from __future__ import annotations

import json

DAEMON_JSON = "/etc/docker/daemon.json"
# The daemon.json keys swarmctl set, with their values, so that a key it no longer wants is taken out again
# while a key the host's owner set is never touched.
OWNED_RECORD = "/etc/swarmctl/docker-daemon-keys.json"
DEFAULT_DATA_ROOT = "/var/lib/docker"
# Keys dockerd applies on SIGHUP (`systemctl reload docker`), without stopping a container.
RELOADABLE = frozenset({
    "debug", "labels", "live-restore", "max-concurrent-downloads", "max-concurrent-uploads",
    "max-download-attempts", "default-runtime", "runtimes", "authorization-plugins", "insecure-registries",
    "registry-mirrors", "allow-nondistributable-artifacts", "shutdown-timeout", "features",
})


class DaemonJsonError(ValueError):
    """daemon.json cannot be merged as asked; the message says why and what to do."""


def load(text: str | None, path: str) -> dict:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DaemonJsonError(f"{path} is not valid JSON ({exc}); the engine would not start with it either. "
                              "Fix it, then run again.") from None
    if not isinstance(data, dict):
        raise DaemonJsonError(f"{path} must hold a JSON object, not {type(data).__name__}; fix it, then run again")
    return data


def _default_applies(key: str, theirs: dict) -> bool:
    """A default fills a gap only: not over the host's own value, and options only with their own driver
    (log-opts for swarmctl's log-driver, never for a log-driver the host chose)."""
    if key in theirs:
        return False
    if key.endswith("-opts") and key[: -len("-opts")] + "-driver" in theirs:
        return False
    return True


def plan(current: dict, owned: dict | None, enforced: dict, defaults: dict) -> dict:
    """What daemon.json becomes.

    current: the host's daemon.json; owned: the keys swarmctl set before, with their values (None: no record,
    a host swarmctl configured before it kept one - keys whose values are swarmctl's count as its own);
    enforced: keys to set whatever the host has; defaults: keys to set where the host has none of its own.

    Returns {config, owned, added, changed, removed, kept, skipped_defaults}: the new file, the new record,
    and the keys by what happened to them."""
    if owned is None:
        wanted = {**defaults, **enforced}
        owned = {k: v for k, v in current.items() if k in wanted and wanted[k] == v}
    ours = {k: v for k, v in owned.items() if k in current and current[k] == v}
    theirs = {k: v for k, v in current.items() if k not in ours}
    config = dict(theirs)
    config.update(enforced)
    applied, skipped = {}, []
    for key, value in defaults.items():
        if key in enforced:
            continue
        if _default_applies(key, theirs):
            config[key] = value
            applied[key] = value
        else:
            skipped.append(key)
    return {
        "config": config,
        "owned": {**applied, **enforced},
        "added": sorted(k for k in config if k not in current),
        "changed": sorted(k for k in config if k in current and current[k] != config[k]),
        "removed": sorted(k for k in current if k not in config),
        "kept": sorted(k for k in theirs if k not in enforced),
        "skipped_defaults": sorted(skipped),
    }


def changed_keys(merged: dict) -> list[str]:
    return merged["added"] + merged["changed"] + merged["removed"]


def needs_restart(merged: dict) -> bool:
    """Whether the change takes an engine restart; a change of reloadable keys only takes a reload."""
    return any(key not in RELOADABLE for key in changed_keys(merged))


def data_root(config: dict) -> str:
    return str(config.get("data-root") or config.get("graph") or DEFAULT_DATA_ROOT).rstrip("/") or "/"


def data_root_problem(engine_root: str | None, merged: dict) -> str | None:
    """Why the merged configuration must not be applied: it moves the data root of an engine that has one."""
    if engine_root is None:
        return None  # no engine yet: its first start uses the new root
    wanted = data_root(merged["config"])
    if wanted == engine_root.rstrip("/"):
        return None
    return (f"the configuration would move the engine's data-root from {engine_root} to {wanted}. The engine "
            f"would start empty there: its images, containers, volumes and swarm state stay in {engine_root}. "
            "swarmctl does not move an engine's data; nothing was changed. Keep data-root as it is (remove it from "
            f"docker_engine_daemon_extra), or move the data yourself (stop docker, copy {engine_root} to {wanted}, "
            "set data-root in /etc/docker/daemon.json, start docker) and run again.")


def describe(merged: dict) -> str:
    """One line for the run: which keys swarmctl added, changed, removed, and which of the host's it kept."""
    parts = []
    for what in ("added", "changed", "removed"):
        if merged[what]:
            parts.append(f"{what} {', '.join(merged[what])}")
    if merged["kept"]:
        parts.append(f"kept the host's own {', '.join(merged['kept'])}")
    if merged["skipped_defaults"]:
        parts.append(f"left swarmctl's defaults for {', '.join(merged['skipped_defaults'])} out (the host sets its own)")
    return "daemon.json: " + "; ".join(parts) if parts else "daemon.json: unchanged"

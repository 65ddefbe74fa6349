"""Text rendering of `swarmctl status` (the JSON form is the same data)."""

from __future__ import annotations


DRAINED_LABEL = "io.swarmctl.drained"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip()] + [fmt.format(*[str(x) for x in row]).rstrip() for row in rows]


def render_status(status: dict) -> str:
    lines = [f"nodes (answered by {status['answered_by']})"]
    node_rows = []
    for node in status["nodes"]:
        manager = "leader" if node.get("leader") else (node.get("reachability") or "-")
        labels = ",".join(f"{k}={v}" for k, v in sorted((node.get("labels") or {}).items())
                          if not k.startswith("io.swarmctl.")) or "-"
        maintenance = (node.get("labels") or {}).get("io.swarmctl.maintenance", "") if node.get("maintenance") else ""
        availability = node["availability"]
        if availability == "drain" and DRAINED_LABEL in (node.get("labels") or {}):
            # A drain swarmctl made for an engine restart or upgrade that was cut short; the next run gives it back.
            availability = "drain (by swarmctl, run cut short)"
        node_rows.append([node["hostname"], node["role"], node["state"], availability, manager,
                          node.get("addr", ""), labels, maintenance or "-"])
    lines += _table(["HOST", "ROLE", "STATE", "AVAILABILITY", "MANAGER", "ADDRESS", "LABELS", "MAINTENANCE"],
                    node_rows)
    lines.append("services")
    service_rows = []
    for svc in status["services"]:
        engine = svc.get("update_state") or "-"
        if engine == "updating" and svc.get("state") == "converged":
            engine = "updating (watching the new tasks)"  # the update's monitor window: done for swarmctl
        service_rows.append([svc["name"], svc["mode"], f"{svc['running']}/{svc['wanted']}", svc["image"],
                             svc.get("state") or "-", engine, ",".join(svc.get("ports") or []) or "-"])
    lines += _table(["NAME", "MODE", "REPLICAS", "IMAGE", "STATE", "ENGINE UPDATE", "PORTS"], service_rows) \
        if service_rows else ["  (none)"]
    reconciler = status.get("reconciler") or {}
    lines.append("reconciler")
    if reconciler.get("error"):
        lines.append(f"  not answering on this manager ({reconciler['error']})")
    else:
        mode = "dry-run" if reconciler.get("dry_run") else "acting"
        lines.append(f"  leader: {reconciler.get('leader_host', '?')}  mode: {mode}  "
                     f"last resync: {reconciler.get('last_resync', '?')}")
        for action in (reconciler.get("actions") or [])[-5:]:
            lines.append(f"  {action.get('time', '')} {action.get('action', '')}: {action.get('why', '')}")
    return "\n".join(lines)

"""The reconciler's hands and eyes: snapshots of the cluster and the actions, through the docker SDK."""

from __future__ import annotations

import datetime
import re
import time

import docker
from docker.errors import APIError

from .swarm_rules import REBALANCING_LABEL, join_addrs_of, node_join_addr, summarize_node

_FRACTION = re.compile(r"(\.\d{1,6})\d*")
# Asking who leads goes through the leader: on a manager whose leader just died, the engine forwards the request
# to it and waits on a connection that never answers, until Raft elects another. A short limit lets the next pass
# ask again, and a manager just elected hears of it at once instead of when that wait ends.
WHOAMI_TIMEOUT_SECONDS = 2


def epoch(value: str) -> float:
    if not value:
        return 0.0
    text = _FRACTION.sub(lambda m: m.group(1), value.replace("Z", "+00:00"), count=1)
    return datetime.datetime.fromisoformat(text).timestamp()


class Engine:
    def __init__(self, docker_host: str):
        self.client = docker.DockerClient(base_url=docker_host, version="auto", timeout=30)
        self.api = self.client.api
        self.quick_api = docker.APIClient(base_url=docker_host, version=self.api.api_version,
                                          timeout=WHOAMI_TIMEOUT_SECONDS)

    # -- reading ---------------------------------------------------------------------------------------
    def whoami(self) -> tuple[str, bool, str | None]:
        """(this node's id, whether it is the Raft leader, the leader's host name - None when this node is not a
        manager at all)."""
        info = self.quick_api.info()
        node_id = (info.get("Swarm") or {}).get("NodeID", "")
        if not (info.get("Swarm") or {}).get("ControlAvailable"):
            return node_id, False, None
        leader = ""
        for node in self.quick_api.nodes(filters={"role": "manager"}):
            if (node.get("ManagerStatus") or {}).get("Leader"):
                leader = node["Description"]["Hostname"]
                if node["ID"] == node_id:
                    return node_id, True, leader
        return node_id, False, leader

    def snapshot(self) -> dict:
        nodes = [summarize_node(n) for n in self.api.nodes()]
        join_addrs = join_addrs_of(self.api.inspect_swarm().get("Spec") or {})
        for node in nodes:
            node["updated_ts"] = epoch(node.pop("updated_at", ""))
            node["join_addr"] = node_join_addr(node, join_addrs)
        services = []
        for svc in self.api.services():
            spec = svc["Spec"]
            mode = spec.get("Mode", {})
            update = svc.get("UpdateStatus") or {}
            services.append({
                "id": svc["ID"],
                "name": spec["Name"],
                "mode": "replicated" if "Replicated" in mode else "global",
                "replicas": mode.get("Replicated", {}).get("Replicas", 0),
                "labels": spec.get("Labels") or {},
                "constraints": (spec["TaskTemplate"].get("Placement") or {}).get("Constraints") or [],
                "update_state": update.get("State", ""),
                "update_message": update.get("Message", ""),
                "update_started": update.get("StartedAt", ""),
                # Its own order: while a rebalance runs (perhaps begun before this reconciler restarted), the label.
                "update_order": (spec.get("Labels") or {}).get(REBALANCING_LABEL)
                or (spec.get("UpdateConfig") or {}).get("Order", "stop-first"),
                "has_previous": bool(svc.get("PreviousSpec")),
            })
        tasks = []
        for t in self.api.tasks(filters={"desired-state": "running"}):
            status = t.get("Status", {})
            tasks.append({
                "id": t["ID"],
                "service_id": t["ServiceID"],
                "node_id": t.get("NodeID", ""),
                "state": status.get("State", ""),
                "desired": t.get("DesiredState", ""),
                "since": epoch(status.get("Timestamp", "")),
                "message": status.get("Err") or status.get("Message") or "",
            })
        return {"nodes": nodes, "services": services, "tasks": tasks, "now": time.time()}

    def events(self, since: float):
        """The engine's node and service events (a blocking generator)."""
        return self.api.events(since=int(since), decode=True, filters={"type": ["node", "service"]})

    # -- acting ----------------------------------------------------------------------------------------
    def _update_node(self, node_id: str, **changes) -> None:
        node = self.api.inspect_node(node_id)
        spec = dict(node["Spec"], **changes)
        self.api.update_node(node_id, node["Version"]["Index"], spec)

    def demote(self, node_id: str) -> None:
        self._update_node(node_id, Role="worker")

    def remove(self, node_id: str) -> None:
        self.api.remove_node(node_id, force=True)

    def promote(self, node_id: str, timeout: float) -> bool:
        """Promote, then wait until the node is a reachable manager; False when it does not become one."""
        self._update_node(node_id, Role="manager")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api.inspect_node(node_id).get("ManagerStatus") or {}
            if status.get("Reachability") == "reachable":
                return True
            time.sleep(1)
        return False

    def _update_service(self, service_id: str, force: bool, order: str, rebalancing: bool) -> None:
        svc = self.api.inspect_service(service_id)
        spec = svc["Spec"]
        template = dict(spec["TaskTemplate"])
        if force:
            template["ForceUpdate"] = template.get("ForceUpdate", 0) + 1
        update_config = dict(spec.get("UpdateConfig") or {}, Order=order)
        labels = dict(spec.get("Labels") or {})
        if rebalancing:  # the service's own order, for swarmctl_service (and for a restart of this reconciler)
            labels.setdefault(REBALANCING_LABEL, (spec.get("UpdateConfig") or {}).get("Order", "stop-first"))
        else:
            labels.pop(REBALANCING_LABEL, None)
        # Parts the service does not set are left out (None), not sent empty: the engine would store an
        # empty part filled with its defaults, and the next `swarmctl up` would see a difference to undo.
        self.api.update_service(service_id, svc["Version"]["Index"], task_template=template, name=spec["Name"],
                                labels=labels, mode=spec.get("Mode"), update_config=update_config,
                                endpoint_spec=spec.get("EndpointSpec"), rollback_config=spec.get("RollbackConfig"),
                                fetch_current_spec=False)

    def rebalance(self, service_id: str) -> None:
        """A forced rolling update, stop-first (see decide.rebalance_actions), every task replaced."""
        self._update_service(service_id, force=True, order="stop-first", rebalancing=True)

    def restore_order(self, service_id: str, order: str) -> None:
        """Put the service's own update order back (no task is restarted)."""
        self._update_service(service_id, force=False, order=order, rebalancing=False)

    def rollback(self, service_id: str) -> None:
        # The SDK on Debian 12 (5.0.3) has no rollback flag; this is the request `docker service rollback` makes.
        svc = self.api.inspect_service(service_id)
        url = self.api._url("/services/{0}/update", service_id)
        params = {"version": svc["Version"]["Index"], "rollback": "previous"}
        response = self.api._post_json(url, data=svc["Spec"], params=params)
        self.api._raise_for_status(response)


__all__ = ["Engine", "APIError", "epoch"]

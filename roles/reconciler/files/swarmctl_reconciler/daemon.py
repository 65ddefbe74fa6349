"""The reconciler's loop: follow the engine's events, resync periodically, act when this manager leads.

Every manager runs it; each keeps watching (so timers survive a change of leader), only the Raft leader acts.
Every action is one JSON line on stdout (the journal): what, why, before and after. A small HTTP endpoint
serves the same as JSON for `swarmctl status` and the dashboard.
"""

from __future__ import annotations

import collections
import datetime
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .decide import MEMBERSHIP, Action, Memory, decide, observe, watching_closely
from .probe import Prober

# Seconds between passes while something is under way (a manager being timed, a failing probe, no leader to
# read the cluster from): what a leader's replacement waits on, instead of the next resync.
CLOSE_WATCH_SECONDS = 0.5


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    def __init__(self, config, engine, out=sys.stdout):
        self.config = config
        self.engine = engine
        self.out = out
        self.memory = Memory()
        self.actions = collections.deque(maxlen=50)
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.was_leader = None
        self.prober = None  # run() starts one: the other managers' swarm ports, dialled (probe.py)
        self.state = {
            "host": socket.gethostname(),
            "node_id": "",
            "leader": False,
            "leader_host": "",
            "dry_run": config.dry_run,
            "config": config.to_dict(),
            "last_resync": "",
            "last_error": "",
            "cluster": {},
            "probes": {},
        }

    # -- output --------------------------------------------------------------------------------------
    def log(self, **fields) -> None:
        line = json.dumps({"time": now_iso(), "host": self.state["host"], **fields}, sort_keys=False, default=str)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def status(self) -> dict:
        with self.lock:
            return dict(self.state, actions=list(self.actions))

    # -- one pass ------------------------------------------------------------------------------------
    def cycle(self) -> list[Action]:
        node_id, leader, leader_host = self.engine.whoami()
        if leader_host is None:
            # Not a manager (demoted, or left here by a recover that promoted this host for a while): nothing to
            # read, nothing to do, until it is one again.
            with self.lock:
                self.state.update(node_id=node_id, leader=False, leader_host="", last_resync=now_iso(),
                                  last_error="", cluster={})
            if self.prober:
                self.prober.watch(())
            return []
        if leader != self.was_leader:
            self.log(event="leadership", leader=leader, leader_host=leader_host,
                     msg="this manager leads and acts" if leader else "standing by; the leader acts")
            self.was_leader = leader
        snapshot = self.engine.snapshot()
        if self.prober:
            self.prober.watch(n["manager_addr"] for n in snapshot["nodes"]
                              if n["role"] == "manager" and n["id"] != node_id)
            snapshot["probes"] = self.prober.view()
        with self.lock:
            self.state.update(node_id=node_id, leader=leader, leader_host=leader_host, last_resync=now_iso(),
                              last_error="", cluster=_cluster_view(snapshot),
                              probes=_probe_view(snapshot.get("probes") or {}, self.config.probe_failures))
        if not leader:
            observe(snapshot, self.memory, self.config)
            return []
        actions = decide(snapshot, self.memory, self.config)
        failed = False
        for action in actions:
            # demote, remove, promote of one pass are one sequence: after a step fails, the rest wait for a pass
            # that sees what that step left.
            membership = action.kind in MEMBERSHIP
            if failed and membership:
                self.execute(action, skipped="an earlier step of this change failed")
                continue
            done = self.execute(action)
            failed = failed or (membership and not done)
        return actions

    def execute(self, action: Action, skipped: str = "") -> bool:
        """Carry the action out (or log what it would do, or why it is skipped); whether it was done."""
        entry = {"time": now_iso(), **action.to_dict(), "dry_run": self.config.dry_run}
        if skipped:
            entry["result"] = f"skipped: {skipped}"
        elif self.config.dry_run or action.kind == "report":
            entry["result"] = "would do" if self.config.dry_run and action.kind != "report" else "reported"
        else:
            started = time.monotonic()
            try:
                entry["result"] = self._do(action)
            except Exception as exc:  # one failed action must not stop the loop; it is logged and retried
                entry["result"] = f"failed: {exc}"
            entry["seconds"] = round(time.monotonic() - started, 2)
        with self.lock:
            self.actions.append(entry)
        self.log(event="action", **{k: v for k, v in entry.items() if k != "time"})
        return not entry["result"].startswith(("failed", "skipped"))

    def _do(self, action: Action) -> str:
        if action.kind == "demote":
            self.engine.demote(action.target_id)
        elif action.kind == "remove":
            self.engine.remove(action.target_id)
        elif action.kind == "promote":
            if not self.engine.promote(action.target_id, self.config.promote_timeout_seconds):
                return (f"failed: {action.target} did not become a reachable manager within "
                        f"{self.config.promote_timeout_seconds:.0f}s; repair it with `swarmctl up`")
        elif action.kind == "rebalance":
            self.engine.rebalance(action.target_id)
        elif action.kind == "restore":
            self.engine.restore_order(action.target_id, action.after["update_order"])
        elif action.kind == "rollback":
            self.engine.rollback(action.target_id)
        return "done"

    # -- threads -------------------------------------------------------------------------------------
    def follow_events(self) -> None:
        while True:
            try:
                for dummy in self.engine.events(time.time()):
                    self.wake.set()
            except Exception as exc:  # the stream ends on engine restarts and elections: reconnect
                with self.lock:
                    self.state["last_error"] = f"event stream: {exc}"
            time.sleep(2)

    def serve_status(self) -> None:
        reconciler = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path.rstrip("/") not in ("", "/status"):
                    self.send_error(404)
                    return
                body = json.dumps(reconciler.status(), default=str).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((self.config.status_bind, self.config.status_port), Handler)
        server.serve_forever()

    def run(self) -> None:
        self.log(event="start", msg="reconciler started", dry_run=self.config.dry_run, config=self.config.to_dict())
        threading.Thread(target=self.serve_status, daemon=True).start()
        threading.Thread(target=self.follow_events, daemon=True).start()
        if self.config.probe_failures:
            self.prober = Prober(self.config.probe_interval_seconds, self.config.probe_timeout_seconds)
        error_logged = ""
        while True:
            try:
                acted = self.cycle()
                error_logged = ""
                close = watching_closely(self.memory, self.prober.view() if self.prober else {},
                                         any(a.kind != "report" for a in acted))
            except Exception as exc:  # elections, lost quorum, engine restarts: keep going, say it once
                close = True
                text = f"{type(exc).__name__}: {exc}"
                with self.lock:
                    self.state["last_error"] = text
                    self.state["leader"] = False
                if text != error_logged:
                    self.log(event="error", msg=f"cannot read the cluster ({text}); retrying. Without a leader "
                             "(quorum lost) nothing can change until managers come back.")
                    error_logged = text
            self.wake.wait(CLOSE_WATCH_SECONDS if close else self.config.resync_seconds)
            self.wake.clear()
            time.sleep(0.5)  # let a burst of events settle into one pass


def _cluster_view(snapshot: dict) -> dict:
    nodes = snapshot["nodes"]
    running = collections.Counter(t["service_id"] for t in snapshot["tasks"] if t["state"] == "running")
    return {
        "managers": [f"{n['hostname']}:{'leader' if n['leader'] else n['reachability']}"
                     for n in nodes if n["role"] == "manager"],
        "workers": [f"{n['hostname']}:{n['state']}" for n in nodes if n["role"] == "worker"],
        "services": {s["name"]: f"{running.get(s['id'], 0)}/{s['replicas'] if s['mode'] == 'replicated' else '-'}"
                     for s in snapshot["services"]},
    }


def _probe_view(probes: dict, failures: int) -> dict:
    """{manager address: answering | missed N | down since ...} for the status endpoint."""
    view = {}
    for addr, probe in sorted(probes.items()):
        if not probe["failures"]:
            view[addr] = "answering" if probe.get("last") else "not probed yet"
        elif failures and probe["failures"] >= failures:
            since = datetime.datetime.fromtimestamp(probe["down_since"], datetime.timezone.utc)
            view[addr] = f"down since {since.strftime('%Y-%m-%dT%H:%M:%SZ')} ({probe['failures']} probes missed)"
        else:
            view[addr] = f"missed {probe['failures']}"
    return view

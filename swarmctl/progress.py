"""Turn ansible-runner events into live progress lines, or into JSON lines for pipelines.

Text mode prints one line per finished task with per-status host counts (readable on 100 hosts:
host names are listed only for failures, and for changes on a handful of hosts); on a terminal the
running task is shown on a line that is redrawn in place. JSON mode prints one object per line.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field

STATUS_BY_EVENT = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": None,  # the task's own result follows
}
MAX_MESSAGE = 2000
_CHANGED_LINE = re.compile(r"(^|\n)changed: \[")
MAX_CHANGED_NAMES = 5
MAX_ACTION_LINES = 8


def render_diff(diff) -> list[str]:
    """Ansible's diff (a dict, or a list of dicts, with before/after) as readable lines."""
    import difflib

    import yaml

    items = diff if isinstance(diff, list) else [diff]
    lines: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        before, after = item.get("before", ""), item.get("after", "")
        if before == after:
            continue
        header = item.get("after_header") or item.get("before_header") or ""
        if _files(before) and _files(after):
            # {path: text or None}, as swarmctl's host modules report the files they write: one diff per file.
            for path in sorted(set(before) | set(after)):
                old, new = before.get(path), after.get(path)
                if old != new:
                    lines += list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                                       path if old is not None else "/dev/null",
                                                       path if new is not None else "/dev/null", lineterm=""))
            continue
        as_text = [v if isinstance(v, str) else yaml.safe_dump(v, sort_keys=True, default_flow_style=False)
                   for v in (before, after)]
        lines += list(difflib.unified_diff(as_text[0].splitlines(), as_text[1].splitlines(),
                                           f"before {header}".strip(), f"after {header}".strip(), lineterm=""))
    return lines


def _files(value) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and k.startswith("/") and (v is None or isinstance(v, str)) for k, v in value.items())


def result_message(res: dict) -> str:
    """The one-line reason a host result failed, as Ansible reports it."""
    if not isinstance(res, dict):
        return ""
    if "censored" in res:
        return "(output hidden: no_log)"
    parts = []
    msg = res.get("msg")
    if msg:
        parts.append(str(msg))
    if res.get("stderr") and (not msg or msg == "non-zero return code"):
        parts.append("\n".join(str(res["stderr"]).strip().splitlines()[-5:]))
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            parts.append(result_message(item))
    # Keep the message's own line breaks (lists of problems), squeeze the rest of the whitespace.
    text = "\n".join(
        " ".join(line.split()) for part in parts if part for line in str(part).splitlines() if line.strip()
    )
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


@dataclass
class TaskState:
    name: str
    play: str
    started: float
    results: dict = field(default_factory=dict)  # host -> (status, message)
    details: list = field(default_factory=list)  # (host, lines): debug messages, diffs
    warnings: dict = field(default_factory=dict)  # warning text -> hosts that gave it
    actions: dict = field(default_factory=dict)  # what a changed result says it did -> hosts

    def counts(self) -> dict:
        counts: dict[str, int] = {}
        for status, _ in self.results.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def status(self) -> str:
        counts = self.counts()
        for status in ("unreachable", "failed", "changed", "ok"):
            if counts.get(status):
                return status
        return "skipped" if counts else "ok"


@dataclass
class RunStats:
    hosts: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(h.get("failures") for h in self.hosts.values())

    @property
    def unreachable(self) -> bool:
        return any(h.get("unreachable") for h in self.hosts.values())

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.hosts.values())


class Progress:
    """Receives ansible-runner events (its event_handler) and writes progress to a stream."""

    def __init__(self, stream, json_mode: bool = False, tty: bool = False, verbose: int = 0, clock=time.monotonic,
                 show_diff: bool = False, secrets: set[str] | None = None):
        self.stream = stream
        # Values never printed, whatever Ansible says: those of secret-looking variables given with -e.
        self.secrets = sorted(secrets or (), key=len, reverse=True)
        self.show_diff = show_diff
        self.json_mode = json_mode
        self.tty = tty and not json_mode
        self.verbose = verbose
        self.clock = clock
        self.task: TaskState | None = None
        self.play: str | None = None
        self.stats = RunStats()
        self.results: list[tuple[str, str, dict]] = []  # (task, host, result) of every ok result
        self.outcomes: list[tuple[str, str, str, str]] = []  # (task, host, status, message) of every host result
        self.messages: list[str] = []  # errors Ansible printed outside host results
        self.warnings: list[str] = []  # every warning Ansible gave, once each
        self.bad_input = False  # a check of the input (inventory, variables) refused it
        self._seen: dict[str, dict] = {}  # host -> counts of its results, for a run that ends without a recap
        self._lock = threading.Lock()
        self._live = False
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- output helpers -------------------------------------------------------------------
    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def emit(self, obj: dict) -> None:
        with self._lock:
            self.stream.write(self.redact(json.dumps(obj, sort_keys=False, default=str)) + "\n")
            self.stream.flush()

    def line(self, text: str) -> None:
        with self._lock:
            if self._live:
                self.stream.write("\r\033[K")
                self._live = False
            self.stream.write(self.redact(text) + "\n")
            self.stream.flush()

    def _draw_live(self) -> None:
        with self._lock:
            task = self.task
            if not self.tty or task is None:
                return
            done = len(task.results)
            elapsed = self.clock() - task.started
            self.stream.write(f"\r\033[K  ...      {_clip(task.name, 60)}  [{done} done, {elapsed:.0f}s]")
            self.stream.flush()
            self._live = True

    def start(self) -> None:
        if self.tty:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._draw_live()

    def close(self) -> None:
        self._stop.set()
        self._finish_task()
        if not self.stats.hosts and self._seen:
            # No recap (an interrupted run): what the host results said so far.
            self.stats = RunStats(hosts=self._seen)

    # -- events -----------------------------------------------------------------------------
    def handle(self, event: dict) -> bool:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self._finish_task()
            self.play = data.get("name") or data.get("play") or ""
            if self.json_mode:
                self.emit({"event": "play_start", "play": self.play})
            else:
                self.line(f"PLAY {self.play}")
        elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
            self._finish_task()
            name = data.get("task") or data.get("name") or "(unnamed task)"
            self.task = TaskState(name=name, play=self.play or "", started=self.clock())
            if self.json_mode:
                self.emit({"event": "task_start", "play": self.play, "task": name})
            else:
                self._draw_live()
        elif kind in STATUS_BY_EVENT and STATUS_BY_EVENT[kind]:
            self._host_result(STATUS_BY_EVENT[kind], data, event.get("stdout") or "")
        elif kind == "playbook_on_stats":
            self._finish_task()
            self._record_stats(data)
        elif kind in ("verbose", "warning", "deprecated", "error"):
            self._text_event(kind, event.get("stdout") or "")
        return True

    def _host_result(self, status: str, data: dict, stdout: str = "") -> None:
        res = data.get("res") or {}
        host = data.get("host") or "?"
        # no_log results are censored, "changed" included; Ansible's own line still tells.
        censored_change = "censored" in res and _CHANGED_LINE.search(stdout)
        if status == "ok" and (res.get("changed") or censored_change):
            status = "changed"
        if status == "failed" and data.get("ignore_errors"):
            status = "ignored"
        message = result_message(res) if status in ("failed", "unreachable") else ""
        if status == "failed" and (_bad_input(res) or data.get("role") == "validate_inventory"):
            self.bad_input = True
        if self.task is None:
            self.task = TaskState(name=data.get("task") or "", play=self.play or "", started=self.clock())
        self.task.results[host] = (status, message)
        counts = self._seen.setdefault(host, {})
        for key in {"changed": ("ok", "changed"), "ok": ("ok",), "failed": ("failures",), "ignored": ("ok", "ignored"),
                    "unreachable": ("unreachable",), "skipped": ("skipped",)}.get(status, ()):
            counts[key] = counts.get(key, 0) + 1
        self.outcomes.append((self.task.name, host, status, message or str(res.get("msg") or "")))
        for warning in result_warnings(res):
            self._warning(warning, host)
        actions = result_actions(res) if status == "changed" else []
        for action in actions:
            self.task.actions.setdefault(action, []).append(host)
        if status in ("ok", "changed"):
            self.results.append((self.task.name, host, res))
        detail = self._details(data, res, status)
        if detail:
            self.task.details.append((host, detail))
        if self.json_mode:
            obj = {
                "event": "host_result",
                "status": status,
                "host": host,
                "play": self.play,
                "task": self.task.name,
                "duration": data.get("duration"),
            }
            if message:
                obj["msg"] = message
            if actions:
                obj["actions"] = actions
            if detail:
                obj["detail"] = detail
            self.emit(obj)
        else:
            self._draw_live()

    def _warning(self, text: str, host: str | None = None) -> None:
        """A warning Ansible gave (a module's, or its own): shown once, with the hosts that gave it."""
        first = text not in self.warnings
        if first:
            self.warnings.append(text)
        if self.json_mode:
            if first:
                self.emit({"event": "warning", "host": host, "task": self.task.name if self.task else None,
                           "msg": text})
        elif self.task is not None and host is not None:
            self.task.warnings.setdefault(text, []).append(host)
        elif first:
            self.line(f"  WARNING    {text}")

    def _details(self, data: dict, res: dict, status: str) -> list[str]:
        """What an operator should read besides the status: debug messages, and diffs in diff mode."""
        if data.get("task_action") in ("debug", "ansible.builtin.debug") and status in ("ok", "changed"):
            items = res.get("results") if isinstance(res.get("results"), list) else [res]
            lines = []
            for item in items:
                msg = item.get("msg") if isinstance(item, dict) and not item.get("skipped") else None
                if msg:
                    lines += str(msg).splitlines() if isinstance(msg, str) else [json.dumps(msg, default=str)]
            return lines
        if self.show_diff and status == "changed":
            items = res.get("results") if isinstance(res.get("results"), list) else [res]
            lines = []
            for item in items:
                if isinstance(item, dict) and item.get("changed") and item.get("diff"):
                    lines += render_diff(item["diff"])
            return lines
        return []

    def _finish_task(self) -> None:
        task, self.task = self.task, None
        if task is None or self.json_mode:
            return
        counts = task.counts()
        if not counts:
            return  # a task every host skipped silently, or one with no hosts
        if set(counts) == {"skipped"} and not self.verbose:
            return
        status = task.status()
        elapsed = self.clock() - task.started
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        label = status.upper() if status in ("failed", "unreachable") else status
        changed_hosts = [h for h, (s, _) in task.results.items() if s == "changed"]
        detail = ""
        if changed_hosts and len(changed_hosts) <= MAX_CHANGED_NAMES and len(counts) > 1:
            detail = f" ({' '.join(changed_hosts)})"
        self.line(f"  {label:<11} {_clip(task.name, 60):<61}{summary}{detail}  {elapsed:.1f}s")
        shown = list(task.actions.items())
        for action, hosts in shown[:MAX_ACTION_LINES]:
            names = " ".join(hosts[:MAX_CHANGED_NAMES]) + (f" +{len(hosts) - MAX_CHANGED_NAMES}"
                                                           if len(hosts) > MAX_CHANGED_NAMES else "")
            self.line(f"      {names}: {_clip(action, 160)}")
        if len(shown) > MAX_ACTION_LINES:
            self.line(f"      ... and {len(shown) - MAX_ACTION_LINES} more changes (--json lists them all)")
        for text, hosts in task.warnings.items():
            where = f" ({' '.join(hosts)})" if len(task.results) > 1 else ""
            first, *rest = text.splitlines()
            self.line(f"      WARNING{where}: {first}")
            for more in rest:
                self.line(f"        {more}")
        for host, lines in task.details:
            self.line(f"      {host}:")
            for text in lines:
                self.line(f"        {text}")
        for host, (hstatus, message) in sorted(task.results.items()):
            if hstatus in ("failed", "unreachable"):
                first, *rest = (message or hstatus).splitlines()
                self.line(f"      {host}: {first}")
                for more in rest:
                    self.line(f"        {more}")

    def _record_stats(self, data: dict) -> None:
        hosts: dict[str, dict] = {}
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
            for host, count in (data.get(key) or {}).items():
                name = "unreachable" if key == "dark" else key
                hosts.setdefault(host, {})[name] = count
        self.stats = RunStats(hosts=hosts)

    def _text_event(self, kind: str, stdout: str) -> None:
        text = _ANSI.sub("", stdout).strip()
        if not text:
            return
        if kind in ("warning", "deprecated") or (text.startswith("[WARNING]") and "ERROR" not in text):
            self._warning(re.sub(r"^\[(WARNING|DEPRECATION WARNING)\]:\s*", "", text))
            return
        important = "ERROR" in text or kind == "error"
        if important:
            self.messages.append(text)
        if not (important or self.verbose):
            return
        if self.json_mode:
            self.emit({"event": "message", "kind": "error" if "ERROR" in text else kind, "msg": text})
        else:
            for line in text.splitlines():
                self.line(f"  {line}")

    def recap_lines(self) -> list[str]:
        if not self.stats.hosts:
            return []
        lines = [f"  {'host':<20} {'ok':>4} {'changed':>8} {'failed':>7} {'unreachable':>12} {'skipped':>8}"]
        for host, counts in sorted(self.stats.hosts.items()):
            lines.append(
                f"  {host:<20} {counts.get('ok', 0):>4} {counts.get('changed', 0):>8} "
                f"{counts.get('failures', 0):>7} {counts.get('unreachable', 0):>12} {counts.get('skipped', 0):>8}"
            )
        return lines


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def result_warnings(res: dict) -> list[str]:
    """Warnings and deprecations a host result carries (a loop's items included)."""
    if not isinstance(res, dict):
        return []
    found = [str(w) for w in res.get("warnings") or []]
    for item in res.get("deprecations") or []:
        msg = item.get("msg") if isinstance(item, dict) else item
        if msg:
            found.append(f"deprecated: {msg}")
    for item in res.get("results") or []:
        found += [w for w in result_warnings(item) if w not in found]
    return found


def result_actions(res: dict) -> list[str]:
    """What a changed result says it did: swarmctl's modules list it in `actions` (a loop's items too)."""
    if not isinstance(res, dict) or "censored" in res:
        return []
    found = [str(a) for a in res.get("actions") or [] if isinstance(a, str)]
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("changed"):
            found += [a for a in result_actions(item) if a not in found]
    return found


def _bad_input(res: dict) -> bool:
    """A failure that says the input was wrong (swarmctl's checks mark theirs), not a host."""
    return isinstance(res, dict) and bool(res.get("swarmctl_bad_input"))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

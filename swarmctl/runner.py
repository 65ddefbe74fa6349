"""Run one of swarmctl's playbooks through ansible-runner, with live progress.

Each run gets its own private data directory under the state directory (never inside the
package); old runs are rotated away. The equivalent ansible-playbook command is printed so any
run can be reproduced by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from swarmctl import paths, run_events
from swarmctl.inputs import ExtraVars, check_inventory_syntax, parse_extra_vars
from swarmctl.progress import Progress

KEEP_RUNS = 20

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130


@dataclass
class PlaybookRun:
    playbook: str  # file name under playbooks/
    inventory: Path
    extra_vars: list[str] = field(default_factory=list)  # as given to -e
    limit: str | None = None
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    tags: str | None = None
    cwd: Path | None = None  # where -e @file paths are relative to (default: the current directory)

    def __post_init__(self):
        self._vars: ExtraVars | None = None

    @property
    def vars(self) -> ExtraVars:
        """The extra variables, parsed: InputError (bad usage) for one Ansible would not take."""
        if self._vars is None:
            self._vars = parse_extra_vars(self.extra_vars, self.cwd)
        return self._vars

    def check_inputs(self) -> None:
        """Everything the input alone shows wrong, before any host is contacted (InputError)."""
        check_inventory_syntax(self.inventory)
        self.vars  # noqa: B018 - parsed for its errors

    def ansible_args(self, run_dir: Path | None = None) -> list[str]:
        """ansible-playbook's options. With run_dir: as run (inline variables in files there); without: as
        shown to people (secret values masked)."""
        args = self.vars.ansible_args(run_dir) if run_dir else self.vars.display_args()
        if self.limit:
            args += ["--limit", self.limit]
        if self.tags:
            args += ["--tags", self.tags]
        if self.check:
            args.append("--check")
        if self.diff:
            args.append("--diff")
        return args

    def playbook_path(self) -> Path:
        return paths.content_dir() / "playbooks" / self.playbook

    def environment(self) -> dict[str, str]:
        bindir = os.path.dirname(sys.executable)
        return {
            **paths.ansible_env(),
            # ansible-runner turns host key checking off unless told otherwise; swarmctl never does.
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_NOCOLOR": "1",
            # An inventory source Ansible cannot parse is an error, not an empty inventory.
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "SWARMCTL_MODULE_CACHE": os.environ.get("SWARMCTL_MODULE_CACHE") or str(paths.state_dir() / "modules"),
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        }

    def command_line(self) -> str:
        """The equivalent ansible-playbook command, as shown (secret values masked)."""
        env = self.environment()
        argv = ["ansible-playbook", "-i", str(self.inventory), str(self.playbook_path())]
        argv += self.ansible_args()
        if self.verbosity:
            argv.append("-" + "v" * self.verbosity)
        settings = " ".join(f"{name}={shlex.quote(env[name])}" for name in paths.ansible_env())
        return f"{settings} " + shlex.join(argv)


@dataclass
class RunResult:
    rc: int
    status: str
    seconds: float
    hosts: dict
    changed: int
    artifacts: str
    command: str
    errors: list[str]
    results: list = field(default_factory=list)  # (task, host, result) of ok results
    warnings: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)  # (task, host, status, message) of every host result

    def summary(self) -> dict:
        return {
            "event": "summary",
            "status": self.status,
            "rc": self.rc,
            "changed": self.changed,
            "seconds": round(self.seconds, 2),
            "hosts": self.hosts,
            "errors": self.errors,
            "warnings": self.warnings,
            "artifacts": self.artifacts,
            "command": self.command,
        }


def exit_code_for(status: str) -> int:
    return {
        "successful": EXIT_OK,
        "bad_input": EXIT_USAGE,
        "failed": EXIT_FAILED,
        "unreachable": EXIT_UNREACHABLE,
        "interrupted": EXIT_INTERRUPTED,
    }.get(status, EXIT_ERROR)


def run_playbook(run: PlaybookRun, json_mode: bool = False, stream=None, label: str | None = None,
                 quiet: bool = False) -> RunResult:
    import ansible_runner

    stream = open(os.devnull, "w") if quiet else (stream or sys.stdout)
    if not shutil.which("ansible-playbook", path=run.environment()["PATH"]):
        raise RunnerError(
            "ansible-playbook is not installed next to swarmctl or on PATH; install swarmctl with pip "
            "(it brings ansible-core), or put ansible-playbook on PATH"
        )
    tty = hasattr(stream, "isatty") and stream.isatty()
    progress = Progress(stream, json_mode=json_mode, tty=tty, verbose=run.verbosity, show_diff=run.diff,
                        secrets=run.vars.secret_values())
    command = run.command_line()
    run_dir = _new_run_dir(label or Path(run.playbook).stem)
    in_progress = _mark_in_progress(run_dir)
    if json_mode:
        progress.emit({"event": "start", "playbook": run.playbook, "inventory": str(run.inventory),
                       "command": command, "artifacts": str(run_dir)})
    else:
        progress.line(f"# {command}")
    started = time.monotonic()
    interrupts = Interrupts()
    progress.start()
    try:
        with interrupts.installed():
            result = ansible_runner.run(
                private_data_dir=str(run_dir),
                project_dir=str(paths.content_dir()),
                playbook=str(run.playbook_path()),
                inventory=str(run.inventory),
                envvars=run.environment(),
                cmdline=shlex.join(run.ansible_args(run_dir)) or None,
                verbosity=run.verbosity or None,
                event_handler=interrupts.watching(progress.handle),
                cancel_callback=interrupts.cancel,
                # One fact cache per inventory, kept across runs (ansible-runner's default is per run).
                fact_cache_type="jsonfile",
                fact_cache=str(paths.fact_cache_dir(run.inventory)),
                quiet=True,
                ident=run_events.IDENT,
            )
        rc, runner_status = result.rc, result.status
    except KeyboardInterrupt:  # before Ansible started, or a second Ctrl-C in a bad place
        interrupts.count = max(interrupts.count, 1)
        rc, runner_status = EXIT_INTERRUPTED, "canceled"
    finally:
        progress.close()
        _scrub_run_dir(run_dir, command)
    stats = progress.stats
    if interrupts.count:
        status = "interrupted"
    elif progress.bad_input:
        status = "bad_input"
    elif stats.unreachable:
        status = "unreachable"
    elif stats.failed:
        status = "failed"
    elif rc == 0 and runner_status == "successful":
        status = "successful"
    elif _inventory_unparsed(progress.messages):
        status = "bad_input"
    else:
        status = "error"  # Ansible stopped before or outside host results (syntax, inventory...)
    errors = list(progress.messages)
    artifacts = run_events.artifacts_dir(run_dir)
    if status in ("error", "bad_input") and not errors and not stats.failed:
        errors.append(_tail(artifacts / "stdout") or f"ansible-playbook exited with code {rc}")
    outcome = RunResult(
        rc=exit_code_for(status),
        status=status,
        seconds=time.monotonic() - started,
        hosts=stats.hosts,
        changed=stats.changed,
        artifacts=str(artifacts),
        command=command,
        errors=errors,
        results=progress.results,
        outcomes=progress.outcomes,
        warnings=list(progress.warnings),
    )
    if json_mode:
        progress.emit(outcome.summary())
    else:
        for line in progress.recap_lines():
            progress.line(line)
        if status in ("error", "bad_input") and not progress.messages and not stats.failed:
            progress.line(f"ansible-playbook failed: {errors[0]}")
            progress.line(f"(full output: {outcome.artifacts}/stdout)")
        if status == "interrupted":
            progress.line("interrupted: the hosts were left where the run stopped; run the same command again "
                          "to finish the job")
        progress.line(
            f"{label or run.playbook}: {status} (changed={outcome.changed}) in {outcome.seconds:.1f}s"
        )
    in_progress.close()
    _rotate_runs()
    return outcome


class Interrupts:
    """Ctrl-C (SIGINT) or SIGTERM during a run: the first asks ansible-playbook to stop as it does on Ctrl-C
    (its workers end, the run's recap is still read); a second one kills it. ansible-runner's own handler would
    kill it at once and report the run as failed."""

    def __init__(self):
        self.count = 0
        self.pid: int | None = None  # ansible-playbook's, from its events

    def watching(self, handler):
        def handle(event: dict) -> bool:
            if self.pid is None and event.get("event") == "playbook_on_start":
                self.pid = event.get("pid")
            return handler(event)

        return handle

    def cancel(self) -> bool:
        """ansible-runner asks this after each read: True kills the run."""
        return self.count >= 2 or (self.count == 1 and self.pid is None)

    def _on_signal(self, signum, frame):
        self.count += 1
        if self.count == 1 and self.pid:
            try:
                group = os.getpgid(self.pid)
                if group != os.getpgrp():  # never signal swarmctl itself
                    os.killpg(group, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _scrub_run_dir(run_dir: Path, command: str) -> None:
    """What the run keeps on disk holds no value given with -e, nor this process's environment: the files
    of inline variables go, and ansible-runner's record of the command is replaced by the masked one."""
    for path in run_dir.glob("extra-vars-*.json"):
        path.unlink(missing_ok=True)
    record = run_events.artifacts_dir(run_dir) / "command"
    if record.exists():
        fd = os.open(record, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"command": command, "note": "extra variables masked; environment not kept"}, handle)


def _inventory_unparsed(messages: list[str]) -> bool:
    return any("parse" in m and "inventory" in m for m in messages)


class RunnerError(RuntimeError):
    """swarmctl could not start Ansible; the message says why."""


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(line for line in text.strip().splitlines()[-lines:])


def _new_run_dir(label: str) -> Path:
    root = paths.runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # artifacts may hold extra vars given on the command line
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        run_dir = root / f"{stamp}-{label}" if attempt == 0 else root / f"{stamp}-{label}-{attempt}"
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a run directory under {root}")


IN_PROGRESS = ".in-progress"


def _mark_in_progress(run_dir: Path):
    """A lock held on a file of the run's directory while the run lasts (the kernel drops it when the process
    ends, however it ends), so another swarmctl's rotation leaves a run in progress alone."""
    handle = open(run_dir / IN_PROGRESS, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _in_progress(run_dir: Path) -> bool:
    try:
        with open(run_dir / IN_PROGRESS) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
    except OSError:
        pass  # a run of an older swarmctl, or its directory already gone
    return False


def _rotate_runs(keep: int = KEEP_RUNS) -> None:
    """Keep the newest runs. A run still going (another swarmctl on this machine: a pipeline's second job, a
    `status` during a long `up`) is never removed, however many runs began since."""
    root = paths.runs_dir()
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep]:
        if not _in_progress(old):
            shutil.rmtree(old, ignore_errors=True)

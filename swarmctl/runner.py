"""Run one of swarmctl's playbooks through ansible-runner, with live progress.

Each run gets its own private data directory under the state directory (never inside the
package); old runs are rotated away. The equivalent ansible-playbook command is printed so any
run can be reproduced by hand.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from swarmctl import paths
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

    def ansible_args(self) -> list[str]:
        args: list[str] = []
        for value in self.extra_vars:
            args += ["-e", value]
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
        content = paths.content_dir()
        bindir = os.path.dirname(sys.executable)
        return {
            "ANSIBLE_CONFIG": str(content / "ansible.cfg"),
            # ansible-runner turns host key checking off unless told otherwise; swarmctl never does.
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_NOCOLOR": "1",
            # ansible-runner sets this variable (to add its own callback), and a variable beats ansible.cfg.
            "ANSIBLE_CALLBACK_PLUGINS": str(content / "plugins" / "callback"),
            "SWARMCTL_MODULE_CACHE": os.environ.get("SWARMCTL_MODULE_CACHE") or str(paths.state_dir() / "modules"),
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        }

    def command_line(self) -> str:
        env = self.environment()
        argv = ["ansible-playbook", "-i", str(self.inventory), str(self.playbook_path())]
        argv += self.ansible_args()
        if self.verbosity:
            argv.append("-" + "v" * self.verbosity)
        return f"ANSIBLE_CONFIG={shlex.quote(env['ANSIBLE_CONFIG'])} " + shlex.join(argv)


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

    def summary(self) -> dict:
        return {
            "event": "summary",
            "status": self.status,
            "rc": self.rc,
            "changed": self.changed,
            "seconds": round(self.seconds, 2),
            "hosts": self.hosts,
            "errors": self.errors,
            "artifacts": self.artifacts,
            "command": self.command,
        }


def exit_code_for(status: str) -> int:
    return {
        "successful": EXIT_OK,
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
    progress = Progress(stream, json_mode=json_mode, tty=tty, verbose=run.verbosity, show_diff=run.diff)
    command = run.command_line()
    run_dir = _new_run_dir(label or Path(run.playbook).stem)
    if json_mode:
        progress.emit({"event": "start", "playbook": run.playbook, "inventory": str(run.inventory),
                       "command": command, "artifacts": str(run_dir)})
    else:
        progress.line(f"# {command}")
    started = time.monotonic()
    progress.start()
    interrupted = False
    try:
        result = ansible_runner.run(
            private_data_dir=str(run_dir),
            project_dir=str(paths.content_dir()),
            playbook=str(run.playbook_path()),
            inventory=str(run.inventory),
            envvars=run.environment(),
            cmdline=shlex.join(run.ansible_args()) or None,
            verbosity=run.verbosity or None,
            event_handler=progress.handle,
            # One fact cache per inventory, kept across runs (ansible-runner's default is per run).
            fact_cache_type="jsonfile",
            fact_cache=str(paths.fact_cache_dir(run.inventory)),
            quiet=True,
            ident="run",
        )
        rc, runner_status = result.rc, result.status
    except KeyboardInterrupt:
        interrupted = True
        rc, runner_status = EXIT_INTERRUPTED, "canceled"
    finally:
        progress.close()
    stats = progress.stats
    if interrupted:
        status = "interrupted"
    elif stats.unreachable:
        status = "unreachable"
    elif stats.failed:
        status = "failed"
    elif rc == 0 and runner_status == "successful":
        status = "successful"
    else:
        status = "error"  # Ansible stopped before or outside host results (syntax, inventory...)
    errors = list(progress.messages)
    artifacts = run_dir / "artifacts" / "run"
    if status == "error" and not errors:
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
    )
    if json_mode:
        progress.emit(outcome.summary())
    else:
        for line in progress.recap_lines():
            progress.line(line)
        if status == "error" and not progress.messages:
            progress.line(f"ansible-playbook failed: {errors[0]}")
            progress.line(f"(full output: {outcome.artifacts}/stdout)")
        progress.line(
            f"{label or run.playbook}: {status} (changed={outcome.changed}) in {outcome.seconds:.1f}s"
        )
    _rotate_runs()
    return outcome


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


def _rotate_runs(keep: int = KEEP_RUNS) -> None:
    root = paths.runs_dir()
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)

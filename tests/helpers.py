"""Helpers for tests: run swarmctl and Ansible the way a user does."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def host_module(name: str):
    """plugins/modules/<name>.py, loaded by path: an action plugin of the same name comes first on sys.path."""
    spec = importlib.util.spec_from_file_location(f"{name}_module", ROOT / "plugins" / "modules" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def summary(self) -> dict:
        return [e for e in self.json_lines() if e.get("event") == "summary"][-1]

    def notable_results(self) -> list[str]:
        """Changed, failed and unreachable task results of a --json run: what a failed assertion needs."""
        notable = []
        for line in self.stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "host_result" and event.get("status") in ("changed", "failed", "unreachable"):
                notable.append(f"{event['status']}: {event['host']}: {event['task']} {event.get('msg', '')}".strip())
        return notable

    def why(self) -> str:
        """What a failed assertion should show, in full: pytest cuts a list's repr, never a string."""
        notable = "\n".join(self.notable_results()[-40:])
        return f"rc={self.rc}\n{notable}" if notable else f"rc={self.rc}\n{self.output[-3000:]}"

    def __repr__(self) -> str:
        notable = "\n".join(self.notable_results()[-40:])
        return (f"<rc={self.rc}\nnotable results:\n{notable}\nstdout:\n{self.stdout[-5000:]}\n"
                f"stderr:\n{self.stderr[-3000:]}>")


def swarmctl(*args: str, env: dict | None = None, cwd: str | Path | None = None, timeout: int = 1800) -> Result:
    """Run the swarmctl CLI as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "swarmctl", *args],
        cwd=str(cwd or ROOT),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    return Result(proc)


def ansible_cmd(inventory: Path, pattern: str, module: str, args: str = "", become: bool = False,
                timeout: int = 600) -> Result:
    """Run an ad-hoc Ansible module over SSH with the project's ansible.cfg."""
    argv = [str(Path(sys.executable).parent / "ansible"), pattern, "-i", str(inventory), "-m", module, "-o"]
    if args:
        argv += ["-a", args]
    if become:
        argv.append("--become")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    return Result(subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=timeout))


def lab_leftovers(client, name: str) -> dict:
    """Whatever the Docker engine still holds for a lab (all empty after `lab down`)."""
    from swarmctl.lab.lab import LABEL_LAB

    flt = {"label": f"{LABEL_LAB}={name}"}
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters=flt)],
        "volumes": [v.name for v in client.volumes.list(filters=flt)],
        "networks": [n.name for n in client.networks.list(filters=flt)],
    }


def owned_lab(name: str):
    """Hold a lab for this test process: an exclusive lock, released when the process ends. A second process
    that would bring up (and first tear down) the same lab - a scheduling mistake, with tests run by several
    pytest-xdist workers - fails at once instead of taking another worker's hosts from under its tests."""
    import fcntl

    from swarmctl import paths

    folder = paths.state_dir() / "test-locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{name}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"lab {name!r} is held by another test process: the tests of one lab must run in one "
                           "process (tests/lab/conftest.py groups them for pytest-xdist's --dist loadgroup)") from None
    return handle


def runs_of(inventory_dir, since: float = 0.0) -> list[Path]:
    """The kept swarmctl runs against an inventory in inventory_dir (a lab's folder) since then, oldest first:
    with tests in two processes, the newest run of all may be another lab's, still going."""
    from swarmctl import paths

    found = []
    for run in paths.runs_dir().iterdir() if paths.runs_dir().exists() else []:
        try:
            command = (run / "artifacts" / "run" / "command").read_text()
            modified = run.stat().st_mtime
        except OSError:
            continue
        if modified >= since and f"{Path(inventory_dir)}/" in command:
            found.append((modified, run))
    return [run for dummy, run in sorted(found)]


def running_tasks_per_node(lab, service: str, via: str) -> dict:
    """{node: running tasks of service}, as `docker service ps` on the manager `via` shows them."""
    from swarmctl.lab.lab import container_name

    out = subprocess.run(["docker", "exec", container_name(lab.name, via), "docker", "service", "ps", service,
                          "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True).stdout
    counts: dict = {}
    for line in out.splitlines():
        node, state = line.split(" ", 1)
        if state.startswith("Running"):
            counts[node] = counts.get(node, 0) + 1
    return counts


def container_logs(lab, host: str, service: str, since: float) -> str:
    """The log since then (epoch seconds) of service's container on a lab host (e.g. its balancer's), for a failed
    assertion to show what it saw."""
    from swarmctl.lab.lab import container_name

    node = container_name(lab.name, host)
    ids = subprocess.run(["docker", "exec", node, "docker", "ps", "-q", "--filter",
                          f"label=com.docker.swarm.service.name={service}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.split()
    logs = [subprocess.run(["docker", "exec", node, "docker", "logs", "--timestamps", "--since", f"{since:.0f}", cid],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout for cid in ids]
    return "\n".join(logs) or f"(no running {service} container on {host})"


def get(address: str, timeout: float = 2.0, port: int = 8080) -> str:
    """One request to the balancer on a node (the demo web service's port)."""
    with urllib.request.urlopen(f"http://{address}:{port}/", timeout=timeout) as response:
        return response.read().decode().strip()


class LoadLoop:
    """Requests through the balancer, round the nodes, every 50 ms, until stopped. With failover, a request a
    node does not answer goes to the next node, as a load balancer in front of the swarm with health checks
    would send it; it fails only when no node answers."""

    def __init__(self, addresses, failover: bool = False):
        self.addresses = addresses
        self.failover = failover
        self.answers: list[str] = []
        self.failures: list[str] = []
        self.failed_at: list[float] = []  # wall-clock seconds of each failure, for report()
        self.retried: list[str] = []
        self.started = self.stopped = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            tries = self.addresses[n % len(self.addresses):] + self.addresses[:n % len(self.addresses)]
            n += 1
            for address in tries if self.failover else tries[:1]:
                try:
                    self.answers.append(get(address))
                    break
                except (OSError, http.client.HTTPException) as exc:
                    (self.retried if self.failover else self.failures).append(f"{address}: {exc}")
            else:
                if self.failover:
                    self.failures.append(f"no node answered ({self.retried[-1]})")
            if len(self.failed_at) < len(self.failures):
                self.failed_at.append(time.time())
            time.sleep(0.05)

    def __enter__(self):
        self.started = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.stopped = time.time()

    def report(self, run: Result | None = None) -> str:
        """What a failed assertion needs: how many requests failed, when (seconds into the load), the first
        failures, and with a --json run, what Ansible was doing meanwhile."""
        if not self.failures:
            return f"{len(self.answers)} answered, none failed"
        first, last = (t - self.started for t in (self.failed_at[0], self.failed_at[-1]))
        lines = [f"{len(self.failures)} failed, {len(self.answers)} answered, failures from {first:.1f}s to "
                 f"{last:.1f}s of {self.stopped - self.started:.1f}s", *self.failures[:3]]
        if run is not None:
            lines += [f"{t - self.started:7.1f}s {what}" for t, what in run_timeline(run)]
        return "\n".join(lines)


def run_timeline(run: Result) -> list[tuple[float, str]]:
    """(wall-clock seconds, "host: task -> status") of each task result of a --json run, read from the
    events ansible-runner kept in the run's artifacts."""
    from swarmctl import run_events

    start = [e for e in run.json_lines() if e.get("event") == "start"]
    if not start:
        return []
    return [(run_events.event_time(event),
             f"{event['event_data'].get('host')}: {event['event_data'].get('task')} -> {event['event'][len('runner_on_'):]}")
            for event in run_events.load(Path(start[0]["artifacts"])) if event.get("event", "").startswith("runner_on_")]


def on(lab, host, *argv, check: bool = True) -> str:
    """A command on a lab host (docker exec), its output; with check, it must succeed."""
    from swarmctl.lab.lab import container_name

    proc = subprocess.run(["docker", "exec", container_name(lab.name, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip()


BIN = Path(sys.executable).parent


def user_ansible(collections: Path, workdir: Path, *argv: str, env: dict | None = None,
                 timeout: int = 600) -> subprocess.CompletedProcess:
    """An Ansible command as a user of the collection runs it: from workdir, with an ansible.cfg of their own
    (empty, beside the collections folder) and that collections folder, nothing of this checkout on any path."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = collections.parent / "user-ansible.cfg"
    config.write_text("[defaults]\n")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    run_env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections),
                   ANSIBLE_NOCOLOR="1",
                   PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {}))
    return subprocess.run(argv, cwd=workdir, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def install_collection(root: Path) -> Path:
    """Build the collection from this checkout with ansible-galaxy and install the tarball into root/collections,
    as a user would; the collections folder is returned."""
    built = user_ansible(root / "collections", root, str(BIN / "ansible-galaxy"), "collection", "build",
                         "--output-path", str(root / "dist"), str(ROOT))
    assert built.returncode == 0, built.stderr
    (tarball,) = (root / "dist").glob("swarmctl-swarm-*.tar.gz")
    # Away from the checkout, whose ansible.cfg finds the collection in place (galaxy would call it installed).
    done = user_ansible(root / "collections", root, str(BIN / "ansible-galaxy"), "collection", "install", "-p",
                        str(root / "collections"), str(tarball))
    assert done.returncode == 0, done.stderr
    assert (root / "collections/ansible_collections/swarmctl/swarm/plugins/modules/swarmctl_service.py").is_file()
    return root / "collections"

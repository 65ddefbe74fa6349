#!/usr/bin/env python3
"""Print the reconciler's repair times on an HA lab (3 managers, 2 workers, the demo web service), with the
lab's default grace period (5 s):

    seconds from stopping the leader's host to 3 healthy managers again (a worker promoted),
    seconds from a worker's return to a balanced spread of the web service's tasks,
    seconds of `swarmctl recover --yes` after two of the three managers' hosts stopped (quorum lost), to three
    Ready managers again,
    seconds and size of a `swarmctl backup` of the rebuilt swarm (Raft state copied from a manager that does not
    lead, its node drained meanwhile).

Targets: <= 20 s for the leader's replacement, <= 30 s for the others.
Uses a lab of its own (`bench-fail`, 172.25.98.0/24), removed at the end.
Run: .venv/bin/python bench/failover.py   (BENCH_KEEP_LAB=1 keeps the lab at the end, to look at)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarmctl.lab.lab import Lab, container_name, docker_client  # noqa: E402
from swarmctl.lab.topology import LabSpec  # noqa: E402

NAME = "bench-fail"


def on(host: str, *argv: str) -> str:
    proc = subprocess.run(["docker", "exec", container_name(NAME, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def nodes(via: str) -> dict:
    """The node list as a manager gives it; {} when it cannot within 2 s. A manager whose leader just died
    forwards the request to it and waits until Raft elects another: without the limit one call could hide
    seconds of the repair from the timing."""
    out = on(via, "timeout", "2", "docker", "node", "ls", "--format", "{{json .}}")
    return {n["Hostname"]: n for n in (json.loads(line) for line in out.splitlines() if line.startswith("{"))}


def spread(via: str) -> dict:
    counts = {}
    for line in on(via, "docker", "service", "ps", "web", "--filter", "desired-state=running", "--format",
                   "{{.Node}} {{.CurrentState}}").splitlines():
        node, state = line.split(" ", 1)
        if state.startswith("Running"):
            counts[node] = counts.get(node, 0) + 1
    return counts


def wait(predicate, timeout=300, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    sys.exit(f"timed out waiting for: {predicate.__name__ if predicate.__name__ != '<lambda>' else 'line ' + str(predicate.__code__.co_firstlineno)}")


def repair_steps(host: str, since: float) -> str:
    """The reconciler's leadership and actions on a host since then, as 'what (how long) +seconds' (when its
    journal logged them, in whole seconds: an action is logged when it ends)."""
    import datetime

    steps = []
    for line in on(host, "journalctl", "-u", "swarmctl-reconciler", "-o", "cat", "--no-pager").splitlines():
        try:
            entry = json.loads(line)
            at = datetime.datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except (ValueError, KeyError):
            continue
        if at >= int(since) and (entry.get("event") == "action" or entry.get("event") == "leadership" and entry.get("leader")):
            what = "leads" if entry["event"] == "leadership" else f"{entry['action']} {entry['target']}"
            if "seconds" in entry:  # how long the action took (logged when it ended)
                what += f" ({entry['seconds']:.1f} s{', ' + entry['result'][:60] if entry['result'] != 'done' else ''})"
            if entry.get("action") == "report":  # what it said, shortly
                what += f" ({entry.get('why', '')[:90]})"
            steps.append(f"{what} +{at - since:.0f}")
    return ", ".join(steps) or "(nothing logged)"


def main() -> None:
    os.environ.setdefault("SWARMCTL_HOME", tempfile.mkdtemp(prefix="swarmctl-bench-"))
    lab = Lab(NAME, client=docker_client(), log=lambda msg: None)
    lab.down()
    try:
        inventory = lab.up(LabSpec(name=NAME, managers=3, workers=2, subnet="172.25.98.0/24"))["inventory"]
        proc = subprocess.run([sys.executable, "-m", "swarmctl", "up", "-i", inventory], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stdout[-3000:])
        time.sleep(5)  # the reconcilers' first passes

        leader = first_leader = next(h for h, n in nodes("base2").items() if n["ManagerStatus"] == "Leader")
        watcher = next(m for m in ("base2", "base3", "base4") if m != leader)
        started, stopped = time.monotonic(), time.time()
        subprocess.run(["docker", "stop", container_name(NAME, leader)], check=True, stdout=subprocess.DEVNULL)

        seen, changes = {}, []

        def healthy():
            listing = nodes(watcher)
            at = f"+{time.monotonic() - started:.1f}"
            # The node list's changes, as a timeline (and when the manager could not give it).
            if not listing:
                if seen.get("(answer)") != "none":
                    changes.append(f"no node list {at}")
                seen["(answer)"] = "none"
                return False
            if seen.get("(answer)") == "none":
                changes.append(f"node list again {at}")
            seen["(answer)"] = "some"
            shown = {h: "/".join((n["Status"], n["ManagerStatus"] or "worker")) for h, n in listing.items()}
            for host in sorted((set(seen) | set(shown)) - {"(answer)"}):
                now = shown.get(host, "gone")
                if host in seen and seen[host] != now:
                    changes.append(f"{host} {now} {at}")
                seen[host] = now
            good = [h for h, n in listing.items() if n["Status"] == "Ready" and n["ManagerStatus"] in ("Leader", "Reachable")]
            return leader not in listing and len(good) == 3

        wait(healthy)
        print(f"leader's host stopped -> 3 healthy managers again: {time.monotonic() - started:.1f} s (target <= 20 s)")
        print(f"  where the time went (the new leader's reconciler journal, s after the stop): "
              f"{repair_steps(next(h for h, n in nodes(watcher).items() if n['ManagerStatus'] == 'Leader'), stopped)}")
        print(f"  the node list, as {watcher} showed it: {', '.join(changes) or 'no change seen'}")

        # The new leader knows the workers again once each registers with it (a few seconds after the election).
        wait(lambda: any(not n["ManagerStatus"] and n["Status"] == "Ready" for n in nodes(watcher).values()))
        worker = next(h for h, n in nodes(watcher).items() if not n["ManagerStatus"] and n["Status"] == "Ready")
        subprocess.run(["docker", "stop", container_name(NAME, worker)], check=True, stdout=subprocess.DEVNULL)
        wait(lambda: nodes(watcher).get(worker, {}).get("Status") == "Down" and sum(spread(watcher).values()) == 6
             and worker not in spread(watcher))
        subprocess.run(["docker", "start", container_name(NAME, worker)], check=True, stdout=subprocess.DEVNULL)
        wait(lambda: nodes(watcher).get(worker, {}).get("Status") == "Ready", interval=0.2)
        returned = time.monotonic()
        eligible = len([h for h, n in nodes(watcher).items() if n["Status"] == "Ready"])

        def balanced():
            counts = spread(watcher)
            return (sum(counts.values()) == 6 and len(counts) == min(eligible, 6)
                    and max(counts.values()) - min(counts.values()) <= 1)

        wait(balanced)
        print(f"worker back -> balanced spread of web: {time.monotonic() - returned:.1f} s (target <= 30 s)")

        # The first leader's host back, out of the swarm that replaced it, and in again as the inventory says.
        subprocess.run(["docker", "start", container_name(NAME, first_leader)], check=True, stdout=subprocess.DEVNULL)
        wait(lambda: on(first_leader, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}") in
             ("active", "pending", "error", "inactive"))
        on(first_leader, "docker", "swarm", "leave", "--force")
        proc = subprocess.run([sys.executable, "-m", "swarmctl", "up", "-i", inventory], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stdout[-3000:])

        # That run demoted the worker promoted above: its engine takes a moment more to get its worker certificate
        # from the managers. Losing two managers in that moment is another scenario (its engine is then stuck
        # between roles); this one starts from a settled swarm.
        def settled():
            listing = nodes(watcher)
            return bool(listing) and all(
                n["Status"] == "Ready" and on(h, "docker", "info", "--format", "{{.Swarm.LocalNodeState}} "
                                             "{{.Swarm.ControlAvailable}}") == f"active {str(bool(n['ManagerStatus'])).lower()}"
                for h, n in listing.items())

        wait(settled)
        managers = [h for h, n in nodes(watcher).items() if n["ManagerStatus"] in ("Leader", "Reachable")]
        leader = next(h for h, n in nodes(watcher).items() if n["ManagerStatus"] == "Leader")
        lost = [leader, next(m for m in managers if m != leader)]
        survivor = next(m for m in managers if m not in lost)
        for host in lost:
            subprocess.run(["docker", "stop", container_name(NAME, host)], check=True, stdout=subprocess.DEVNULL)
        wait(lambda: "does not have a leader" in on(survivor, "docker", "info", "--format", "{{.Swarm.Error}}"))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "swarmctl", "recover", "--yes", "-i", inventory], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stdout[-3000:])
        ran = time.monotonic() - started

        def rebuilt():
            listing = nodes(survivor)
            good = [h for h, n in listing.items() if n["Status"] == "Ready" and n["ManagerStatus"] in ("Leader", "Reachable")]
            return not set(lost) & set(listing) and len(good) == 3

        wait(rebuilt)
        print(f"two of three managers lost -> swarmctl recover -> 3 Ready managers: {time.monotonic() - started:.1f} s "
              f"(the command {ran:.1f} s; target <= 30 s)")

        started = time.monotonic()
        # The two lost hosts are still down: the backup goes on without them.
        proc = subprocess.run([sys.executable, "-m", "swarmctl", "backup", "-i", inventory, "-e",
                               "swarmctl_unreachable_ok=true"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode not in (0, 4):  # 4: it says the lost hosts were unreachable
            sys.exit(proc.stdout[-3000:])
        said = next((line.strip() for line in proc.stdout.splitlines() if "Backed up the swarm" in line), None)
        if said is None:
            sys.exit(f"swarmctl backup did not say where the backup is (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
        print(f"swarmctl backup: {time.monotonic() - started:.1f} s; {said}")
    finally:
        if not os.environ.get("BENCH_KEEP_LAB"):  # kept, to look at after a failure
            lab.down()


if __name__ == "__main__":
    main()

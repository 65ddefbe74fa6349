#!/usr/bin/env python3
"""Where a swarmctl run's time went, task by task, from the events ansible-runner kept for it.

    python bench/profile.py [RUN_DIR] [--top N]

RUN_DIR is a run's folder under the state directory's runs/ (`swarmctl --json` names it in its first line, as
"artifacts"); without it, the newest run there. Prints each task's wall time (from its start to the next task's
start, or to the end of the play), how many hosts it ran on and how many it skipped, the slowest first, and the
run's total. The benches' figures say how long; this says where, e.g. which per-host steps a no-change re-run
still pays for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swarmctl import run_events  # noqa: E402  (after the path above)


def task_times(events: list[dict]) -> list[dict]:
    """[{task, play, seconds, hosts, skipped}] in the order the tasks started."""
    tasks: list[dict] = []
    current = None
    for event in events:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind in ("playbook_on_task_start", "playbook_on_play_start", "playbook_on_stats"):
            if current is not None:
                current["seconds"] = run_events.event_time(event) - current["started"]
                tasks.append(current)
                current = None
            if kind == "playbook_on_task_start":
                current = {"task": data.get("task", ""), "play": data.get("play", ""), "started": run_events.event_time(event),
                           "hosts": set(), "skipped": set()}
        elif current is not None and kind.startswith("runner_on_"):
            host = data.get("host", "")
            (current["skipped"] if kind == "runner_on_skipped" else current["hosts"]).add(host)
    return tasks


def newest_run() -> Path:
    from swarmctl import paths

    runs = sorted(p for p in paths.runs_dir().glob("*") if p.is_dir())
    if not runs:
        raise SystemExit(f"no runs under {paths.runs_dir()}")
    return runs[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path)
    parser.add_argument("--top", type=int, default=25, help="how many of the slowest tasks to print")
    args = parser.parse_args(argv)
    run_dir = args.run_dir or newest_run()
    try:
        events = run_events.load(run_dir)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    tasks = task_times(events)
    if not events:
        raise SystemExit(f"{run_dir}: no events")
    total = run_events.event_time(events[-1]) - run_events.event_time(events[0])
    print(f"{run_dir}: {len(tasks)} tasks, {total:.1f} s from the first event to the last")
    print(f"{'seconds':>8} {'hosts':>5} {'skip':>5}  task (play)")
    for task in sorted(tasks, key=lambda t: -t["seconds"])[:args.top]:
        print(f"{task['seconds']:8.2f} {len(task['hosts']):5d} {len(task['skipped']):5d}  {task['task']}"
              f"  ({task['play'][:50]})")
    in_tasks = sum(t["seconds"] for t in tasks)
    print(f"{in_tasks:8.2f} in tasks; {total - in_tasks:.2f} s before the first and between plays")
    return 0


if __name__ == "__main__":
    sys.exit(main())

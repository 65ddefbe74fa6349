"""The reader of ansible-runner's events (swarmctl/run_events.py) and the profiler built on it."""

import importlib.util
import json
from pathlib import Path

import pytest

from swarmctl import run_events

# bench/profile.py by its path: the standard library has a module named profile.
_SPEC = importlib.util.spec_from_file_location("bench_profile", Path(__file__).resolve().parents[2] / "bench" / "profile.py")
run_profile = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run_profile)


def _write(run_dir: Path, *events: dict) -> None:
    events_dir = run_events.artifacts_dir(run_dir) / "job_events"
    events_dir.mkdir(parents=True)
    for event in events:
        (events_dir / f"{event.get('counter', 0)}-{event.get('uuid', 'x')}.json").write_text(json.dumps(event))


def test_events_come_in_the_order_they_happened_and_untimed_ones_are_left_out(tmp_path):
    _write(tmp_path,
           {"counter": 3, "uuid": "c", "event": "playbook_on_stats", "created": "2026-12-03T10:00:05.500000"},
           {"counter": 1, "uuid": "a", "event": "playbook_on_task_start", "created": "2026-12-03T10:00:00",
            "event_data": {"task": "Ask", "play": "P"}},
           {"counter": 2, "uuid": "b", "event": "runner_on_ok", "created": "2026-12-03T10:00:02",
            "event_data": {"host": "h1"}},
           {"counter": 4, "uuid": "d", "event": "verbose"})
    events = run_events.load(tmp_path)
    assert [e["counter"] for e in events] == [1, 2, 3]
    # UTC, whatever the local zone: 2026-12-03T10:00:00Z
    assert run_events.event_time(events[0]) == 1796292000.0
    tasks = run_profile.task_times(events)
    assert [(t["task"], t["seconds"], t["hosts"]) for t in tasks] == [("Ask", 5.5, {"h1"})]


def test_a_run_without_events_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no ansible-runner events"):
        run_events.load(tmp_path)

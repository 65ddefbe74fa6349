"""What ansible-runner keeps of a swarmctl run: its folder under the run's directory, and the events of the
run (one JSON file per event) that the profiler and the lab tests' diagnostics read."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

IDENT = "run"  # ansible-runner's ident for every run: a run's directory holds one run


def artifacts_dir(run_dir: Path) -> Path:
    """Where ansible-runner writes the run's stdout, command record and events."""
    return Path(run_dir) / "artifacts" / IDENT


def event_time(event: dict) -> float:
    """The event's creation time in epoch seconds (ansible-runner writes UTC without a zone)."""
    return datetime.datetime.fromisoformat(event["created"]).replace(tzinfo=datetime.timezone.utc).timestamp()


def load(run_dir: Path) -> list[dict]:
    """The run's timed events in the order they happened; FileNotFoundError when it kept none."""
    events_dir = artifacts_dir(run_dir) / "job_events"
    if not events_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} holds no ansible-runner events (looked in {events_dir})")
    events = [json.loads(path.read_text()) for path in events_dir.glob("*.json")]
    return sorted((e for e in events if "created" in e), key=lambda e: e.get("counter", 0))

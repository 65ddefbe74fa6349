import io
import json

from swarmctl.progress import Progress, result_message
from swarmctl.runner import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, exit_code_for


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def ev(kind, **data):
    return {"event": kind, "event_data": data}


def play_events():
    return [
        ev("playbook_on_play_start", name="Install"),
        ev("playbook_on_task_start", task="Install packages"),
        ev("runner_on_ok", host="a", res={"changed": True}, duration=1.0),
        ev("runner_on_ok", host="b", res={"changed": False}, duration=1.0),
        ev("runner_on_failed", host="c", res={"msg": "no space left\non device"}, duration=1.0),
        ev("runner_on_unreachable", host="d", res={"msg": "ssh: connect to host 10.0.0.4 port 22: No route to host"}),
        ev("playbook_on_task_start", task="Quiet"),
        ev("runner_on_skipped", host="a"),
        ev("playbook_on_stats", ok={"a": 1, "b": 1}, changed={"a": 1}, failures={"c": 1}, dark={"d": 1}),
    ]


def test_text_progress_one_line_per_task_with_failures_explained():
    out = io.StringIO()
    clock = Clock()
    progress = Progress(out, clock=clock)
    for event in play_events():
        clock.now += 0.5
        progress.handle(event)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "PLAY Install"
    task_line = lines[1]
    assert task_line.lstrip().startswith("UNREACHABLE") and "Install packages" in task_line
    assert "1 changed, 1 failed, 1 ok, 1 unreachable" in task_line
    assert "      c: no space left" in lines
    assert "        on device" in lines
    assert any(l.startswith("      d: ssh: connect") for l in lines)
    assert not any("Quiet" in l for l in lines), "all-skipped tasks stay quiet unless verbose"
    assert progress.stats.failed and progress.stats.unreachable and progress.stats.changed == 1


def test_changed_hosts_are_named_when_few():
    out = io.StringIO()
    progress = Progress(out, clock=Clock())
    progress.handle(ev("playbook_on_task_start", task="t"))
    progress.handle(ev("runner_on_ok", host="h1", res={"changed": True}))
    progress.handle(ev("runner_on_ok", host="h2", res={"changed": False}))
    progress.close()
    assert "(h1)" in out.getvalue()


def test_hundred_hosts_stay_on_one_line():
    out = io.StringIO()
    progress = Progress(out, clock=Clock())
    progress.handle(ev("playbook_on_task_start", task="t"))
    for n in range(100):
        progress.handle(ev("runner_on_ok", host=f"h{n}", res={"changed": True}))
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "100 changed" in lines[0] and "h99" not in lines[0]


def test_json_mode_every_line_parses():
    out = io.StringIO()
    progress = Progress(out, json_mode=True, clock=Clock())
    for event in play_events():
        progress.handle(event)
    progress.handle({"event": "verbose", "stdout": "[ERROR]: the inventory could not be parsed"})
    progress.close()
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [o["event"] for o in objs]
    assert kinds[:2] == ["play_start", "task_start"]
    results = [o for o in objs if o["event"] == "host_result"]
    assert {(o["host"], o["status"]) for o in results} >= {("a", "changed"), ("b", "ok"), ("c", "failed"), ("d", "unreachable")}
    assert objs[-1] == {"event": "message", "kind": "error", "msg": "[ERROR]: the inventory could not be parsed"}
    assert progress.messages == ["[ERROR]: the inventory could not be parsed"]


def test_result_message_hides_no_log_and_collects_loop_failures():
    assert result_message({"censored": "hidden", "changed": False}) == "(output hidden: no_log)"
    res = {"msg": "One or more items failed", "results": [{"failed": True, "msg": "item x broke"}, {"failed": False}]}
    assert result_message(res) == "One or more items failed\nitem x broke"
    assert result_message({"stderr": "  boom  "}) == "boom"


def test_exit_codes():
    assert exit_code_for("successful") == EXIT_OK
    assert exit_code_for("failed") == EXIT_FAILED
    assert exit_code_for("unreachable") == EXIT_UNREACHABLE
    assert exit_code_for("error") == 1


def test_no_log_results_still_count_as_changed():
    out = io.StringIO()
    progress = Progress(out, json_mode=True, clock=Clock())
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}
    progress.handle(ev("playbook_on_task_start", task="login"))
    progress.handle({"event": "runner_on_ok", "stdout": "\r\nTASK [login] ***\r\nchanged: [a]",
                     "event_data": {"host": "a", "res": censored}})
    progress.handle({"event": "runner_on_ok", "stdout": "ok: [b]", "event_data": {"host": "b", "res": censored}})
    statuses = {json.loads(l)["host"]: json.loads(l)["status"] for l in out.getvalue().splitlines()[1:]}
    assert statuses == {"a": "changed", "b": "ok"}


def test_debug_messages_and_diffs_are_shown():
    out = io.StringIO()
    progress = Progress(out, clock=Clock(), show_diff=True)
    progress.handle(ev("playbook_on_task_start", task="why"))
    progress.handle(ev("runner_on_ok", host="localhost", task_action="debug",
                       res={"msg": "registry certificate: it expires soon"}))
    progress.handle(ev("playbook_on_task_start", task="cert"))
    progress.handle(ev("runner_on_ok", host="localhost", task_action="swarmctl_certificate",
                       res={"changed": True, "diff": {"before": {"serial": "1"}, "after": {"serial": "2"},
                                                      "after_header": "/c/registry.crt"}}))
    progress.close()
    text = out.getvalue()
    assert "registry certificate: it expires soon" in text
    assert "-serial: '1'" in text and "+serial: '2'" in text and "/c/registry.crt" in text


def test_warnings_of_host_results_and_of_ansible_are_shown_once_each():
    out = io.StringIO()
    progress = Progress(out)
    even = "2 managers tolerate 0 manager failure(s)"
    for event in [
        ev("playbook_on_play_start", name="Validate"),
        ev("playbook_on_task_start", task="Check the inventory"),
        ev("runner_on_ok", host="localhost", res={"changed": False, "warnings": [even]}),
        ev("playbook_on_task_start", task="Loop"),
        ev("runner_on_ok", host="a", res={"results": [{"warnings": ["item warning"]}],
                                          "deprecations": [{"msg": "old option", "version": "2.20"}]}),
        ev("runner_on_ok", host="b", res={"results": [{"warnings": ["item warning"]}]}),
        {"event": "warning", "stdout": "\x1b[1;35m[WARNING]: Could not match supplied host pattern\x1b[0m"},
        ev("playbook_on_stats", ok={"localhost": 1, "a": 1, "b": 1}),
    ]:
        progress.handle(event)
    progress.close()
    text = out.getvalue()
    assert f"WARNING: {even}" in text
    assert "WARNING (a b): item warning" in text and "deprecated: old option" in text
    assert "Could not match supplied host pattern" in text
    assert sorted(progress.warnings) == sorted([even, "item warning", "deprecated: old option",
                                                "Could not match supplied host pattern"])


def test_warnings_are_json_events_in_json_mode():
    out = io.StringIO()
    progress = Progress(out, json_mode=True)
    progress.handle(ev("playbook_on_task_start", task="Check"))
    progress.handle(ev("runner_on_ok", host="localhost", res={"warnings": ["even managers"]}))
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"event": "warning", "host": "localhost", "task": "Check", "msg": "even managers"} in events


def test_a_refused_input_is_bad_usage_not_a_host_failure():
    progress = Progress(io.StringIO())
    progress.handle(ev("playbook_on_task_start", task="Check the inventory"))
    progress.handle(ev("runner_on_failed", host="localhost", role="validate_inventory",
                       res={"msg": "the inventory has 1 problem(s)"}))
    assert progress.bad_input
    from swarmctl.runner import EXIT_USAGE
    assert exit_code_for("bad_input") == EXIT_USAGE


def test_secret_values_are_never_printed():
    out = io.StringIO()
    progress = Progress(out, secrets={"hunter2-password"})
    progress.handle(ev("playbook_on_task_start", task="Log in"))
    progress.handle(ev("runner_on_failed", host="a", res={"msg": "login refused for hunter2-password"}))
    progress.close()
    progress.emit({"event": "x", "msg": "hunter2-password"})
    assert "hunter2-password" not in out.getvalue() and "********" in out.getvalue()


def test_a_run_cut_short_counts_what_its_hosts_reported():
    """An interrupted run has no recap: its summary still says what changed before it stopped."""
    progress = Progress(io.StringIO())
    for event in play_events()[:-1]:  # everything but the recap
        progress.handle(event)
    progress.close()
    assert progress.stats.changed == 1 and progress.stats.failed and progress.stats.unreachable
    assert progress.stats.hosts["a"] == {"ok": 1, "changed": 1, "skipped": 1}  # as Ansible counts: ok includes changed


def test_what_changed_results_did_is_listed_under_the_task_grouped_across_hosts():
    out = io.StringIO()
    progress = Progress(out)
    progress.handle(ev("playbook_on_task_start", task="Keep the engine"))
    for host in ("a", "b", "c"):
        progress.handle(ev("runner_on_ok", host=host, res={"changed": True, "actions": ["wrote /etc/docker/daemon.json"]}))
    progress.handle(ev("runner_on_ok", host="d", res={"changed": False, "actions": ["not shown: nothing changed"]}))
    progress.close()
    assert "      a b c: wrote /etc/docker/daemon.json" in out.getvalue()
    assert "not shown" not in out.getvalue()

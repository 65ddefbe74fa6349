"""Services online behind the load balancer, rolling updates that wait, and rollbacks, on the lab."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from helpers import LoadLoop, container_logs, get, running_tasks_per_node, runs_of, swarmctl
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab


def on(lab, host, *argv) -> str:
    proc = subprocess.run(["docker", "exec", container_name(lab.name, host), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip()


def running_tasks(lab) -> list[dict]:
    out = on(lab, "base2", "docker", "service", "ps", "web", "--filter", "desired-state=running",
             "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines()]


def service_image(lab) -> str:
    return on(lab, "base2", "docker", "service", "inspect", "web", "--format",
              "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("@")[0]


def swarm_addresses(result) -> list[str]:
    return [h["address"] for h in result["hosts"] if h["group"] in ("managers", "workers")]


def test_lab_main_job_put_six_replicas_online_spread_over_the_nodes(converged):
    lab, result, run = converged
    # As `swarmctl up` left them (the session's lab, read right after it: tests before this one roll web).
    assert result["web_tasks_after_up"] == {"base2": 2, "base3": 2, "base4": 2}
    tasks = running_tasks(lab)
    assert len(tasks) == 6 and all(t["CurrentState"].startswith("Running") for t in tasks)
    # No IPVS on this kernel: preflight said so, and HAProxy runs on every node.
    assert "No IPVS in the kernel" in run.stdout
    edge = on(lab, "base2", "docker", "service", "ls", "--filter", "name=edge-lb", "--format", "{{.Replicas}}")
    assert edge == "3/3"


def test_sixty_requests_through_the_balancer_reach_all_six_replicas(converged):
    _, result, _ = converged
    answers = [get(address) for address in swarm_addresses(result) for _ in range(20)]
    assert len(answers) == 60
    assert all(a.startswith("web v1 on ") for a in answers), set(answers)
    assert len(set(answers)) == 6


def test_a_second_deploy_changes_nothing_and_restarts_nothing(converged):
    lab, result, _ = converged
    before = sorted(t["ID"] for t in running_tasks(lab))
    run = swarmctl("deploy", "-i", result["inventory"], "--json")
    assert run.rc == 0 and run.summary()["changed"] == 0, run
    assert sorted(t["ID"] for t in running_tasks(lab)) == before


def test_check_and_diff_mode_predict_a_spec_change_without_making_it(converged):
    lab, result, _ = converged
    data = yaml.safe_load(Path(result["inventory"]).read_text())
    data["all"]["vars"]["swarmctl_services"][0]["replicas"] = 7
    changed = Path(result["inventory"]).with_name("inventory-7.yml")
    changed.write_text(yaml.safe_dump(data))
    run = swarmctl("deploy", "-i", str(changed), "--check", "--diff")
    assert run.rc == 0, run
    assert "Replicas: 6" in run.stdout and "Replicas: 7" in run.stdout, "the diff shows the replica change"
    assert len(running_tasks(lab)) == 6


def test_where_every_node_has_ipvs_the_routing_mesh_publishes_the_port(converged):
    lab, result, _ = converged
    run = swarmctl("deploy", "-i", result["inventory"], "-e", "swarmctl_load_balancer=mesh", "--check", "--diff")
    assert run.rc == 0, run
    # Predicted only: this kernel has no IPVS, so nothing would answer on an ingress port here.
    assert "PublishMode: ingress" in run.stdout and "PublishedPort: 8080" in run.stdout
    assert "+  Mode: vip" in run.stdout or "Mode: vip" in run.stdout
    assert "No IPVS in the kernel" not in run.stdout, "an explicit choice needs no explanation"
    assert len(running_tasks(lab)) == 6


def test_rolling_update_v1_to_v2_keeps_every_request_answered(converged):
    lab, result, _ = converged
    with LoadLoop(swarm_addresses(result)) as load:
        run = swarmctl("update", "web", "--image", "westos.org/web:v2", "-i", result["inventory"], "--json")
        time.sleep(1)
    assert run.rc == 0, run
    assert load.failures == [], load.report()
    versions = [a.split()[1] for a in load.answers]
    assert versions[0] == "v1" and versions[-1] == "v2"
    assert versions[-20:] == ["v2"] * 20, "once the rollout is done, only v2 answers"
    assert service_image(lab) == "westos.org/web:v2"
    events = run.json_lines()
    (done,) = [e for e in events if e.get("event") == "host_result" and e["task"].startswith("Start rolling the new image")]
    assert done["status"] == "changed"


def test_explicit_rollback_returns_to_the_previous_spec(converged):
    lab, result, _ = converged
    run = swarmctl("rollback", "web", "-i", result["inventory"])
    assert run.rc == 0, run
    assert service_image(lab) == "westos.org/web:v1"
    assert len(running_tasks(lab)) == 6


def test_update_to_a_failing_image_rolls_back_fails_the_task_and_keeps_serving(converged):
    lab, result, _ = converged
    with LoadLoop(swarm_addresses(result)) as load:
        run = swarmctl("update", "web", "--image", "westos.org/web:broken", "-i", result["inventory"])
        time.sleep(1)
    assert run.rc == 3, run
    assert "the rollout rolled back; the service runs westos.org/web:v1 again" in run.stdout
    assert "task failure(s)" in run.stdout and "non-zero exit" in run.stdout
    assert service_image(lab) == "westos.org/web:v1"
    assert load.failures == [], load.report()
    assert {a.split()[1] for a in load.answers} == {"v1"}


def test_scale_changes_the_replica_count_only(converged):
    lab, result, _ = converged
    spec_before = json.loads(on(lab, "base2", "docker", "service", "inspect", "web", "--format", "{{json .Spec}}"))
    run = swarmctl("scale", "web=8", "-i", result["inventory"])
    assert run.rc == 0, run
    spec_after = json.loads(on(lab, "base2", "docker", "service", "inspect", "web", "--format", "{{json .Spec}}"))
    assert spec_after["Mode"]["Replicated"]["Replicas"] == 8 and len(running_tasks(lab)) == 8
    spec_after["Mode"] = spec_before["Mode"]
    assert spec_after == spec_before
    back = swarmctl("deploy", "-i", result["inventory"], "--json")
    assert back.rc == 0 and len(running_tasks(lab)) == 6, back


def test_status_shows_nodes_and_services(converged):
    _, result, _ = converged
    text = swarmctl("status", "-i", result["inventory"])
    assert text.rc == 0, text
    assert "leader" in text.stdout and "web" in text.stdout and "6/6" in text.stdout
    data = swarmctl("status", "-i", result["inventory"], "--json").json_lines()[-1]
    assert {n["hostname"] for n in data["nodes"]} == {"base2", "base3", "base4"}
    (web,) = [s for s in data["services"] if s["name"] == "web"]
    assert (web["running"], web["wanted"], web["state"]) == (6, 6, "converged")
    assert "STATE" in text.stdout and "MAINTENANCE" in text.stdout


def test_a_new_haproxy_configuration_rolls_out_once_and_then_nothing_changes(converged):
    """The update sends only the spec's parts the module sets: an empty part would come back filled in by the
    engine and show as a difference on every later run."""
    lab, result, _ = converged
    slower_checks = ("-e", "edge_lb_check_interval=2s")
    first = swarmctl("deploy", "-i", result["inventory"], *slower_checks, "--json")
    assert first.rc == 0 and first.summary()["changed"] >= 1, first
    again = swarmctl("deploy", "-i", result["inventory"], *slower_checks, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again
    back = swarmctl("deploy", "-i", result["inventory"], "--json")
    assert back.rc == 0, back
    assert on(lab, "base2", "docker", "service", "ls", "--filter", "name=edge-lb", "--format", "{{.Replicas}}") == "3/3"
    # The configurations no service uses any more are gone: only the one in use is left.
    configs = on(lab, "base2", "docker", "config", "ls", "--filter", "label=io.swarmctl.edge_lb", "--format", "{{.Name}}")
    assert len(configs.splitlines()) == 1, configs


def test_engines_restart_for_a_config_change_one_node_at_a_time_and_a_service_keeps_answering(converged, tmp_path):
    """A daemon.json change that needs a restart: each node is drained first and put back after, one at a time,
    while a 4-replica service behind the balancer answers every request."""
    lab, result, _ = converged
    assert swarmctl("scale", "web=4", "-i", result["inventory"]).rc == 0
    inventory = yaml.safe_load(Path(result["inventory"]).read_text())
    for worker in ("base3", "base4"):
        inventory["all"]["children"]["workers"]["hosts"][worker]["docker_engine_daemon_extra"] = {"log-level": "info"}
    changed = tmp_path / "inventory.yml"
    changed.write_text(yaml.safe_dump(inventory))
    manager = next(h["address"] for h in result["hosts"] if h["name"] == "base2")
    try:
        # Requests go to the manager's balancer, which is never restarted; the tasks behind it move around.
        for path in (changed, Path(result["inventory"])):  # the change, then back as it was
            placement = running_tasks_per_node(lab, "web", "base2")
            with LoadLoop([manager]) as load:
                run = swarmctl("up", "-i", str(path), "--tags", "engine", "--json")
            assert run.rc == 0, run
            # The message (worked out only when the assertion fails) shows what the balancer saw and where web's
            # tasks went.
            assert load.failures == [] and len(load.answers) > 50, (
                f"web's tasks before: {placement}\n{load.report(run)}\nedge-lb on base2:\n"
                f"{container_logs(lab, 'base2', 'edge-lb', load.started)}\nweb's tasks:\n"
                + on(lab, "base2", "docker", "service", "ps", "web", "--format",
                     "{{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}"))
            actions = [(e["host"], a) for e in run.json_lines() if e.get("event") == "host_result"
                       for a in e.get("actions", [])]
            # "base3: set availability drain, labels [...]" -> "set availability drain"
            steps = [(host, a.split(": ", 1)[-1].split(",")[0]) for host, a in actions]
            order = [(host, a) for host, a in steps if a in ("set availability drain", "restarted docker",
                                                             "set availability active")]
            assert [a for _, a in order] == ["set availability drain", "restarted docker",
                                             "set availability active"] * 2, order
            assert {host for host, _ in order} == {"base3", "base4"}
            nodes = on(lab, "base2", "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}")
            assert sorted(nodes.splitlines()) == ["base2 Ready Active", "base3 Ready Active", "base4 Ready Active"]
        again = swarmctl("up", "-i", result["inventory"], "--tags", "engine", "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again
    finally:
        assert swarmctl("deploy", "-i", result["inventory"]).rc == 0
    assert len(running_tasks(lab)) == 6


def test_switching_a_service_between_replicated_and_global_needs_recreate(converged, tmp_path):
    lab, result, _ = converged
    probe = {"name": "probe", "image": "westos.org/web:v1", "replicas": 1, "env": {"GREETING": "hello-7f3a9e"}}
    first = tmp_path / "probe.yml"
    first.write_text(json.dumps({"swarmctl_services": [probe]}))
    try:
        assert swarmctl("deploy", "-i", result["inventory"], "-e", f"@{first}").rc == 0
        created = on(lab, "base2", "docker", "service", "inspect", "probe", "--format", "{{.ID}}")
        # A diff (and -vvv) names the environment variables and says which changed, never their values, on
        # screen or in the run's files.
        greeted = tmp_path / "services.yml"  # a file: its values are not on the command line swarmctl shows
        greeted.write_text(json.dumps({"swarmctl_services": [{**probe, "env": {"GREETING": "hi-0b52c1"}}]}))
        diff = swarmctl("deploy", "-i", result["inventory"], "-e", f"@{greeted}", "--check", "--diff", "-vvv")
        assert diff.rc == 0, diff
        assert "GREETING" in diff.stdout and "(hidden), changed" in diff.stdout, diff
        kept = (runs_of(Path(result["inventory"]).parent)[-1] / "artifacts" / "run" / "stdout").read_text()
        for value in ("hello-7f3a9e", "hi-0b52c1"):
            assert value not in diff.output and value not in kept, value

        switched = json.dumps({"swarmctl_services": [{**probe, "mode": "global"}]})
        refused = swarmctl("deploy", "-i", result["inventory"], "-e", switched)
        assert refused.rc == 3, refused
        assert "cannot be done in place" in refused.stdout and "recreate: true" in refused.stdout
        assert on(lab, "base2", "docker", "service", "inspect", "probe", "--format", "{{.ID}}") == created
        recreate = json.dumps({"swarmctl_services": [{**probe, "mode": "global", "recreate": True}]})
        done = swarmctl("deploy", "-i", result["inventory"], "-e", recreate)
        assert done.rc == 0, done
        assert on(lab, "base2", "docker", "service", "ls", "--filter", "name=probe", "--format", "{{.Mode}}") == "global"
    finally:
        subprocess.run(["docker", "exec", container_name(lab.name, "base2"), "docker", "service", "rm", "probe"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _small_service(name: str, tag: str, **extra) -> dict:
    """A service like web, smaller: two replicas, rolled out one at a time, rolled back on failure."""
    return {"name": name, "image": f"westos.org/web:{tag}", "replicas": 2,
            "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1/", "interval": "3s", "timeout": "2s",
                            "retries": 2, "start_period": "2s"},
            "update_config": {"parallelism": 1, "delay": "2s", "failure_action": "rollback", "monitor": "4s",
                              "order": "start-first"},
            "rollback_config": {"parallelism": 2, "monitor": "2s", "order": "start-first"},
            "stop_grace_period": "2s", **extra}


def test_changed_services_roll_out_side_by_side_and_a_broken_one_rolls_back_alone(converged, tmp_path):
    """Three services changed in one deploy: every update is under way before any has ended; two complete, the
    broken one rolls back and fails the run (exit 3) by name; the next wave (deploy_order) is not started."""
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import parse_time

    lab, result, _ = converged
    names = ["side-a", "side-b", "side-c"]
    first, second = tmp_path / "v1.json", tmp_path / "v2.json"
    first.write_text(json.dumps({"swarmctl_services": [_small_service(n, "v1") for n in names]}))
    second.write_text(json.dumps({"swarmctl_services": [
        _small_service("side-a", "v2"), _small_service("side-b", "v2"), _small_service("side-c", "broken"),
        _small_service("side-late", "v2", deploy_order=1)]}))
    try:
        made = swarmctl("deploy", "-i", result["inventory"], "-e", f"@{first}", "--json")
        assert made.rc == 0, made.why()
        run = swarmctl("deploy", "-i", result["inventory"], "-e", f"@{second}", "--json")
        assert run.rc == 3, run.why()
        assert "updating side-c to westos.org/web:broken: the rollout rolled back; the service runs " \
               "westos.org/web:v1 again" in run.stdout, run.why()
        followed = [e for e in run.json_lines() if e.get("event") == "host_result"
                    and e.get("task", "").startswith("Follow the rollouts together")]
        assert followed and followed[-1]["status"] == "failed", run.why()
        images = {n: on(lab, "base2", "docker", "service", "inspect", n, "--format",
                        "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("@")[0] for n in names}
        assert images == {"side-a": "westos.org/web:v2", "side-b": "westos.org/web:v2",
                          "side-c": "westos.org/web:v1"}, images

        def ended(services) -> dict:
            """The services' UpdateStatus once all say completed (swarmctl calls a rollout converged once every
            new task ran through the monitor window; the engine may say `completed` a moment later)."""
            deadline = time.monotonic() + 60
            while True:
                status = {n: json.loads(on(lab, "base2", "docker", "service", "inspect", n, "--format",
                                           "{{json .UpdateStatus}}")) for n in services}
                if all(s["State"].endswith("completed") for s in status.values()) or time.monotonic() > deadline:
                    return status
                time.sleep(1)

        status = ended(names)
        assert [status[n]["State"] for n in names] == ["completed", "completed", "rollback_completed"], status
        # Side by side: the last update began before the first one ended (one after another, each would begin
        # only after the one before had converged).
        assert max(parse_time(s["StartedAt"]) for s in status.values()) < \
            min(parse_time(s["CompletedAt"]) for s in status.values()), status
        listed = on(lab, "base2", "docker", "service", "ls", "--format", "{{.Name}}").split()
        assert "side-late" not in listed, "a later wave starts only after the one before converged"

        # `swarmctl update` and `swarmctl rollback` of several services go side by side too.
        def ended_together(services, verb):
            status = ended(services)
            assert all(s["State"].endswith("completed") for s in status.values()), (verb, status)
            assert max(parse_time(s["StartedAt"]) for s in status.values()) < \
                min(parse_time(s["CompletedAt"]) for s in status.values()), (verb, status)

        update = swarmctl("update", "side-a", "side-b", "--image", "westos.org/web:v1", "-i", result["inventory"])
        assert update.rc == 0, update
        ended_together(["side-a", "side-b"], "update")
        back = swarmctl("rollback", "side-a", "side-b", "-i", result["inventory"])
        assert back.rc == 0, back
        ended_together(["side-a", "side-b"], "rollback")
        assert {n: on(lab, "base2", "docker", "service", "inspect", n, "--format",
                      "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("@")[0] for n in ("side-a", "side-b")} == \
            {"side-a": "westos.org/web:v2", "side-b": "westos.org/web:v2"}
    finally:
        subprocess.run(["docker", "exec", container_name(lab.name, "base2"), "docker", "service", "rm", *names,
                        "side-late"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_service_made_by_hand_is_exported_and_adopted_without_a_change(converged, tmp_path):
    """swarmctl export writes the swarm's services down as swarmctl specs (a new file, 0600, values never shown);
    with the hand-made one added to the inventory, a deploy changes nothing and restarts nothing."""
    lab, result, _ = converged
    on(lab, "base2", "docker", "service", "create", "--detach", "--with-registry-auth", "--name", "handmade",
       "--replicas", "2", "--env", "MODE=prod", "--env", "API_TOKEN=tok-3f9a1c", "--label", "team=core",
       "--container-label", "tier=back", "--constraint", "node.role==worker", "--update-parallelism", "1",
       "--update-delay", "2s", "--update-order", "start-first", "--restart-condition", "on-failure",
       "--limit-memory", "64M", "--mount", "type=tmpfs,target=/scratch", "--health-cmd",
       "wget -q -O /dev/null http://127.0.0.1/", "--health-interval", "5s", "--stop-grace-period", "3s",
       "--publish", "published=8099,target=80,mode=host", "westos.org/web:v1")
    on(lab, "base2", "docker", "service", "create", "--detach", "--with-registry-auth", "--name", "logged",
       "--log-driver", "json-file", "westos.org/web:v1")
    try:
        exported = tmp_path / "services.yml"
        run = swarmctl("export", "-o", str(exported), "-i", result["inventory"])
        assert run.rc == 0, run
        assert "tok-3f9a1c" not in run.output, "no environment value on screen"
        assert oct(exported.stat().st_mode & 0o777) == "0o600"
        services = {s["name"]: s for s in yaml.safe_load(exported.read_text())["swarmctl_services"]}
        assert set(services) == {"web", "handmade", "logged"}, services.keys()
        assert "edge-lb (swarmctl's own" in run.stdout, run
        # A log driver is no option of swarmctl's: named, as what a deploy of the file would take out.
        assert "logged: TaskTemplate.LogDriver" in run.stdout and "handmade:" not in run.stdout, run
        handmade = services["handmade"]
        assert handmade["env"] == {"MODE": "prod", "API_TOKEN": "tok-3f9a1c"} and handmade["replicas"] == 2
        assert handmade["image"] == "westos.org/web:v1" and handmade["constraints"] == ["node.role==worker"]
        again = swarmctl("export", "-o", str(exported), "-i", result["inventory"])
        assert again.rc == 2 and "never replaces one" in again.output, again

        # Adopted: in the inventory as exported, a deploy changes nothing and restarts no task.
        data = yaml.safe_load(Path(result["inventory"]).read_text())
        data["all"]["vars"]["swarmctl_services"].append(handmade)
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump(data))
        tasks = on(lab, "base2", "docker", "service", "ps", "-q", "handmade")
        check = swarmctl("deploy", "-i", str(inventory), "--check", "--json")
        assert check.rc == 0 and check.summary()["changed"] == 0, check.why()
        deploy = swarmctl("deploy", "-i", str(inventory), "--json")
        assert deploy.rc == 0 and deploy.summary()["changed"] == 0, deploy.why()
        assert on(lab, "base2", "docker", "service", "ps", "-q", "handmade") == tasks
    finally:
        on(lab, "base2", "docker", "service", "rm", "handmade", "logged")

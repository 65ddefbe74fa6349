"""Services read back as swarmctl specs (swarmctl export): the inverse of build_spec, checked against it."""

from __future__ import annotations

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import build_spec
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service_export import (
    duration_text,
    kept_out,
    service_options,
    unexpressed,
)

NETWORKS = {"n1": "edge", "n2": "backend"}
FAMILIES = {"secret": {"db-password-0123456789ab": "db-password"}, "config": {}}
SECRET_IDS = {"db-password-0123456789ab": "s1", "tls-key": "s2"}
CONFIG_IDS = {"app-settings": "c1"}

FULL = {
    "name": "api",
    "image": "reg.example.com:5000/api:v3",
    "replicas": 4,
    "command": ["/app/api"],
    "args": ["--port", "8080"],
    "env": {"MODE": "prod", "EMPTY": ""},
    "hostname": "{{.Service.Name}}-{{.Task.Slot}}",
    "user": "1000:1000",
    "workdir": "/app",
    "labels": {"team": "core"},
    "container_labels": {"log": "json"},
    "networks": ["backend", "edge"],
    "publish": [{"published": 8080, "target": 80}, {"published": 53, "target": 53, "protocol": "udp", "mode": "host"}],
    "endpoint_mode": "dnsrr",
    "constraints": ["node.role == worker"],
    "placement_preferences": [{"spread": "node.labels.zone"}],
    "max_replicas_per_node": 2,
    "limits": {"cpus": 1.5, "memory": 268435456},
    "reservations": {"cpus": 1, "memory": 67108864},
    "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1/", "interval": "3s", "timeout": "2s",
                    "retries": 2, "start_period": "500ms"},
    "restart_policy": {"condition": "on-failure", "delay": "5s", "max_attempts": 3, "window": "2m"},
    "update_config": {"parallelism": 2, "delay": "5s", "failure_action": "rollback", "monitor": "5s",
                      "order": "start-first", "max_failure_ratio": 0.2},
    "rollback_config": {"parallelism": 1, "order": "stop-first"},
    "mounts": [{"source": "data", "target": "/data"}, {"type": "bind", "source": "/etc/ssl", "target": "/ssl",
                                                        "readonly": True}],
    "secrets": [{"name": "db-password"}, {"name": "tls-key", "target": "key.pem", "uid": "1000", "mode": "0400"}],
    "configs": [{"name": "app-settings", "target": "/etc/app.ini"}],
    "stop_grace_period": "90s",
}


def live(options: dict, image_ref: str) -> dict:
    """The spec a deploy of these options gives the engine (the services role points families at versions)."""
    params = dict(options, replicas=options.get("replicas", 1))
    params["secrets"] = [dict(r, name="db-password-0123456789ab", target="db-password") if r["name"] == "db-password"
                         else r for r in options.get("secrets", [])]
    return build_spec(params, image_ref, {v: k for k, v in NETWORKS.items()}, SECRET_IDS, CONFIG_IDS)


def test_every_option_reads_back_as_it_was_given():
    spec = live(FULL, "reg.example.com:5000/api:v3@sha256:" + "a" * 64)
    options = service_options(spec, NETWORKS, FAMILIES)
    assert options == FULL
    assert unexpressed(spec, options, NETWORKS, FAMILIES) == []


def test_small_specs_read_back_small():
    for given in ({"name": "web", "image": "web:v1", "replicas": 1},
                  {"name": "agent", "image": "agent:2", "mode": "global"},
                  {"name": "pinned", "image": "web@sha256:" + "b" * 64, "replicas": 2}):
        image_ref = given["image"] if "@" in given["image"] else given["image"] + "@sha256:" + "c" * 64
        spec = live(given, image_ref)
        options = service_options(spec, NETWORKS, FAMILIES)
        assert options == given, options
        assert unexpressed(spec, options, NETWORKS, FAMILIES) == []


def test_an_image_never_pinned_stays_unpinned():
    spec = live({"name": "local", "image": "tool:dev"}, "tool:dev")
    options = service_options(spec, NETWORKS, FAMILIES)
    assert options["image"] == "tool:dev" and options["resolve_image"] is False
    assert unexpressed(spec, options, NETWORKS, FAMILIES) == []


def test_what_no_option_describes_is_named():
    spec = live({"name": "api", "image": "api:v1"}, "api:v1@sha256:" + "d" * 64)
    spec["TaskTemplate"]["LogDriver"] = {"Name": "syslog"}
    spec["TaskTemplate"]["ContainerSpec"]["CapabilityAdd"] = ["NET_ADMIN"]
    spec["TaskTemplate"]["ContainerSpec"]["Isolation"] = "default"  # the engine's own
    options = service_options(spec, NETWORKS, FAMILIES)
    assert unexpressed(spec, options, NETWORKS, FAMILIES) == ["TaskTemplate.ContainerSpec.CapabilityAdd",
                                                              "TaskTemplate.LogDriver"]


def test_swarmctls_own_services_stacks_and_jobs_are_kept_out():
    assert "swarmctl's own" in kept_out({"Labels": {"io.swarmctl.role": "edge-lb"}, "Mode": {"Global": {}}})
    assert "stack shop" in kept_out({"Labels": {"com.docker.stack.namespace": "shop"}, "Mode": {"Global": {}}})
    assert "ReplicatedJob" in kept_out({"Mode": {"ReplicatedJob": {}}})
    assert kept_out({"Mode": {"Replicated": {"Replicas": 1}}}) is None


def test_durations_read_back_exactly():
    assert [duration_text(n) for n in (5 * 10**9, 90 * 10**9, 3600 * 10**9, 5 * 10**8, 1500, None)] == \
        ["5s", "90s", "1h", "500ms", "1500ns", None]


def test_the_environments_order_is_no_difference():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import spec_differences

    spec = live({"name": "api", "image": "api:v1", "env": {"B": "2", "A": "1"}}, "api:v1@sha256:" + "e" * 64)
    by_hand = {**spec, "TaskTemplate": {**spec["TaskTemplate"], "ContainerSpec": {
        **spec["TaskTemplate"]["ContainerSpec"], "Env": ["B=2", "A=1"]}}}
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1", "B=2"]
    assert spec_differences(spec, by_hand) == []
    changed = {**by_hand, "TaskTemplate": {**by_hand["TaskTemplate"], "ContainerSpec": {
        **by_hand["TaskTemplate"]["ContainerSpec"], "Env": ["B=3", "A=1"]}}}
    assert spec_differences(spec, changed) == ["TaskTemplate.ContainerSpec.Env"]

"""A compose file's published ports put behind HAProxy (plugin_utils/swarmctl_stack_lb.py)."""

from __future__ import annotations

import pytest

from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_stack_lb import EDGE_KEY, StackLBError, behind_haproxy

COMPOSE = {
    "services": {
        "front": {"image": "web:v1", "ports": ["8091:80", {"target": 9000, "published": 9000, "mode": "host"}]},
        "api": {"image": "api:v1", "networks": {"shopnet": {"aliases": ["api"]}},
                "ports": [{"target": 8080, "published": 8092}], "deploy": {"replicas": 2}},
        "worker": {"image": "worker:v1", "networks": ["shopnet"]},
    },
    "networks": {"shopnet": {"driver": "overlay"}},
}


def test_ingress_ports_go_behind_haproxy_and_host_ports_stay():
    compose, exposed = behind_haproxy(COMPOSE, "shop", "edge")
    assert exposed == [{"name": "shop_front", "expose": {"port": 8091, "target": 80}},
                       {"name": "shop_api", "expose": {"port": 8092, "target": 8080}}]
    front, api, worker = (compose["services"][n] for n in ("front", "api", "worker"))
    assert front["ports"] == [{"target": 9000, "published": 9000, "mode": "host"}]
    assert front["networks"] == ["default", EDGE_KEY] and front["deploy"] == {"endpoint_mode": "dnsrr"}
    assert "ports" not in api and api["networks"] == {"shopnet": {"aliases": ["api"]}, EDGE_KEY: None}
    assert api["deploy"] == {"replicas": 2, "endpoint_mode": "dnsrr"}
    assert worker == COMPOSE["services"]["worker"]
    assert compose["networks"][EDGE_KEY] == {"external": True, "name": "edge"}
    assert "networks" not in COMPOSE["services"]["front"], "the file given is left as it was"


def test_a_file_without_ingress_ports_is_left_alone():
    plain = {"services": {"a": {"image": "x", "ports": [{"target": 1, "published": 2, "mode": "host"}]}}}
    assert behind_haproxy(plain, "s", "edge") == (plain, [])
    assert behind_haproxy(None, "s", "edge") == (None, [])


@pytest.mark.parametrize("port, message", [
    ("8000-8010:80", "cannot be balanced by HAProxy"),
    ("${PORT}:80", "no range, no variable"),
    ("127.0.0.1:8091:80", "names a host address"),
    ("5353:53/udp", "is udp"),
    ({"target": 80}, "needs a published and a target port"),
    ("70000:80", "out of range"),
])
def test_ports_haproxy_cannot_front_are_named(port, message):
    with pytest.raises(StackLBError, match="stack shop, service front") as caught:
        behind_haproxy({"services": {"front": {"image": "x", "ports": [port]}}}, "shop", "edge")
    assert message in str(caught.value)

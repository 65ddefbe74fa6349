"""A compose file deployed as a stack on the seed's lab: two services, a network, a config and a secret, and a
published port, balanced as swarmctl_services' exposed ports are (here HAProxy: the lab has no IPVS); a second
deploy changes nothing, check mode predicts, a new image rolls one service only, a broken one rolls back (exit 3),
and a service taken out of the file is pruned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import get, on, swarmctl
from test_services import swarm_addresses
from test_reconciler import wait_until

pytestmark = pytest.mark.lab

COMPOSE = """\
version: "3.8"
services:
  front:
    image: westos.org/web:${FRONT_TAG:-v1}
    networks: [shopnet]
    ports: ["8091:80"]
    configs: [{source: greeting, target: /etc/greeting}]
    secrets: [token]
    healthcheck: {test: "wget -q -O /dev/null http://127.0.0.1/", interval: 2s, timeout: 2s, retries: 2}
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 1s, failure_action: rollback, monitor: 6s, order: start-first}
%(back)s
networks:
  shopnet: {driver: overlay}
configs:
  greeting: {file: ./greeting.txt}
secrets:
  token: {file: ./token.txt}
"""
BACK = """\
  back:
    image: westos.org/web:v1
    networks: [shopnet]
    deploy: {replicas: 1}
"""


def stack_services(lab) -> dict:
    out = on(lab, "base2", "docker", "service", "ls", "--filter", "label=com.docker.stack.namespace=shop",
             "--format", "{{.Name}} {{.Replicas}} {{.Image}}")
    return {line.split()[0]: line.split()[1:] for line in out.splitlines()}


def task_ids(lab, service) -> list[str]:
    return sorted(on(lab, "base2", "docker", "service", "ps", "-q", "--filter", "desired-state=running",
                     service).split())


def _answers(address: str) -> bool:
    try:
        return bool(get(address, port=8091))
    except OSError:
        return False


def _inventory_with_stack(result, compose: Path, tag: str) -> str:
    data = yaml.safe_load(Path(result["inventory"]).read_text())
    data["all"]["vars"]["swarmctl_stacks"] = [{"name": "shop", "compose": str(compose), "env": {"FRONT_TAG": tag}}]
    path = Path(result["inventory"]).with_name(f"inventory-stack-{tag}.yml")
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_compose_file_is_deployed_followed_updated_rolled_back_and_pruned(converged, tmp_path):
    lab, result, _ = converged
    (tmp_path / "greeting.txt").write_text("hello from the config\n")
    (tmp_path / "token.txt").write_text("token-4f1c9a77\n")
    compose = tmp_path / "compose.yml"
    compose.write_text(COMPOSE % {"back": BACK})
    try:
        made = swarmctl("deploy", "--stack", "shop", "--compose-file", str(compose), "-i", result["inventory"], "--json")
        assert made.rc == 0, made.why()
        assert stack_services(lab) == {"shop_front": ["2/2", "westos.org/web:v1"], "shop_back": ["1/1", "westos.org/web:v1"]}
        for kind, name in (("network", "shop_shopnet"), ("config", "shop_greeting"), ("secret", "shop_token")):
            assert on(lab, "base2", "docker", kind, "inspect", name, "--format", "ok") == "ok", (kind, name)
        assert "token-4f1c9a77" not in made.output, "a secret file's content is never shown"
        # The published port answers on every node, through HAProxy (the port is HAProxy's, not the ingress mesh's).
        assert "8091->80/tcp" not in on(lab, "base2", "docker", "service", "inspect", "shop_front", "--format",
                                        "{{json .Endpoint.Ports}}")
        for address in swarm_addresses(result):
            assert wait_until(lambda: _answers(address), 30), f"no answer on {address}:8091"

        again = swarmctl("deploy", "--stack", "shop", "--compose-file", str(compose), "-i", result["inventory"], "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

        v2 = _inventory_with_stack(result, compose, "v2")
        predicted = swarmctl("deploy", "-i", v2, "--check", "--json")
        assert predicted.rc == 0 and predicted.summary()["changed"] >= 1, predicted.why()
        assert stack_services(lab)["shop_front"][1] == "westos.org/web:v1", "check mode changed nothing"

        back_tasks = task_ids(lab, "shop_back")
        rolled = swarmctl("deploy", "-i", v2, "--json")
        assert rolled.rc == 0, rolled.why()
        assert stack_services(lab)["shop_front"][1] == "westos.org/web:v2"
        # Converged once the new tasks ran through the monitor window; the old ones are on their way out.
        assert wait_until(lambda: stack_services(lab)["shop_front"][0] == "2/2", 30), stack_services(lab)
        assert task_ids(lab, "shop_back") == back_tasks, "the service whose spec did not change was not restarted"
        (result_event,) = [e for e in rolled.json_lines() if e.get("event") == "host_result"
                           and e["task"].startswith("Deploy each compose file")]
        assert result_event["status"] == "changed"

        broken = swarmctl("deploy", "-i", _inventory_with_stack(result, compose, "broken"), "--json")
        assert broken.rc == 3, broken.why()
        assert "shop_front rolled back" in broken.output, broken.why()
        spec = json.loads(on(lab, "base2", "docker", "service", "inspect", "shop_front", "--format", "{{json .Spec}}"))
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"].startswith("westos.org/web:v2")

        compose.write_text(COMPOSE % {"back": ""})
        pruned = swarmctl("deploy", "-i", v2, "--json")
        assert pruned.rc == 0, pruned.why()
        assert set(stack_services(lab)) == {"shop_front"}
    finally:
        on(lab, "base2", "docker", "stack", "rm", "shop", check=False)
        # HAProxy back to the inventory's services alone (the stack's port taken out of its configuration).
        restored = swarmctl("deploy", "-i", result["inventory"], "--json")
        assert restored.rc == 0, restored.why()
    # HAProxy's configurations with the stack's port went once it no longer used them: one is left, its own.
    configs = on(lab, "base2", "docker", "config", "ls", "--filter", "label=io.swarmctl.edge_lb",
                 "--format", "{{.Name}}").split()
    used = on(lab, "base2", "docker", "service", "inspect", "edge-lb", "--format",
              "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}{{end}}")
    assert configs == [used], configs

"""Swarm secrets from the inventory on the seed's lab: a service reads one, its value changes, the service rolls
to the new version while every request is answered, the old version goes, and no value is ever shown."""

from __future__ import annotations

import json
import secrets as random
import time
from pathlib import Path

import pytest
import yaml

from helpers import LoadLoop, on, runs_of, swarmctl
from test_reconciler import wait_until

pytestmark = pytest.mark.lab


def _inventory(result, value: str | None, absent: bool = False, named: bool = True) -> str:
    """A copy of the lab's inventory where web reads the secret `greeting` (value None: as the lab has it);
    absent: the inventory says greeting is absent (and web names it still, if named)."""
    data = yaml.safe_load(Path(result["inventory"]).read_text())
    web = next(s for s in data["all"]["vars"]["swarmctl_services"] if s["name"] == "web")
    if value is not None:
        data["all"]["vars"]["swarmctl_secrets"] = [{"name": "greeting", "value": value}]
    if absent:
        data["all"]["vars"]["swarmctl_secrets"] = [{"name": "greeting", "state": "absent"}]
    if value is not None or (absent and named):
        web["secrets"] = [{"name": "greeting", "mode": "0400"}]
    path = Path(result["inventory"]).with_name("inventory-secrets.yml")
    path.write_text(yaml.safe_dump(data))
    return str(path)


def versions(lab) -> list[str]:
    return on(lab, "base2", "docker", "secret", "ls", "--filter", "label=io.swarmctl.family=greeting",
              "--format", "{{.Name}}").split()


def read_by_tasks(lab, hosts) -> set[str]:
    """What every running web task reads at /run/secrets/greeting."""
    seen = set()
    for host in hosts:
        ids = on(lab, host, "docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=web").split()
        for cid in ids:
            seen.add(on(lab, host, "docker", "exec", cid, "cat", "/run/secrets/greeting"))
    return seen


def kept_by_runs(lab_dir: Path, since: float) -> str:
    """Everything ansible-runner kept of the lab's runs since then: output, events, settings."""
    text = []
    for run in runs_of(lab_dir, since):
        text += [f.read_text(errors="replace") for f in run.rglob("*") if f.is_file()]
    return "\n".join(text)


def test_a_changed_secret_rolls_the_service_without_a_failed_request_and_the_old_one_goes(converged):
    lab, result, _ = converged
    swarm_hosts = [h["name"] for h in result["hosts"] if h["group"] in ("managers", "workers")]
    addresses = [h["address"] for h in result["hosts"] if h["group"] in ("managers", "workers")]
    first, second, third = (f"greeting-{random.token_hex(8)}" for _ in range(3))
    # Earlier tests move tasks; the reconciler's rebalance of web may still run. (A deploy during one goes on
    # top of it - swarmctl_service retries an update another writer beat - but the request count starts clean.)
    assert wait_until(lambda: on(lab, "base2", "docker", "service", "inspect", "web", "--format",
                                 "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}")
                      not in ("updating", "rollback_started"), 180)
    started = time.time() - 1  # the runs made from here on
    try:
        made = swarmctl("deploy", "-i", _inventory(result, first), "--json")
        assert made.rc == 0, made.why()
        (one,) = versions(lab)
        assert read_by_tasks(lab, swarm_hosts) == {first}

        with LoadLoop(addresses) as load:
            rolled = swarmctl("deploy", "-i", _inventory(result, second), "--json")
        assert rolled.rc == 0, rolled.why()
        assert load.failures == [] and len(load.answers) > 20, load.failures[:5]
        assert read_by_tasks(lab, swarm_hosts) == {second}
        (two,) = versions(lab)
        assert two != one, "a new value is a new version, and the old one is gone"
        assert json.loads(on(lab, "base2", "docker", "service", "inspect", "web", "--format",
                             "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}"))[0]["SecretName"] == two

        again = swarmctl("deploy", "-i", _inventory(result, second), "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again.why()
        predicted = swarmctl("deploy", "-i", _inventory(result, third), "--check", "--diff", "--json")
        assert predicted.rc == 0 and predicted.summary()["changed"] >= 1, predicted.why()
        assert versions(lab) == [two] and read_by_tasks(lab, swarm_hosts) == {second}, "check mode changed nothing"

        for run in (made, rolled, again, predicted):
            assert all(v not in run.output for v in (first, second, third)), "no value on screen"
        kept = kept_by_runs(Path(result["inventory"]).parent, started)
        assert all(v not in kept for v in (first, second, third)), "no value in what ansible-runner kept"

        # Said absent while web still names it: refused before any host is asked.
        refused = swarmctl("deploy", "-i", _inventory(result, None, absent=True, named=True))
        assert refused.rc == 2 and "service 'web' names secret 'greeting', which swarmctl_secrets says is absent" \
            in refused.output, refused
        assert versions(lab) == [two]
    finally:
        # Absent, and no longer read by web: web rolls off it, then every version goes.
        back = swarmctl("deploy", "-i", _inventory(result, None, absent=True, named=False), "--json")
        left = versions(lab)
        for name in left:
            on(lab, "base2", "docker", "secret", "rm", name, check=False)
    assert back.rc == 0, back.why()
    assert left == [], "state: absent took every version out"
    again = swarmctl("deploy", "-i", _inventory(result, None, absent=True, named=False), "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again.why()

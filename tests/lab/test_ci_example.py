"""The CI pipeline examples (examples/ci): their deploy job, run as both pipelines run it, against the seed's lab.
The application's secret comes only through the environment; the job's exit code and JSON summaries say how the
deploy went: deployed (0), rolled back (3), refused before anything was touched (2)."""

from __future__ import annotations

import json
import os
import secrets as random
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import BIN, ROOT, on

pytestmark = pytest.mark.lab

EXAMPLE = ROOT / "examples" / "ci"


def pipeline_inventory(lab_inventory: Path) -> Path:
    """The lab's inventory with the example's group variables added, as a pipeline's inventory would hold them
    (the application `shop` reading the secret app_db_password), next to the lab's so its credentials are used."""
    data = yaml.safe_load(lab_inventory.read_text())
    example = yaml.safe_load((EXAMPLE / "inventory-vars.yml").read_text())
    lab_vars = data["all"]["vars"]
    (shop,) = example["swarmctl_services"]
    web = next(s for s in lab_vars["swarmctl_services"] if s["name"] == "web")
    shop.update(healthcheck=web["healthcheck"], stop_grace_period="2s")  # the demo image's, for a quick verdict
    lab_vars["swarmctl_secrets"] = example["swarmctl_secrets"]
    lab_vars["swarmctl_services"] = lab_vars["swarmctl_services"] + [shop]
    path = lab_inventory.with_name("inventory-ci.yml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def deploy_job(workdir: Path, inventory: Path, image: str, password: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "SWARMCTL_INVENTORY": str(inventory),
           "APP_IMAGE": image, "APP_DB_PASSWORD": password}
    return subprocess.run(["bash", str(EXAMPLE / "deploy.sh")], cwd=workdir, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=1200)


def kept_summary(workdir: Path, name: str) -> dict:
    return json.loads((workdir / f"{name}.jsonl.summary").read_text())


def shop_tasks(lab) -> list[str]:
    return on(lab, "base2", "docker", "service", "ps", "shop", "--filter", "desired-state=running", "--format",
              "{{.Image}} {{.CurrentState}}").splitlines()


def test_both_pipelines_run_the_deploy_job_and_hand_it_secrets_through_the_environment_only():
    gitlab = yaml.safe_load((EXAMPLE / "gitlab-ci.yml").read_text())
    github = yaml.safe_load((EXAMPLE / "github-actions.yml").read_text())
    steps = github["jobs"]["deploy"]["steps"]
    assert "bash examples/ci/deploy.sh" in [line.split("#")[0].strip() for line in gitlab["deploy"]["script"]]
    assert "bash examples/ci/deploy.sh" in [(step.get("run") or "").strip() for step in steps]
    for text in ((EXAMPLE / "gitlab-ci.yml").read_text(), (EXAMPLE / "github-actions.yml").read_text()):
        commands = [line for line in text.splitlines() if "swarmctl" in line and ("-e " in line or "--extra" in line)]
        assert commands == [], "no secret (nor anything else) on a swarmctl command line"
    assert github["jobs"]["deploy"]["env"]["APP_DB_PASSWORD"] == "${{ secrets.APP_DB_PASSWORD }}"


def test_the_pipelines_deploy_job_deploys_gates_and_keeps_the_secret_out_of_sight(converged, tmp_path):
    lab, result, _ = converged
    registry = on(lab, "base2", "docker", "service", "inspect", "web", "--format",
                  "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("/")[0]
    inventory = pipeline_inventory(Path(result["inventory"]))
    password = "ci-" + random.token_hex(12)
    try:
        deployed = deploy_job(tmp_path, inventory, f"{registry}/web:v2", password)
        assert deployed.returncode == 0, (deployed.stdout[-3000:], deployed.stderr[-3000:])
        assert kept_summary(tmp_path, "swarmctl-up")["status"] == "successful"
        assert kept_summary(tmp_path, "swarmctl-up")["changed"] >= 2  # the secret's version, the service
        assert f"deployed {registry}/web:v2" in deployed.stderr
        tasks = shop_tasks(lab)
        assert len(tasks) == 2 and all(t.startswith(f"{registry}/web:v2 Running") for t in tasks), tasks
        # Every task reads the value the secret store handed over...
        for host in ("base2", "base3", "base4"):
            for cid in on(lab, host, "docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=shop").split():
                assert on(lab, host, "docker", "exec", cid, "cat", "/run/secrets/app_db_password") == password
        # ...and it is nowhere on screen, in the kept summaries or in anything ansible-runner kept of the runs.
        assert password not in deployed.stdout + deployed.stderr
        assert not [p for p in tmp_path.rglob("*") if p.is_file() and password in p.read_text(errors="replace")]
        runs = Path(os.environ["SWARMCTL_HOME"]) / "runs"
        leaked = subprocess.run(["grep", "-rl", password, str(runs)], stdout=subprocess.PIPE, text=True).stdout
        assert leaked == "", leaked

        # A broken image: the rollout fails, is rolled back, and the job fails with swarmctl's exit code 3.
        broken = deploy_job(tmp_path, inventory, f"{registry}/web:broken", password)
        assert broken.returncode == 3, (broken.stdout[-3000:], broken.stderr[-3000:])
        assert "rolled back" in broken.stderr and "not deployed" in broken.stderr
        assert kept_summary(tmp_path, "swarmctl-up")["status"] == "failed"
        assert all(t.startswith(f"{registry}/web:v2 Running") for t in shop_tasks(lab)), shop_tasks(lab)

        # No secret in the environment: refused before any host is touched (exit 2), the service as it was.
        before = on(lab, "base2", "docker", "service", "inspect", "shop", "--format", "{{.Version.Index}}")
        unset = deploy_job(tmp_path, inventory, f"{registry}/web:v1", "")
        assert unset.returncode == 2, (unset.stdout[-3000:], unset.stderr[-3000:])
        assert "value is empty" in unset.stderr and "nothing was touched" in unset.stderr
        assert on(lab, "base2", "docker", "service", "inspect", "shop", "--format", "{{.Version.Index}}") == before
    finally:
        on(lab, "base2", "docker", "service", "rm", "shop", check=False)
        on(lab, "base2", "sh", "-c", "sleep 3; docker secret ls -q --filter name=app_db_password | "
                                     "xargs -r docker secret rm", check=False)
        inventory.unlink(missing_ok=True)

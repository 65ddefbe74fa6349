"""Hosts swarmctl did not make, and runs that are cut short, on a lab of their own.

base3 already runs Docker before swarmctl ever sees it: Docker's own packages (docker-ce, containerd.io) rather
than Debian's, a hand-written daemon.json (data-root moved, its own log driver, an address pool, a download
setting) and a container of its own with data in a volume. The first `swarmctl up`s are interrupted at several
points; one more run must finish the job, and base3 must keep all of its own, its engine's packages included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, Result, lab_leftovers, owned_lab, swarmctl
from swarmctl.lab.lab import Lab, container_name
from swarmctl.lab.topology import LabSpec

pytestmark = pytest.mark.lab
OWN_LAB = LabSpec(name="pytest-own", managers=1, workers=1, subnet="172.25.94.0/24")
HAND_WRITTEN = {
    "data-root": "/var/lib/docker/moved",  # inside the host's docker volume: overlay2 cannot nest in overlay
    "log-driver": "local",
    "max-concurrent-downloads": 6,
    "default-address-pools": [{"base": "10.201.0.0/16", "size": 24}],
}


# Docker's own packages, as most hosts with Docker installed by hand have them (docker-ce and containerd.io from
# download.docker.com, which this machine cannot reach): Debian's binaries repackaged under those names, with the
# relations that matter - containerd.io provides, conflicts with and replaces containerd and runc, docker-ce
# conflicts with docker.io - so that installing docker.io there would take them away.
DOCKER_CE = r"""
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
rm -rf /root/ce && mkdir /root/ce && cd /root/ce
apt-get download -q docker.io containerd runc >/dev/null
dpkg-deb -R containerd_*.deb cio && dpkg-deb -x runc_*.deb cio && rm -f cio/DEBIAN/md5sums
sed -i -e 's/^Package: .*/Package: containerd.io/' -e '/^\(Provides\|Conflicts\|Replaces\|Breaks\):/d' \
    -e '/^Depends:/ s/runc ([^)]*), //' -e 's/^Depends: \(.*\)$/Depends: \1, libseccomp2/' cio/DEBIAN/control
printf 'Provides: containerd, runc\nConflicts: containerd, runc\nReplaces: containerd, runc\n' >> cio/DEBIAN/control
dpkg-deb -R docker.io_*.deb ce
rm -f ce/DEBIAN/md5sums ce/DEBIAN/templates ce/DEBIAN/config ce/DEBIAN/preinst ce/DEBIAN/postinst ce/DEBIAN/prerm \
    ce/DEBIAN/postrm
sed -i -e 's/^Package: .*/Package: docker-ce/' -e '/^\(Provides\|Conflicts\|Replaces\|Breaks\):/d' \
    -e '/^Depends:/ s/containerd ([^)]*)/containerd.io/' -e '/^Depends:/ s/, runc ([^)]*)//' ce/DEBIAN/control
printf 'Conflicts: docker.io\nReplaces: docker.io\n' >> ce/DEBIAN/control
dpkg-deb -b cio containerd.io.deb >/dev/null && dpkg-deb -b ce docker-ce.deb >/dev/null
apt-get install -y -q --no-install-recommends ./containerd.io.deb ./docker-ce.deb >/dev/null
groupadd -f docker
systemctl daemon-reload && systemctl enable -q --now containerd docker.socket docker
"""


def packages(lab, host) -> dict:
    """The engine's packages installed on the host, by name: {name: True}."""
    out = on(lab, host, "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' docker-ce containerd.io docker.io "
                        "containerd runc 2>/dev/null", check=False)
    return {line.split()[0]: True for line in out.splitlines() if line.endswith(" installed")}


def on(lab, host, script: str, check=True) -> str:
    proc = subprocess.run(["docker", "exec", container_name(lab.name, host), "bash", "-c", script],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip()


def own_container(lab) -> dict:
    """The host's own container: running?, since when, and the data it wrote into its volume."""
    state = json.loads(on(lab, "base3", "docker inspect userapp --format '{{json .State}}'"))
    data = on(lab, "base3", "docker run --rm -v userdata:/data app:1 cat /data/proof")
    return {"running": state["Running"], "started": state["StartedAt"], "data": data}


@pytest.fixture(scope="module")
def own_lab(engine):
    held = owned_lab(OWN_LAB.name)
    lab = Lab(OWN_LAB.name, client=engine)
    lab.down()
    result = lab.up(OWN_LAB)
    archive = yaml.safe_load(Path(result["inventory"]).read_text())["all"]["vars"]["registry_images"][0]
    subprocess.run(["docker", "cp", archive["archive"], f"{container_name(lab.name, 'base3')}:/root/app.tar"],
                   check=True)
    on(lab, "base3", DOCKER_CE)
    assert packages(lab, "base3") == {"docker-ce": True, "containerd.io": True}
    on(lab, "base3", f"echo '{json.dumps(HAND_WRITTEN)}' > /etc/docker/daemon.json && systemctl restart docker && "
                     f"docker load -q -i /root/app.tar && docker tag {archive['source']} app:1 && "
                     "docker run -d --name userapp -v userdata:/data app:1 "
                     "sh -c 'echo kept > /data/proof; exec sleep 1000000'")
    yield lab, result, own_container(lab)
    if os.environ.get("SWARMCTL_TEST_KEEP_LABS"):  # to look at a failure; the next session removes it first
        return
    lab.down()
    held.close()
    assert lab_leftovers(engine, OWN_LAB.name) == {"containers": [], "volumes": [], "networks": []}


def up_interrupted(inventory: str, task: str, delay: float) -> Result:
    """`swarmctl up --json`, sent SIGINT `delay` seconds after the task named `task...` starts."""
    proc = subprocess.Popen([sys.executable, "-m", "swarmctl", "up", "-i", inventory, "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, sent = [], False
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if not sent and event.get("event") == "task_start" and event["task"].startswith(task):
            subprocess.run(["sleep", str(delay)])
            proc.send_signal(signal.SIGINT)
            sent = True
    proc.wait(300)
    result = Result(subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), proc.stderr.read()))
    assert sent, f"the run never reached {task!r}: {result}"
    return result


def test_an_interrupted_run_exits_130_and_one_more_run_finishes_the_job(own_lab):
    lab, result, _ = own_lab
    inventory = result["inventory"]
    # Mid package install (left running on the hosts), mid push, mid join, mid rollout.
    for task, delay in (("Keep the Docker engine installed", 6), ("Push the images from", 1),
                        ("Join workers", 0.2), ("Keep each service at its spec", 2)):
        run = up_interrupted(inventory, task, delay)
        assert run.rc == 130, (task, run)
        summary = run.summary()
        assert summary["status"] == "interrupted", (task, summary)
        assert "Traceback" not in run.output
    done = swarmctl("up", "-i", inventory, "--json")
    assert done.rc == 0, done
    again = swarmctl("up", "-i", inventory, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again
    nodes = on(lab, "base2", "docker node ls --format '{{.Hostname}} {{.Status}}'").splitlines()
    assert sorted(nodes) == ["base2 Ready", "base3 Ready"]
    assert on(lab, "base2", "docker service ls --filter name=web --format '{{.Replicas}}'") == "6/6"


def test_a_host_that_already_ran_docker_keeps_its_configuration_containers_and_data(own_lab):
    lab, result, before = own_lab
    inventory = result["inventory"]
    run = swarmctl("up", "-i", inventory)
    assert run.rc == 0, run
    # Its engine's packages are its own: Debian's docker.io was not installed over them, and the run says so.
    assert packages(lab, "base3") == {"docker-ce": True, "containerd.io": True}
    assert "base3: its engine comes from docker-ce - kept as it is" in run.stdout, run
    assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json")) == HAND_WRITTEN
    assert on(lab, "base3", "docker info --format '{{.DockerRootDir}} {{.LoggingDriver}}'") == \
        "/var/lib/docker/moved local"
    assert own_container(lab) == before, "its container never stopped and its data is there"
    # What the run says of it, when it meets the host's daemon.json (here: again, its record taken away).
    on(lab, "base3", "rm /etc/swarmctl/docker-daemon-keys.json")
    run = swarmctl("up", "-i", inventory, "--tags", "engine")
    assert run.rc == 0, run
    assert ("kept the host's own data-root, default-address-pools, log-driver, max-concurrent-downloads" in run.stdout
            and "left swarmctl's defaults for log-driver, log-opts out" in run.stdout), run
    # swarmctl upgrade leaves that engine to its owner too.
    check = swarmctl("upgrade", "-i", inventory, "--check")
    assert check.rc == 0, check
    assert "(its engine comes from docker-ce, its own: docker.io, containerd, runc left alone)" in check.stdout, check
    assert packages(lab, "base3") == {"docker-ce": True, "containerd.io": True}


def test_a_change_that_restarts_the_engine_is_refused_while_the_host_runs_its_own_containers(own_lab, tmp_path):
    lab, result, before = own_lab
    inventory = yaml.safe_load(Path(result["inventory"]).read_text())
    base3 = inventory["all"]["children"]["workers"]["hosts"]["base3"]
    base3["docker_engine_daemon_extra"] = {"log-level": "warn"}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    refused = swarmctl("up", "-i", str(path), "--tags", "engine")
    assert refused.rc == 3, refused
    assert "would stop the containers this host runs outside the swarm: userapp" in refused.stdout
    assert "Nothing was changed" in refused.stdout and "docker_engine_restart_containers: true" in refused.stdout
    assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json")) == HAND_WRITTEN
    assert own_container(lab) == before

    # Allowed for this host: drained, restarted, its container started again, its availability back.
    base3["docker_engine_restart_containers"] = True
    path.write_text(yaml.safe_dump(inventory))
    try:
        allowed = swarmctl("up", "-i", str(path), "--tags", "engine")
        assert allowed.rc == 0, allowed
        for said in ("daemon.json: added log-level", "set availability drain", "restarted docker",
                     "containers outside the swarm running again: userapp", "set availability active"):
            assert said in allowed.stdout, (said, allowed)
        after = own_container(lab)
        assert after["running"] and after["data"] == "kept" and after["started"] != before["started"]
        assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json")) == {**HAND_WRITTEN, "log-level": "warn"}
        assert on(lab, "base2", "docker node inspect base3 --format '{{.Spec.Availability}} {{.Status.State}}'") == \
            "active ready"
        assert swarmctl("up", "-i", str(path), "--tags", "engine", "--json").summary()["changed"] == 0
    finally:  # back as the lab's inventory has it: swarmctl takes the key it set out again (another restart)
        del base3["docker_engine_daemon_extra"]
        path.write_text(yaml.safe_dump(inventory))
        back = swarmctl("up", "-i", str(path), "--tags", "engine")
        assert back.rc == 0 and "removed log-level" in back.stdout, back
    assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json")) == HAND_WRITTEN


def test_moving_the_data_root_is_refused(own_lab, tmp_path):
    lab, result, _ = own_lab
    inventory = yaml.safe_load(Path(result["inventory"]).read_text())
    inventory["all"]["children"]["managers"]["hosts"]["base2"]["docker_engine_daemon_extra"] = {
        "data-root": "/var/lib/docker/elsewhere"}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    daemon_json = on(lab, "base2", "cat /etc/docker/daemon.json")
    run = swarmctl("up", "-i", str(path), "--tags", "engine")
    assert run.rc == 3, run
    assert "would move the engine's data-root from /var/lib/docker to /var/lib/docker/elsewhere" in run.stdout
    assert on(lab, "base2", "cat /etc/docker/daemon.json") == daemon_json


def test_reset_takes_the_swarm_off_and_leaves_the_hosts_own_things(own_lab):
    lab, result, _ = own_lab
    inventory = result["inventory"]
    assert swarmctl("up", "-i", inventory).rc == 0
    asked = swarmctl("reset", "-i", inventory)
    assert asked.rc == 2 and "--yes" in asked.stderr, asked
    mine = own_container(lab)
    daemon_json = on(lab, "base3", "cat /etc/docker/daemon.json")
    reset = swarmctl("reset", "--yes", "-i", inventory, "--json")
    assert reset.rc == 0, reset
    for host in ("base2", "base3"):
        assert on(lab, host, "docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"
    assert on(lab, "base2", "systemctl is-active swarmctl-reconciler", check=False) != "active"
    assert own_container(lab) == mine and on(lab, "base3", "cat /etc/docker/daemon.json") == daemon_json
    assert on(lab, "foundation78", "systemctl is-active docker-registry") == "active", "the registry stays"
    again = swarmctl("reset", "--yes", "-i", inventory, "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again
    # And from scratch again.
    anew = swarmctl("up", "-i", inventory, "--json")
    assert anew.rc == 0, anew
    assert sorted(on(lab, "base2", "docker node ls --format '{{.Hostname}} {{.Status}}'").splitlines()) == \
        ["base2 Ready", "base3 Ready"]
    assert on(lab, "base2", "docker service ls --filter name=web --format '{{.Replicas}}'") == "6/6"


def test_reset_engine_and_registry_keeps_the_data_and_refuses_a_host_with_its_own_containers(own_lab):
    lab, result, _ = own_lab
    inventory = result["inventory"]
    assert swarmctl("up", "-i", inventory).rc == 0
    # A key swarmctl set in base3's daemon.json (as docker_engine_daemon_extra would have), in effect.
    on(lab, "base3", "docker stop userapp && "
                     f"echo '{json.dumps({**HAND_WRITTEN, 'log-level': 'warn'})}' > /etc/docker/daemon.json && "
                     "echo '{\"log-level\": \"warn\"}' > /etc/swarmctl/docker-daemon-keys.json && "
                     "systemctl restart docker && docker start userapp")
    # Containers of the hosts' own: on base2 removing docker.io, on base3 restarting its own engine without that
    # key would stop them. Refused before anything changes, with their names.
    on(lab, "base2", "docker run -d --name stray $(docker images -q | head -1) sleep 1000000")
    refused = swarmctl("reset", "--yes", "--engine", "--registry", "-i", inventory)
    assert refused.rc == 3 and "Nothing was changed" in refused.stdout, refused
    assert "(stray); removing the engine would stop them" in refused.stdout, refused
    assert "(userapp); its engine (docker-ce) is its own and stays" in refused.stdout, refused
    assert on(lab, "base2", "docker info --format '{{.Swarm.LocalNodeState}}'") == "active"
    assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json"))["log-level"] == "warn"
    on(lab, "base2", "docker rm -f stray")
    on(lab, "base3", "docker stop userapp")
    engine_pid = on(lab, "base3", "systemctl show -p MainPID --value docker")
    try:
        reset = swarmctl("reset", "--yes", "--engine", "--registry", "-i", inventory, "--json")
        assert reset.rc == 0, reset
        assert "ok installed" not in on(lab, "base2", "dpkg-query -W -f='${Status}' docker.io", check=False)
        # base3's engine is its own: still installed, restarted on the host's configuration alone.
        assert packages(lab, "base3") == {"docker-ce": True, "containerd.io": True}
        assert "the engine of base3 (docker-ce), now running on its host's own configuration" in reset.output, reset
        assert on(lab, "base3", "systemctl is-active docker") == "active"
        assert on(lab, "base3", "systemctl show -p MainPID --value docker") != engine_pid
        # The host's own keys stay, swarmctl's go; the container's volume is where it was.
        assert json.loads(on(lab, "base3", "cat /etc/docker/daemon.json")) == HAND_WRITTEN
        assert on(lab, "base3", "cat /var/lib/docker/moved/volumes/userdata/_data/proof") == "kept"
        assert on(lab, "foundation78", "systemctl is-active docker-registry", check=False) != "active"
        assert on(lab, "foundation78", "ls /var/lib/docker-registry/docker/registry/v2/repositories")
        # Nothing of swarmctl's left: a run with the host's container running again changes nothing, stops nothing.
        on(lab, "base3", "docker start userapp")
        running = own_container(lab)
        again = swarmctl("reset", "--yes", "--engine", "--registry", "-i", inventory, "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again
        assert own_container(lab) == running
    finally:
        anew = swarmctl("up", "-i", inventory)
        on(lab, "base3", "docker start userapp")
    assert anew.rc == 0, anew
    assert own_container(lab)["data"] == "kept"
    assert on(lab, "base2", "docker service ls --filter name=web --format '{{.Replicas}}'") == "6/6"


"""The local lab: hosts that behave like fresh servers, as systemd + sshd containers.

Everything the lab makes on the Docker engine carries the label ``io.swarmctl.lab=<name>``, and
``down`` removes exactly what carries it. Ansible reaches the hosts over SSH with a generated key
and a known_hosts file holding each host's own key, exactly as it reaches real servers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from swarmctl import paths
from swarmctl.lab import images, recipes, sshkeys
from swarmctl.lab.topology import LabHost, LabSpec, TopologyError, gateway, plan

LABEL_LAB = "io.swarmctl.lab"
LABEL_HOST = "io.swarmctl.host"
SSH_WAIT_SECONDS = 90

NO_ENGINE = """\
No Docker engine is reachable ({detail}).
The lab runs its hosts as containers on a local Docker engine. To get one on Debian/Ubuntu:
    apt-get install -y docker.io && (dockerd >/var/log/dockerd.log 2>&1 &)
or run the README's setup command (bash scripts/setup.sh), which does this when no engine runs.
If an engine runs elsewhere, point DOCKER_HOST at it."""


class LabError(RuntimeError):
    """A lab operation that could not be done; the message says why and what to do."""


def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as exc:  # any failure here means "no usable engine"
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise LabError(NO_ENGINE.format(detail=f"{where}: {exc.__class__.__name__}")) from None
    return client


def container_name(lab: str, host: str) -> str:
    return f"swarmctl-{lab}-{host}"


def network_name(lab: str) -> str:
    return f"swarmctl-{lab}"


def volume_name(lab: str, host: str) -> str:
    return f"swarmctl-{lab}-{host}-docker"


class Lab:
    def __init__(self, name: str, client=None, log=None):
        self.name = name
        self.dir = paths.lab_dir(name)
        self._client = client
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))

    # -- files ------------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    @property
    def inventory_path(self) -> Path:
        return self.dir / "inventory.yml"

    @property
    def key_path(self) -> Path:
        return self.dir / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def control_path_dir(self) -> Path:
        return self.dir / "cp"

    @property
    def spec_path(self) -> Path:
        return self.dir / "lab.json"

    def stored_spec(self) -> LabSpec | None:
        try:
            return LabSpec.from_dict(json.loads(self.spec_path.read_text()))
        except FileNotFoundError:
            return None

    # -- engine objects ----------------------------------------------------------------------
    def containers(self) -> dict:
        found = self.client.containers.list(all=True, filters={"label": f"{LABEL_LAB}={self.name}"})
        return {c.labels.get(LABEL_HOST, c.name): c for c in found}

    def _network(self):
        found = self.client.networks.list(filters={"label": f"{LABEL_LAB}={self.name}"})
        return found[0] if found else None

    # -- up -----------------------------------------------------------------------------------
    def up(self, spec: LabSpec | None = None) -> dict:
        started = time.monotonic()
        stored = self.stored_spec()
        spec = spec or stored or LabSpec(name=self.name)
        if stored and stored.subnet != spec.subnet:
            raise LabError(
                f"lab {self.name!r} already runs on {stored.subnet}; "
                f"run `swarmctl lab down --name {self.name}` before moving it to {spec.subnet}"
            )
        try:
            hosts = plan(spec)
        except TopologyError as exc:
            raise LabError(str(exc)) from None
        existing = self.containers()
        wanted = {h.name for h in hosts}
        extra = sorted(set(existing) - wanted)
        if extra:
            raise LabError(
                f"lab {self.name!r} has hosts {', '.join(extra)} that the requested topology does not; "
                "the lab only grows in place. Run `swarmctl lab down` first to shrink it."
            )

        image, built = images.ensure_image(self.client, recipes.HOST, log=self.log)
        changed = built
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        public_key = sshkeys.ensure_keypair(self.key_path, f"swarmctl-lab-{self.name}")
        network, net_changed = self._ensure_network(spec.subnet)
        changed |= net_changed

        to_wait = []
        for host in hosts:
            container = existing.get(host.name)
            if container is None:
                container = self._create_host(host, image, network, public_key)
                self.log(f"  {host.name:<14} {host.group:<9} {host.address:<15} created")
                changed = True
                to_wait.append(host)
            else:
                container.reload()
                if container.status != "running":
                    container.start()
                    self.log(f"  {host.name:<14} {host.group:<9} {host.address:<15} started")
                    changed = True
                    to_wait.append(host)
                if container.image.id != self.client.images.get(image).id:
                    self.log(
                        f"  note: {host.name} runs an older lab image; `swarmctl lab down` and "
                        "`lab up` to use the new one"
                    )
        if to_wait:
            self.log(f"waiting for sshd on {len(to_wait)} host(s)")
            self._wait_for_ssh(to_wait)
        demo_images = self._demo_images() if spec.registry else []
        changed |= self._write_known_hosts(hosts)
        changed |= self._write_inventory(spec, hosts, demo_images)
        self._write_file(self.spec_path, json.dumps(spec.to_dict(), indent=2) + "\n")
        return {
            "lab": self.name,
            "changed": changed,
            "inventory": str(self.inventory_path),
            "image": image,
            "image_built": built,
            "seconds": round(time.monotonic() - started, 2),
            "hosts": [
                {"name": h.name, "group": h.group, "address": h.address} for h in hosts
            ],
        }

    def _ensure_network(self, subnet: str):
        network = self._network()
        if network is not None:
            return network, False
        import docker.errors
        from docker.types import IPAMConfig, IPAMPool

        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway(subnet))])
        try:
            network = self.client.networks.create(
                network_name(self.name),
                driver="bridge",
                ipam=ipam,
                labels={LABEL_LAB: self.name},
                check_duplicate=True,
            )
        except docker.errors.APIError as exc:
            raise LabError(
                f"cannot create the lab network {network_name(self.name)} on {subnet}: "
                f"{exc.explanation or exc}. Choose a free subnet with --subnet."
            ) from None
        self.log(f"network {network_name(self.name)} {subnet} created")
        return network, True

    def _create_host(self, host: LabHost, image: str, network, public_key: str):
        api = self.client.api
        volume = volume_name(self.name, host.name)
        self.client.volumes.create(volume, labels={LABEL_LAB: self.name, LABEL_HOST: host.name})
        host_config = api.create_host_config(
            cap_add=["ALL"],
            cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            device_cgroup_rules=["a *:* rwm"],
            binds={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                   volume: {"bind": "/var/lib/docker", "mode": "rw"}},
            tmpfs={"/run": "", "/run/lock": ""},
            network_mode=network.name,
        )
        # `--security-opt systempaths=unconfined` is a CLI-side option: its API form is empty
        # masked/read-only path lists, which systemd and a nested dockerd need.
        host_config["MaskedPaths"] = []
        host_config["ReadonlyPaths"] = []
        networking = api.create_networking_config(
            {network.name: api.create_endpoint_config(ipv4_address=host.address)}
        )
        created = api.create_container(
            image,
            name=container_name(self.name, host.name),
            hostname=host.name,
            detach=True,
            stop_signal="SIGRTMIN+3",
            labels={LABEL_LAB: self.name, LABEL_HOST: host.name},
            host_config=host_config,
            networking_config=networking,
        )
        container = self.client.containers.get(created["Id"])
        container.put_archive(f"/home/{recipes.LAB_USER}/.ssh", _authorized_keys_tar(public_key))
        container.start()
        return container

    def _demo_images(self) -> list[dict]:
        """Build the demo web images and HAProxy, and save them in one archive for the registry role to push."""
        wanted = [(recipes.DEMO_REPOSITORY, tag, recipe) for tag, recipe in recipes.DEMO_IMAGES.items()]
        wanted.append(("haproxy", recipes.HAPROXY_TAG, recipes.HAPROXY))
        references = [(name, tag, images.ensure_image(self.client, recipe, log=self.log)[0]) for name, tag, recipe in wanted]
        digest = hashlib.sha256(" ".join(sorted(ref for _, _, ref in references)).encode()).hexdigest()[:12]
        archive = paths.state_dir() / "images" / f"lab-images-{digest}.tar"
        images.save_archive(self.client, sorted(ref for _, _, ref in references), archive)
        return [{"name": name, "tag": tag, "archive": str(archive), "source": ref} for name, tag, ref in references]

    def _wait_for_ssh(self, hosts: list[LabHost]) -> None:
        containers = self.containers()
        with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
            failures = [r for r in pool.map(lambda h: self._wait_for_host(h, containers[h.name]), hosts) if r]
        if failures:
            raise LabError("sshd did not answer: " + "; ".join(failures) + ". See `swarmctl lab status`.")

    def _wait_for_host(self, host: LabHost, container) -> str | None:
        """Wait for sshd; a host whose systemd gave up at boot (seen now and then when many hosts start at
        once: the container exits with 255 before logging anything) is started again, up to twice."""
        deadline = time.monotonic() + SSH_WAIT_SECONDS
        restarts = 0
        while time.monotonic() < deadline:
            if _ssh_answers(host.address):
                return None
            container.reload()
            if container.status == "exited":
                if restarts == 2:
                    return (f"{host.name} exited with code {container.attrs['State']['ExitCode']} three times at boot; "
                            f"systemd may lack inotify instances (now {_inotify_limit()}): "
                            "sysctl -w fs.inotify.max_user_instances=1024")
                restarts += 1
                self.log(f"  {host.name} exited at boot (code {container.attrs['State']['ExitCode']}); starting it again")
                container.start()
            time.sleep(0.2)
        return f"{host.address}:22 after {SSH_WAIT_SECONDS}s"

    def _write_known_hosts(self, hosts: list[LabHost]) -> bool:
        containers = self.containers()
        lines = []
        for host in hosts:
            result = containers[host.name].exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
            if result.exit_code != 0:
                raise LabError(f"{host.name} has no SSH host key yet: {result.output.decode().strip()}")
            keytype, key = result.output.decode().split()[:2]
            lines.append(f"{host.address} {keytype} {key}")
        return self._write_file(self.known_hosts_path, "\n".join(lines) + "\n")

    def _write_inventory(self, spec: LabSpec, hosts: list[LabHost], demo_images: list[dict]) -> bool:
        groups = {"managers": {}, "workers": {}, "registry": {}}
        for host in hosts:
            groups[host.group][host.name] = {"ansible_host": host.address}
        inventory = {
            "all": {
                "vars": {
                    "ansible_user": recipes.LAB_USER,
                    "ansible_ssh_private_key_file": str(self.key_path),
                    "ansible_ssh_common_args": (
                        f"-o UserKnownHostsFile={self.known_hosts_path} -o StrictHostKeyChecking=yes"
                    ),
                    "ansible_control_path_dir": str(self.control_path_dir),
                    "swarmctl_lab_name": self.name,
                    # The lab's own failover pace: a manager gone for 5 s is replaced.
                    "reconciler_manager_grace_seconds": 5,
                    "reconciler_resync_seconds": 3,
                    "reconciler_rebalance_interval_seconds": 5,
                    "reconciler_rolling_settle_seconds": 20,
                    **({"registry_images": demo_images, "swarmctl_services": [recipes.DEMO_SERVICE]}
                       if demo_images else {}),
                    **({} if spec.registry else {"swarmctl_registry_enabled": False}),
                },
                "children": {g: {"hosts": h or None} for g, h in groups.items()},
            }
        }
        text = (
            f"# Written by `swarmctl lab up` for lab {self.name!r} ({spec.managers} manager(s), "
            f"{spec.workers} worker(s) on {spec.subnet}).\n"
            "# Regenerated on every `lab up`; copy it before editing.\n"
            + yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False)
        )
        return self._write_file(self.inventory_path, text)

    @staticmethod
    def _write_file(path: Path, text: str) -> bool:
        try:
            if path.read_text() == text:
                return False
        except FileNotFoundError:
            pass
        path.write_text(text)
        return True

    # -- down ---------------------------------------------------------------------------------
    def down(self) -> dict:
        removed = {"containers": [], "volumes": [], "networks": []}
        _close_ssh_masters(self.control_path_dir)
        for container in self.containers().values():
            container.remove(force=True)
            removed["containers"].append(container.name)
        for volume in self.client.volumes.list(filters={"label": f"{LABEL_LAB}={self.name}"}):
            volume.remove(force=True)
            removed["volumes"].append(volume.name)
        for network in self.client.networks.list(filters={"label": f"{LABEL_LAB}={self.name}"}):
            network.remove()
            removed["networks"].append(network.name)
        if self.inventory_path.exists():
            shutil.rmtree(paths.fact_cache_dir(self.inventory_path), ignore_errors=True)
        existed = self.dir.exists()
        shutil.rmtree(self.dir, ignore_errors=True)
        changed = existed or any(removed.values())
        return {"lab": self.name, "changed": changed, "removed": removed}

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict:
        spec = self.stored_spec()
        containers = self.containers()
        planned = {h.name: h for h in plan(spec)} if spec else {}
        hosts = []
        for name in sorted(set(planned) | set(containers), key=lambda n: (planned.get(n) is None, n)):
            container = containers.get(name)
            host = planned.get(name)
            state = "missing"
            if container is not None:
                container.reload()
                state = container.status
            address = host.address if host else None
            hosts.append(
                {
                    "name": name,
                    "group": host.group if host else None,
                    "address": address,
                    "container": container.name if container else None,
                    "state": state,
                    "ssh": bool(address and state == "running" and _ssh_answers(address)),
                }
            )
        return {
            "lab": self.name,
            "exists": bool(spec or containers),
            "spec": spec.to_dict() if spec else None,
            "inventory": str(self.inventory_path) if self.inventory_path.exists() else None,
            "hosts": hosts,
        }


def _authorized_keys_tar(public_key: str) -> bytes:
    data = (public_key + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("authorized_keys")
        info.size = len(data)
        info.mode = 0o600
        info.uid = info.gid = recipes.LAB_UID
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _ssh_answers(address: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def _inotify_limit() -> str:
    try:
        return Path("/proc/sys/fs/inotify/max_user_instances").read_text().strip()
    except OSError:
        return "unknown"


def _close_ssh_masters(control_dir: Path) -> None:
    """End ControlPersist masters for the lab's hosts, so no stale connection outlives them."""
    if not control_dir.is_dir() or not shutil.which("ssh"):
        return
    for sock in control_dir.iterdir():
        if sock.is_socket():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "lab-host"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
            )

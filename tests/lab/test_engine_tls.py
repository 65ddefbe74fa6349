"""The Docker engines' own TLS endpoint (tcp/2376), opened and closed again on the shared lab."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from helpers import running_tasks_per_node, swarmctl
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab


def hosts_of(result) -> dict:
    import yaml

    data = yaml.safe_load(Path(result["inventory"]).read_text())
    return {host: hv["ansible_host"] for group in data["all"]["children"].values()
            for host, hv in (group.get("hosts") or {}).items()}


def remote_docker(tls_dir: Path, credentials: Path, address: str, *argv) -> subprocess.CompletedProcess:
    """The Docker CLI on the control machine, talking to a lab host's engine over TLS."""
    return subprocess.run(["docker", "--tlsverify", "--tlscacert", str(credentials / "ca.crt"),
                           "--tlscert", str(tls_dir / "client.crt"), "--tlskey", str(tls_dir / "client.key"),
                           "-H", f"tcp://{address}:2376", *argv],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)


def answer_without_client_certificate(ca: Path, address: str) -> str:
    """What the endpoint says to a client that trusts the CA but has no certificate of its own."""
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with socket.create_connection((address, 2376), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=address) as conn:
                conn.sendall(b"GET /version HTTP/1.0\r\n\r\n")
                return conn.recv(4096).decode(errors="replace")
    except (ssl.SSLError, ConnectionError) as exc:
        return f"refused: {exc}"


def test_engines_answer_over_tls_only_to_clients_with_a_certificate_from_the_cluster_ca(converged):
    lab, result, _ = converged
    credentials = Path(result["inventory"]).parent / "credentials"
    tls_dir = credentials / "docker-tls"
    addresses = hosts_of(result)
    try:
        run = swarmctl("up", "-i", result["inventory"], "-e", "swarmctl_docker_tls=true", "--json")
        assert run.rc == 0, run
        for key in [tls_dir / "client.key", *(tls_dir / f"{h}.key" for h in addresses)]:
            assert key.stat().st_mode & 0o777 == 0o600, key
            assert key.read_text().strip().splitlines()[1] not in run.output, "keys never appear in output"

        for host, address in addresses.items():
            info = remote_docker(tls_dir, credentials, address, "info", "--format", "{{.Name}}")
            assert info.returncode == 0 and info.stdout.strip() == host, info.stdout
        swarm = remote_docker(tls_dir, credentials, addresses["base2"], "node", "ls", "--format", "{{.Hostname}}")
        assert sorted(swarm.stdout.split()) == ["base2", "base3", "base4"], swarm.stdout
        refused = answer_without_client_certificate(credentials / "ca.crt", addresses["base2"])
        assert "refused" in refused or "bad certificate" in refused or refused == "", refused
        mode = subprocess.run(["docker", "exec", container_name(lab.name, "base3"), "stat", "-c", "%a",
                               "/etc/docker/tls/key.pem"], stdout=subprocess.PIPE, text=True).stdout.strip()
        assert mode == "600"

        again = swarmctl("up", "-i", result["inventory"], "-e", "swarmctl_docker_tls=true", "--json")
        assert again.rc == 0 and again.summary()["changed"] == 0, again
    finally:
        closed = swarmctl("up", "-i", result["inventory"], "--json")
        assert closed.rc == 0, closed
    gone = remote_docker(tls_dir, credentials, addresses["base2"], "version")
    assert gone.returncode != 0
    # Engine restarts moved tasks; the reconciler spreads them again before the next tests look.
    deadline = time.monotonic() + 150
    spread = running_tasks_per_node(lab, "web", "base2")
    while time.monotonic() < deadline and sorted(spread.values()) != [2, 2, 2]:
        time.sleep(3)
        spread = running_tasks_per_node(lab, "web", "base2")
    assert sorted(spread.values()) == [2, 2, 2], spread

"""Certificates, engines and the private TLS registry, on the lab over SSH."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from pathlib import Path

import pytest

from helpers import ansible_cmd, swarmctl

pytestmark = pytest.mark.lab
REGISTRY = "westos.org"


def creds(lab) -> Path:
    return Path(lab.dir) / "credentials"


def registry_address(result) -> str:
    return next(h["address"] for h in result["hosts"] if h["group"] == "registry")


def https_get(address, path, cafile, auth=None):
    """GET https://westos.org<path> at address, verifying the certificate for the name. Returns (status, cert)."""
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection((address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=REGISTRY) as tls:
        headers = f"GET {path} HTTP/1.0\r\nHost: {REGISTRY}\r\n"
        if auth:
            headers += "Authorization: Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() + "\r\n"
        tls.sendall((headers + "\r\n").encode())
        status = int(tls.recv(64).split()[1])
        return status, tls.getpeercert()


def test_registry_answers_401_without_and_200_with_credentials(converged):
    lab, result, _ = converged
    address = registry_address(result)
    cafile = creds(lab) / "ca.crt"
    assert https_get(address, "/v2/", cafile)[0] == 401
    password = (creds(lab) / "registry-password").read_text()
    assert https_get(address, "/v2/", cafile, auth=("swarmctl", password))[0] == 200
    assert https_get(address, "/v2/", cafile, auth=("swarmctl", "wrong"))[0] == 401
    # And the same from a node, by name, with the CA Docker trusts (curl, no --insecure)...
    curl = ansible_cmd(Path(result["inventory"]), "base3", "command",
                       f"curl -s -o /dev/null -w %{{http_code}} --cacert /etc/docker/certs.d/{REGISTRY}/ca.crt "
                       f"https://{REGISTRY}/v2/")
    assert "(stdout) 401" in curl.stdout, curl
    # ...which the node's system trust store does not hold: the cluster CA could sign for any site.
    plain = ansible_cmd(Path(result["inventory"]), "base3", "command",
                        f"curl -s -o /dev/null -w %{{http_code}} https://{REGISTRY}/v2/")
    assert "(stdout) 000" in plain.stdout, plain
    assert "swarmctl" not in ansible_cmd(Path(result["inventory"]), "base3", "command",
                                         "ls /usr/local/share/ca-certificates").stdout


def test_every_node_pulls_with_full_tls_verification(converged):
    _, result, _ = converged
    inventory = Path(result["inventory"])
    pull = ansible_cmd(inventory, "managers:workers", "command", f"docker pull {REGISTRY}/web:v1", become=True)
    assert pull.rc == 0, pull
    assert pull.stdout.count(f"{REGISTRY}/web:v1") >= 3
    info = ansible_cmd(inventory, "all", "command", "docker info --format '{% raw %}{{json .RegistryConfig.IndexConfigs}}{% endraw %}'",
                       become=True)
    assert info.rc == 0, info
    for line in info.stdout.splitlines():
        assert f'"{REGISTRY}"' not in line or '"Secure":true' in line
    assert "insecure-registries" not in ansible_cmd(inventory, "all", "command", "cat /etc/docker/daemon.json",
                                                    become=True).stdout


def test_all_demo_images_are_in_the_registry(converged):
    lab, result, _ = converged
    password = (creds(lab) / "registry-password").read_text()
    tags = ansible_cmd(Path(result["inventory"]), "base2", "command",
                       f"curl -s -u swarmctl:{password} --cacert /etc/docker/certs.d/{REGISTRY}/ca.crt "
                       f"https://{REGISTRY}/v2/web/tags/list")
    for tag in ("v1", "v2", "broken"):
        assert f'"{tag}"' in tags.stdout, tags


def test_keys_are_private_and_the_ca_key_stays_on_the_control_machine(converged):
    lab, result, _ = converged
    for name in ("ca.key", "registry.key", "registry-password"):
        assert (creds(lab) / name).stat().st_mode & 0o777 == 0o600, name
    assert creds(lab).stat().st_mode & 0o777 == 0o700
    # PKCS#8 keys of one curve share their first bytes: look for a piece of the private value itself.
    body = "".join((creds(lab) / "ca.key").read_text().splitlines()[1:-1])
    search = ansible_cmd(Path(result["inventory"]), "all", "shell",
                         f"grep -rlF '{body[50:90]}' /etc /root /home /var/lib/docker-registry /usr/local "
                         "/var/cache 2>/dev/null; true", become=True)
    assert search.rc == 0 and "/" not in "".join(l.split("|")[-1] for l in search.stdout.splitlines()), search


def test_no_secret_appears_in_output_or_artifacts(converged):
    lab, result, first = converged
    secrets = [(creds(lab) / "registry-password").read_text()]
    for key in ("ca.key", "registry.key"):
        lines = (creds(lab) / key).read_text().splitlines()
        secrets.append("".join(lines[1:-1])[50:90])
    verbose = swarmctl("up", "-i", result["inventory"], "-v", "--diff")
    assert verbose.rc == 0, verbose
    texts = [first.output, verbose.output]
    runs = Path(lab.dir).parent.parent / "runs"  # every run's ansible-runner artifacts (events, stdout)
    for path in runs.rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    for secret in secrets:
        assert secret and not any(secret in text for text in texts), "a secret leaked into output or artifacts"


def test_check_mode_on_a_converged_cluster_predicts_no_change(converged):
    _, result, _ = converged
    check = swarmctl("up", "-i", result["inventory"], "--check", "--diff", "--json")
    assert check.rc == 0, check
    assert check.summary()["changed"] == 0


def _served_serial(result, lab) -> str:
    _, cert = https_get(registry_address(result), "/v2/", creds(lab) / "ca.crt")
    return cert["serialNumber"].lower().lstrip("0")


def test_renewal_reissues_and_the_registry_serves_the_new_certificate(converged):
    lab, result, _ = converged
    before = _served_serial(result, lab)
    renew = swarmctl("up", "-i", result["inventory"], "-e", "pki_renew_before_days=400", "--diff")
    assert renew.rc == 0, renew
    assert "within the renewal window of 400 day(s)" in renew.stdout
    assert "dns_names" in renew.stdout and "not_after" in renew.stdout, "diff shows the certificate before/after"
    after = _served_serial(result, lab)
    assert after != before
    from ansible_collections.swarmctl.swarm.plugins.plugin_utils import swarmctl_pki as pki

    assert format(pki.load_cert(str(creds(lab) / "registry.crt")).serial_number, "x") == after
    again = swarmctl("up", "-i", result["inventory"], "--json")
    assert again.rc == 0 and again.summary()["changed"] == 0, again


def _bad_certificate(lab, tmp_path):
    """A certificate from the cluster CA for the wrong name."""
    from ansible_collections.swarmctl.swarm.plugins.plugin_utils import swarmctl_pki as pki

    args = dict(cert_path=str(tmp_path / "bad.crt"), key_path=str(tmp_path / "bad.key"), ca_path=str(creds(lab)),
                common_name="registry.wrong.example", dns_names=["registry.wrong.example"], ip_addresses=[],
                client_auth=False, key_type="ec", key_size=0, valid_days=30, renew_before_days=1)
    pki.ensure_certificate(args)
    return tmp_path / "bad.crt", tmp_path / "bad.key"


def test_a_certificate_for_another_name_is_refused_by_clients(converged, tmp_path):
    lab, _, _ = converged
    cert, key = _bad_certificate(lab, tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        try:
            server_ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(creds(lab) / "ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            client_ctx.wrap_socket(raw, server_hostname=REGISTRY)
    thread.join(5)
    listener.close()


def test_preflight_refuses_a_certificate_for_another_name_before_anything_runs(converged, tmp_path):
    lab, result, _ = converged
    cert, key = _bad_certificate(lab, tmp_path)
    before = _served_serial(result, lab)
    run = swarmctl("up", "-i", result["inventory"], "-e", f"swarmctl_registry_tls_cert={cert}",
                   "-e", f"swarmctl_registry_tls_key={key}", "-e", f"swarmctl_registry_tls_ca={creds(lab) / 'ca.crt'}")
    assert run.rc == 2, run  # bad input: refused before any host is contacted
    assert "covers DNS:registry.wrong.example" in run.stdout and "DNS:westos.org will refuse it" in run.stdout
    assert "Reach the host, gather its facts" not in run.stdout, "the run stops before any host is contacted"
    assert _served_serial(result, lab) == before

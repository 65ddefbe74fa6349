#!/usr/bin/python
# swarmctl: make a host a client of the private registry: trust it, find it, log in to it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_registry_client
short_description: Make a host trust the private registry, resolve its name, and log in to it
description:
  - Puts the CA certificate where the Docker engine looks for a registry's CA,
    C(/etc/docker/certs.d/<registry>/ca.crt) (named after the registry, with C(:port) when not 443), and
    optionally (O(system_trust)) into the system trust store (C(update-ca-certificates)) for curl, Python and
    other clients.
    No C(insecure-registries) is ever needed.
  - Where the registry's name does not resolve to its address (the seed's C(westos.org)), keeps an
    C(/etc/hosts) line for it.
  - With O(username) and O(password), keeps the registry's entry in the Docker client configuration
    (C(~/.docker/config.json) of the user the module runs as, mode 0600) the way C(docker login) does, so
    C(docker pull) and swarm services created on the host can use the registry. Credentials already there
    are left alone (no request is made); new or changed ones are first checked against the registry
    through the engine, with full TLS verification, and a refusal fails the task with the registry's
    reason and leaves the configuration as it was. The password is never logged or returned.
options:
  registry:
    description: The registry as image references name it, C(host) or C(host:port).
    type: str
    required: true
  ca_cert:
    description: PEM of the CA certificate that signed the registry's certificate.
    type: str
    required: true
  system_trust:
    description:
      - Also add the CA to the system trust store (curl, Python and every other TLS client on the node).
      - Off by default, and taken out again when turned off, because the cluster CA carries no name constraints; a node
        that trusts it system-wide would accept a certificate it signs for any site. The Docker engine needs only
        C(/etc/docker/certs.d/<registry>/ca.crt).
    type: bool
    default: false
  address:
    description: IP address the registry's name must resolve to. Required unless O(hosts_entry=false).
    type: str
  hosts_entry:
    description:
      - C(auto) keeps an C(/etc/hosts) line only where the name does not already resolve to O(address);
        C(true) always keeps it; C(false) leaves C(/etc/hosts) alone.
    type: str
    choices: [auto, "true", "false"]
    default: auto
  username:
    description: Registry user to log in as. Without it, the module does not log in.
    type: str
  password:
    description: That user's password.
    type: str
  config_path:
    description: Docker client configuration file (in the home of the user the module runs as).
    type: path
    default: ~/.docker/config.json
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: A second run changes nothing and makes no request.
    support: full
notes:
  - In check mode new credentials are not checked against the registry, which may not exist yet.
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Trust, resolve and log in to the registry
  swarmctl.swarm.swarmctl_registry_client:
    registry: westos.org
    ca_cert: "{{ lookup('file', swarmctl_credentials_dir ~ '/ca.crt') }}"
    address: 172.25.254.78
    username: swarmctl
    password: "{{ swarmctl_registry_password }}"
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode). Never holds a secret.
  returned: always
  type: list
  elements: str
  sample: ["wrote /etc/docker/certs.d/westos.org/ca.crt", "mapped westos.org to 172.25.78.78 in /etc/hosts", "logged in to westos.org"]
resolved:
  description: Addresses the registry's name resolved to before this run.
  returned: always
  type: list
  elements: str
verified:
  description: Whether the registry was asked to accept the credentials during this run.
  returned: always
  type: bool
"""

import base64
import json
import os
import re
import socket
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS, api_error_text, docker_client, errors
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import HostChanges, write_in_place

HOSTS = "/etc/hosts"
ENGINE_HOSTS_CACHE_SECONDS = 5
SYSTEM_CA_DIR = "/usr/local/share/ca-certificates"


def resolve(name):
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)})
    except socket.gaierror:
        return []


def hosts_with_entry(text, name, address):
    """/etc/hosts text where `name` maps to `address` only, other lines untouched."""
    lines = []
    pattern = re.compile(r"^\s*[0-9a-fA-F:.]+\s+(.*)$")
    for line in text.splitlines():
        match = pattern.match(line)
        if match and not line.lstrip().startswith("#") and name in match.group(1).split():
            continue  # a mapping of our name to an old address
        lines.append(line)
    lines.append(f"{address} {name}")
    return "\n".join(lines) + "\n"


def encode(username, password):
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def read_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix or remove it") from None


def write_config(module, path, data):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config-")
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    module.atomic_move(tmp, path)
    os.chmod(path, 0o600)


def trust(module, changes):
    p = module.params
    if "BEGIN CERTIFICATE" not in p["ca_cert"]:
        module.fail_json(msg="ca_cert must be the PEM text of the CA certificate")
    pem = p["ca_cert"].strip() + "\n"
    name = p["registry"].split(":")[0]
    certs_d = f"/etc/docker/certs.d/{p['registry']}"
    changes.directory(certs_d)
    changes.file(f"{certs_d}/ca.crt", pem)
    system_ca = f"{SYSTEM_CA_DIR}/swarmctl-{name}.crt"
    if changes.file(system_ca, pem) if p["system_trust"] else changes.absent(system_ca):
        if not module.check_mode:
            rc, out, err = module.run_command(["update-ca-certificates", "--fresh"])
            if rc != 0:
                module.fail_json(msg=f"update-ca-certificates failed: {(err or out).strip()}")


def resolve_name(module, changes):
    p = module.params
    name = p["registry"].split(":")[0]
    resolved = resolve(name)
    want_entry = p["hosts_entry"] == "true" or (p["hosts_entry"] == "auto" and p["address"] not in resolved)
    if want_entry:
        with open(HOSTS) as handle:
            current = handle.read()
        wanted = hosts_with_entry(current, name, p["address"])
        if wanted != current:
            changes.add(f"mapped {name} to {p['address']} in {HOSTS}")
            changes.before[HOSTS] = current
            changes.after[HOSTS] = wanted
            if not module.check_mode:
                write_in_place(HOSTS, wanted.encode())
    return resolved


def login_with_fresh_hosts(client, p):
    """Log the engine in; the API error if it refused. The engine (Go) re-reads /etc/hosts at most every 5 s,
    so right after the entry was written, or the engine started, its lookups of the name fail for that long."""
    deadline = time.monotonic() + 2 * ENGINE_HOSTS_CACHE_SECONDS
    while True:
        try:
            client.login(username=p["username"], password=p["password"], registry=p["registry"], reauth=True)
            return None
        except errors.APIError as exc:
            if "no such host" not in api_error_text(exc) or time.monotonic() >= deadline:
                return exc
            time.sleep(1)


def login(module, changes):
    """Keep the credentials in the client configuration; True when they were checked with the registry."""
    p = module.params
    path = p["config_path"]
    try:
        config = read_config(path)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    auths = config.setdefault("auths", {})
    wanted = encode(p["username"], p["password"])
    if (auths.get(p["registry"]) or {}).get("auth") == wanted:
        return False
    changes.add(f"logged in to {p['registry']} as {p['username']}")
    if module.check_mode:
        return False
    error = login_with_fresh_hosts(docker_client(module), p)
    if error is not None:
        module.fail_json(
            msg=f"the registry {p['registry']} refused the login of {p['username']!r}: {api_error_text(error)}. "
                "Check the registry runs, its certificate is trusted on this host "
                f"(/etc/docker/certs.d/{p['registry']}/ca.crt), and the credentials.",
            actions=changes.actions,
        )
    auths[p["registry"]] = {"auth": wanted}
    write_config(module, path, config)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            registry=dict(type="str", required=True),
            ca_cert=dict(type="str", required=True),
            system_trust=dict(type="bool", default=False),
            address=dict(type="str"),
            hosts_entry=dict(type="str", choices=["auto", "true", "false"], default="auto"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            config_path=dict(type="path", default="~/.docker/config.json"),
            **DOCKER_COMMON_ARGS,
        ),
        required_if=[("hosts_entry", "auto", ["address"]), ("hosts_entry", "true", ["address"])],
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    changes = HostChanges(module)
    trust(module, changes)
    resolved = resolve_name(module, changes)
    verified = login(module, changes) if module.params["username"] else False
    result = dict(changed=changes.changed, actions=changes.actions, resolved=resolved, verified=verified)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()

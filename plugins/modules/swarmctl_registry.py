#!/usr/bin/python
# swarmctl: the private registry, as a systemd service from the distribution's package.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_registry
short_description: Keep the Distribution registry serving TLS with htpasswd auth, as a systemd service
description:
  - Installs Debian's C(docker-registry) package (the CNCF Distribution registry; no image pull, which is
    what air-gapped sites need), and keeps its TLS certificate and key, its htpasswd file (bcrypt entries),
    its configuration and a systemd drop-in that lets it bind a privileged port as its own user.
  - Restarts the registry only when one of those changed, then waits until it answers
    C(https://<name>:<port>/v2/) with 401 (credentials wanted), verified against O(ca_cert) by name.
  - An htpasswd entry that already verifies its password at O(bcrypt_cost) is kept (bcrypt hashes are salted;
    re-hashing would change the file on every run). Passwords and the key are never logged or shown in diffs.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
options:
  state:
    description:
      - C(present) keeps the registry serving. C(absent) takes it off the host (C(swarmctl reset --registry)) - the
        service stopped and disabled, swarmctl's TLS files, htpasswd, configuration and drop-in removed, the
        C(docker-registry) package removed (not purged). The images in O(storage_dir) stay.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The registry's DNS name (its certificate's subjectAltName). Required with O(state=present).
    type: str
  port:
    description: TCP port to serve on.
    type: int
    default: 443
  tls_cert:
    description: PEM of the registry's certificate (with intermediates, if any). Required with O(state=present).
    type: str
  tls_key:
    description: PEM of its private key. Required with O(state=present).
    type: str
  ca_cert:
    description: PEM of the CA that signed O(tls_cert); used to check the registry answers with it. Required with O(state=present).
    type: str
  users:
    description: Registry users, each C({name, password}). Users not listed are removed. Required with O(state=present).
    type: list
    elements: dict
  storage_dir:
    description: Where the registry keeps its data.
    type: path
    default: /var/lib/docker-registry
  config_dir:
    description: Configuration directory.
    type: path
    default: /etc/docker/registry
  realm:
    description: Basic-auth realm.
    type: str
    default: swarmctl registry
  log_level:
    description: Registry log level.
    type: str
    default: info
  delete_enabled:
    description: Allow deleting manifests through the API (needed for garbage collection).
    type: bool
    default: true
  packages:
    description: Packages to install.
    type: list
    elements: str
    default: [docker-registry, python3-bcrypt]
  bcrypt_cost:
    description:
      - The bcrypt cost of htpasswd entries (4-31). The registry checks the password on every request it
        serves, so each step up doubles the CPU every pull, push and image lookup costs it.
      - The default is Apache C(htpasswd -B)'s own. A password swarmctl generates (32 random characters)
        is out of reach of guessing at any cost; raise it for passwords people choose.
    type: int
    default: 5
  wait_timeout:
    description: Seconds to wait for the registry to answer after a (re)start.
    type: int
    default: 60
attributes:
  idempotent:
    description: A second run changes nothing and restarts nothing.
    support: full
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Private registry for westos.org
  swarmctl.swarm.swarmctl_registry:
    name: westos.org
    tls_cert: "{{ lookup('file', swarmctl_credentials_dir ~ '/registry.crt') }}"
    tls_key: "{{ lookup('file', swarmctl_credentials_dir ~ '/registry.key') }}"
    ca_cert: "{{ lookup('file', swarmctl_credentials_dir ~ '/ca.crt') }}"
    users:
      - name: swarmctl
        password: "{{ swarmctl_registry_password }}"
  no_log: true
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["installed docker-registry python3-bcrypt", "wrote /etc/docker/registry/config.yml", "restarted docker-registry"]
url:
  description: The registry's API root.
  returned: always
  type: str
"""

import os
import socket
import ssl
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import HostChanges, apt_remove, systemctl

UNIT = "docker-registry"
DROPIN = "/etc/systemd/system/docker-registry.service.d/swarmctl.conf"
DROPIN_TEXT = """\
# Managed by swarmctl.
[Service]
# Serve on a privileged port (443) as the unprivileged docker-registry user.
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=on-failure
RestartSec=2
"""


def render_config(p):
    d = p["config_dir"]
    return f"""\
# Managed by swarmctl.
version: 0.1
log:
  level: {p["log_level"]}
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {p["storage_dir"]}
  delete:
    enabled: {str(p["delete_enabled"]).lower()}
http:
  addr: ":{p["port"]}"
  tls:
    certificate: {d}/tls/registry.crt
    key: {d}/tls/registry.key
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: {p["realm"]}
    path: {d}/htpasswd
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


def htpasswd_text(path, users, cost):
    """The htpasswd content for users, keeping every existing entry that still verifies its password at cost."""
    import bcrypt

    existing = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if ":" in line:
                    name, hashed = line.strip().split(":", 1)
                    existing[name] = hashed
    lines = []
    for user in users:
        name, password = user["name"], user["password"]
        hashed = existing.get(name)
        if not (hashed and bcrypt_cost_of(hashed) == cost and _verifies(bcrypt, hashed, password)):
            # Apache's htpasswd writes $2y$; the registry accepts it and bcrypt's $2b$ is the same algorithm.
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode().replace("$2b$", "$2y$", 1)
        lines.append(f"{name}:{hashed}\n")
    return "".join(lines)


def bcrypt_cost_of(hashed):
    """The cost field of a bcrypt hash ($2y$05$...), or None."""
    parts = hashed.split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None


def _verifies(bcrypt, hashed, password):
    try:
        return bcrypt.checkpw(password.encode(), hashed.replace("$2y$", "$2b$", 1).encode())
    except ValueError:
        return False


def answers(name, port, ca_cert, timeout=3.0):
    """None when https://name:port/v2/ answers 401 with a certificate valid for name, else the reason.

    Connects to this host but checks the certificate for the registry's name, as clients will."""
    context = ssl.create_default_context(cadata=ca_cert)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(f"GET /v2/ HTTP/1.0\r\nHost: {name}\r\n\r\n".encode())
                status_line = tls.recv(128).decode(errors="replace").split("\r\n", 1)[0]
    except (OSError, ssl.SSLError) as exc:
        return str(exc)
    return None if status_line.split()[1:2] == ["401"] else f"answered {status_line!r} instead of 401"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            name=dict(type="str"),
            port=dict(type="int", default=443),
            tls_cert=dict(type="str"),
            tls_key=dict(type="str", no_log=True),
            ca_cert=dict(type="str"),
            users=dict(type="list", elements="dict", no_log=True),
            storage_dir=dict(type="path", default="/var/lib/docker-registry"),
            config_dir=dict(type="path", default="/etc/docker/registry"),
            realm=dict(type="str", default="swarmctl registry"),
            log_level=dict(type="str", default="info"),
            delete_enabled=dict(type="bool", default=True),
            packages=dict(type="list", elements="str", default=["docker-registry", "python3-bcrypt"]),
            bcrypt_cost=dict(type="int", default=5),
            wait_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
        required_if=[("state", "present", ("name", "tls_cert", "tls_key", "ca_cert", "users"))],
    )
    p = module.params
    if p["state"] == "absent":
        absent(module)
    for user in p["users"]:
        if not user.get("name") or not user.get("password") or ":" in user["name"]:
            module.fail_json(msg="each of users needs a name (without ':') and a non-empty password")
    if not 4 <= p["bcrypt_cost"] <= 31:
        module.fail_json(msg=f"bcrypt_cost must be between 4 and 31, not {p['bcrypt_cost']}")
    changes = HostChanges(module)
    url = f"https://{p['name']}{'' if p['port'] == 443 else ':%d' % p['port']}/v2/"

    installed = changes.packages(p["packages"])
    if installed and module.check_mode:
        # Nothing to compare against before the package exists: everything below would be new.
        changes.add("configured and started docker-registry")
        module.exit_json(changed=True, actions=changes.actions, url=url)

    d = p["config_dir"]
    restart = False
    changes.directory(f"{d}/tls", mode=0o750, group="docker-registry")
    restart |= changes.file(f"{d}/tls/registry.crt", p["tls_cert"].strip() + "\n", mode=0o644, group="docker-registry")
    restart |= changes.file(f"{d}/tls/registry.key", p["tls_key"].strip() + "\n", mode=0o640, group="docker-registry",
                            secret=True)
    restart |= changes.file(f"{d}/htpasswd", htpasswd_text(f"{d}/htpasswd", p["users"], p["bcrypt_cost"]), mode=0o640,
                            group="docker-registry", secret=True)
    restart |= changes.file(f"{d}/config.yml", render_config(p), mode=0o640, group="docker-registry")
    unit_changed = changes.file(DROPIN, DROPIN_TEXT)
    changes.service(UNIT, restart=restart or unit_changed or bool(installed), daemon_reload=unit_changed)

    if changes.changed and not module.check_mode:
        deadline = time.monotonic() + p["wait_timeout"]
        while True:
            problem = answers(p["name"], p["port"], p["ca_cert"])
            if problem is None:
                break
            if time.monotonic() > deadline:
                log = module.run_command(["journalctl", "-u", UNIT, "-n", "20", "--no-pager"])[1]
                module.fail_json(msg=f"the registry does not answer {url} as expected after {p['wait_timeout']}s: "
                                     f"{problem}. Its log:\n{log[-2000:]}", actions=changes.actions)
            time.sleep(0.5)

    result = dict(changed=changes.changed, actions=changes.actions, url=url)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


def absent(module):
    """Take the registry off the host; its images stay in storage_dir. Exits."""
    p = module.params
    changes = HostChanges(module)
    rc, out, dummy = module.run_command(["dpkg-query", "-W", "-f=${Status}", UNIT])
    if rc == 0 and "install ok installed" in out:
        changes.add(f"stopped docker-registry and removed its package (not purged: the images stay in {p['storage_dir']})")
        if not module.check_mode:
            systemctl(module, "disable", "--now", UNIT, check=False)
            apt_remove(module, [UNIT])
    d = p["config_dir"]
    for path in (f"{d}/tls/registry.crt", f"{d}/tls/registry.key", f"{d}/htpasswd", f"{d}/config.yml"):
        changes.absent(path)
    if changes.absent(DROPIN) and not module.check_mode:
        systemctl(module, "daemon-reload")
    module.exit_json(changed=changes.changed, actions=changes.actions, url="")


if __name__ == "__main__":
    main()

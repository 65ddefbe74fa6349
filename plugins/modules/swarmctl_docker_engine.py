#!/usr/bin/python
# swarmctl: the Docker engine on a host, from the distribution's packages.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_docker_engine
short_description: Keep the Docker engine installed from Debian/Ubuntu packages, configured, and running
description:
  - Merges O(daemon_config) and O(daemon_defaults) into C(/etc/docker/daemon.json) (before a first install, so the
    engine's first start already uses it), installs the O(packages) that are missing with apt, and keeps the
    C(docker) unit enabled and active.
  - An engine the host runs from another package (Docker's C(docker-ce)) or from none (installed by hand) is the
    host's own; it is kept, and Debian's C(docker.io) is not installed over it. No install ever removes a
    package (apt's C(--no-remove)); one that would is refused, naming the packages.
  - The host's own keys are kept. swarmctl records the keys it set (C(/etc/swarmctl/docker-daemon-keys.json)),
    removes one it set when it is no longer wanted, and never touches a key the host's owner set, except one
    O(daemon_config) names. The run says which keys it added, changed or removed, and which it kept.
  - A change that would move the engine's C(data-root) is refused (its images, volumes and swarm state would
    stay behind), as is a C(daemon.json) that is not valid JSON; nothing is changed then.
  - A change of keys the engine reloads (C(labels), C(debug), C(registry-mirrors), ...) is applied with
    C(systemctl reload docker), which stops nothing. Any other change of a running engine's configuration needs
    a restart, which this module does not do in O(state=present); it returns C(restart_needed) so the caller
    can drain the node and restart engines one host at a time. When the host runs containers outside the swarm,
    which a restart would stop, the change is refused (nothing is changed, the containers are named) unless
    O(restart_containers) allows it.
  - O(state=restarted) restarts the engine now, waits until it answers, and starts again the containers that
    ran outside the swarm before (swarm brings its own tasks back). An engine that does not start with its new
    configuration (a key this engine version does not know, a bad value) gets the configuration it last ran with
    back (kept by O(state=present) when it wrote one that needs a restart) and is started again; the task fails
    with the engine's own reason.
  - With O(state=restarted) and O(archive_swarm_to) or O(restore_swarm_from), the engine is stopped, not only
    restarted, and while it is stopped its swarm state (C(<data-root>/swarm), the Raft log and the node's
    certificates) is archived, or replaced from an archive (the state there before is kept aside as
    C(swarm.before-restore-<time>)); then it is started again. What C(swarmctl backup) and C(swarmctl restore) use.
  - With O(state=restarted) and O(versions), the engine is stopped, the packages are brought to those versions
    (up or down) while it is stopped, and it is started again - what C(swarmctl upgrade) uses. Packages already at
    their version are left alone; when all are (or O(versions) is empty), nothing is restarted (C(changed=false)).
  - One call does what would otherwise take several tasks per host, which keeps a no-change run fast.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
options:
  packages:
    description: Debian packages that make up the engine and the Docker SDK the other modules use.
    type: list
    elements: str
    default: [docker.io, python3-docker]
  bundle:
    description:
      - Path on the host of a package bundle (made by M(swarmctl.swarm.swarmctl_package_bundle)) to install the
        missing O(packages) from, instead of the host's apt sources. As with apt, C(daemon.json) is written before,
        so the engine's first start already uses it.
      - The file is left in place (M(swarmctl.swarm.swarmctl_packages) installs the rest from it and removes it).
      - With O(state=restarted) and O(versions), the versions come from the bundle alone (C(latest) is the
        bundle's version), to upgrade hosts with no route to any mirror.
    type: path
  daemon_config:
    description: Keys C(daemon.json) must have, with these values, whatever the host had.
    type: dict
    default: {}
  daemon_defaults:
    description:
      - Keys set only where the host has no value of its own (log rotation, by default). C(<name>-opts) is set only
        together with its C(<name>-driver), so swarmctl's log options never go with a log driver the host chose.
    type: dict
    default: {}
  restart_containers:
    description:
      - Allow a configuration change that needs an engine restart on a host that runs containers outside the swarm.
        They are stopped by the restart and started again after it (O(state=restarted)), and the run names them.
    type: bool
    default: false
  state:
    description:
      - C(present) installs and configures; C(restarted) also restarts the engine now.
      - C(absent) takes the engine off the host (C(swarmctl reset --engine)) - the keys swarmctl set in
        C(daemon.json) (the host's own stay; the file goes when nothing is left in it), its TLS files and systemd
        drop-in, and the C(docker.io) package (removed, not purged) with the engine stopped. Images, volumes and
        containers stay in the engine's data-root, and C(containerd) and C(runc) stay installed (other software
        may use them). Refused, changing nothing, while the host runs containers outside the swarm.
      - With O(state=absent), an engine of the host's own (Docker's C(docker-ce), or a C(dockerd) installed by hand)
        stays installed (RV(kept_engine)); swarmctl's configuration goes as above, and the engine is restarted to
        run on the host's own (refused the same way while it runs containers outside the swarm).
    type: str
    choices: [present, restarted, absent]
    default: present
  archive_swarm_to:
    description: With O(state=restarted), write the swarm state to this gzipped tar file (0600) while the engine is stopped.
    type: path
  restore_swarm_from:
    description: With O(state=restarted), replace the swarm state with this archive's while the engine is stopped.
    type: path
  versions:
    description:
      - With O(state=restarted), package name to the version to install while the engine is stopped, or C(latest)
        (the repositories' candidate). See M(swarmctl.swarm.swarmctl_engine_versions) to learn what would change first.
    type: dict
  offered:
    description:
      - With O(versions) and O(bundle), the versions the bundle holds (package name to version), as read on the
        control machine before the bundle was copied (check mode predicts from them with no copy on the host).
        Default, the bundle's own manifest.
    type: dict
  start_timeout:
    description: Seconds to wait for the engine to answer after a restart.
    type: int
    default: 60
  tls:
    description:
      - The engine's own TCP endpoint, served with TLS and open only to clients with a certificate signed by
        O(tls.ca_cert) (C(tlsverify)). The certificates go to C(/etc/docker/tls) (the key 0600), C(daemon.json)
        gets the C(tls*) and C(hosts) keys, and a systemd drop-in takes C(-H fd://) off the unit's command
        line, because the engine refuses to start with C(hosts) in both places.
      - Omitted, the endpoint is closed again and those files removed.
    type: dict
    suboptions:
      port:
        description: TCP port of the endpoint.
        type: int
        default: 2376
      address:
        description: Address to listen on.
        type: str
        default: 0.0.0.0
      ca_cert:
        description: PEM of the CA whose certificates clients must present.
        type: str
        required: true
      cert:
        description: PEM of the engine's certificate (its host names and addresses as subjectAltNames).
        type: str
        required: true
      key:
        description: PEM of the engine certificate's private key. Never shown.
        type: str
        required: true
attributes:
  idempotent:
    description: A second run changes nothing.
    support: full
notes:
  - Debian and Ubuntu only (apt and dpkg); other systems get a clear failure.
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Docker engine with log rotation
  swarmctl.swarm.swarmctl_docker_engine:
    daemon_config:
      log-driver: json-file
      log-opts: {max-size: 10m, max-file: "3"}
  register: engine

- name: Docker engine that also answers on tcp/2376, for clients with a certificate from the cluster CA
  swarmctl.swarm.swarmctl_docker_engine:
    tls:
      ca_cert: "{{ lookup('file', 'credentials/ca.crt') }}"
      cert: "{{ lookup('file', 'credentials/docker-tls/' ~ inventory_hostname ~ '.crt') }}"
      key: "{{ lookup('file', 'credentials/docker-tls/' ~ inventory_hostname ~ '.key') }}"
  register: engine

- name: Restart engines one at a time when their configuration changed
  ansible.builtin.systemd_service:
    name: docker
    state: restarted
  throttle: 1
  when: engine.restart_needed
"""

RETURN = r"""
daemon_json:
  description: What happened to each key of C(daemon.json) - added, changed, removed, kept (the host's own),
    skipped_defaults (swarmctl's defaults left out where the host sets its own).
  returned: always
  type: dict
engine_package:
  description:
    - The package the host's dockerd comes from - C(docker.io), or another (C(docker-ce)), or C((no package)) for
      an engine installed by hand. An engine that is not C(docker.io) is the host's own - kept as it is, with
      C(docker.io) never installed over it (of O(packages), the others are installed).
  returned: success, state=present
  type: str
  sample: docker-ce
containers:
  description: Containers running outside the swarm, which an engine restart stops (names).
  returned: always
  type: list
  elements: str
upgraded:
  description: With O(versions), the packages brought to another version - package, installed (before), wanted.
  returned: with O(state=restarted)
  type: list
  elements: dict
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["wrote /etc/docker/daemon.json", "installed docker.io python3-docker", "started docker"]
restart_needed:
  description: The engine was running before and its configuration changed; restart it to apply.
  returned: always
  type: bool
kept_engine:
  description: With O(state=absent), the package of the host's own engine, kept installed (empty when the engine
    was swarmctl's C(docker.io) and went).
  returned: state=absent
  type: str
  sample: docker-ce
installed:
  description: Packages that were (or would be) installed.
  returned: always
  type: list
  elements: str
"""

import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_bundle import (
    host_platform,
    install,
    manifest_versions,
    read_manifest,
)
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_daemon_json import (
    DAEMON_JSON,
    OWNED_RECORD,
    DaemonJsonError,
    changed_keys,
    data_root_problem,
    describe,
    load,
    needs_restart,
    plan,
)
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPI, EngineAPIError
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import (
    DEBIAN_ENGINE,
    HostChanges,
    apt_install_versions,
    apt_remove,
    engine_owner,
    installed_versions,
    missing_packages,
    own_engine,
    plan_versions,
    systemctl,
)

TLS_DIR = "/etc/docker/tls"
# The configuration the running engine started with, kept while a change that needs a restart waits for it: a
# restart the new one breaks (a key this engine does not know, a bad value) puts it back and starts the engine
# again. Kept across runs until a restart succeeds, so it is always what the engine last ran with.
RUNNING_CONFIG = "/etc/swarmctl/docker-daemon-running.json"
SOCKET = "unix:///var/run/docker.sock"
# The packaged unit starts `dockerd -H fd://`; with `hosts` in daemon.json as well the engine refuses to
# start, so the endpoints move to daemon.json (fd:// kept, for socket activation) and the flag goes.
HOSTS_DROP_IN = "/etc/systemd/system/docker.service.d/swarmctl-hosts.conf"
HOSTS_DROP_IN_TEXT = """# Managed by swarmctl: the engine's endpoints are in /etc/docker/daemon.json (hosts).
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
"""


def tls_daemon_config(tls: dict) -> dict:
    """The daemon.json keys that open the TLS endpoint described by the module's tls option."""
    return {
        "hosts": ["fd://", f"tcp://{tls['address']}:{tls['port']}"],
        "tlsverify": True,
        "tlscacert": f"{TLS_DIR}/ca.pem",
        "tlscert": f"{TLS_DIR}/cert.pem",
        "tlskey": f"{TLS_DIR}/key.pem",
    }


ARGUMENT_SPEC = dict(
    packages=dict(type="list", elements="str", default=["docker.io", "python3-docker"]),
    bundle=dict(type="path"),
    versions=dict(type="dict"),
    offered=dict(type="dict"),
    daemon_config=dict(type="dict", default={}),
    daemon_defaults=dict(type="dict", default={}),
    tls=dict(type="dict", options=dict(
        port=dict(type="int", default=2376),
        address=dict(type="str", default="0.0.0.0"),
        ca_cert=dict(type="str", required=True),
        cert=dict(type="str", required=True),
        key=dict(type="str", required=True, no_log=True),
    )),
    restart_containers=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "restarted", "absent"], default="present"),
    archive_swarm_to=dict(type="path"),
    restore_swarm_from=dict(type="path"),
    start_timeout=dict(type="int", default=60),
)


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _engine(timeout=10):
    """The running engine's API, or None."""
    if not os.path.exists(SOCKET[len("unix://"):]):
        return None
    api = EngineAPI(SOCKET, timeout)
    try:
        api.ping()
    except OSError:
        return None
    return api


def outside_swarm(api):
    """Names of the running containers that are not swarm tasks: the host's own, which a restart stops."""
    if api is None:
        return []
    return sorted(c["Names"][0].lstrip("/") for c in api.containers()
                  if "com.docker.swarm.task.id" not in (c.get("Labels") or {}))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        module.fail_json(msg="this host has no apt-get/dpkg: swarmctl installs the Docker engine from Debian/Ubuntu "
                             "packages only. Install docker and python3-docker yourself, then run again.")
    if module.params["state"] == "restarted":
        restart(module)
    if module.params["state"] == "absent":
        absent(module)
    present(module)


def install_from_bundle(module, changes, packages, bundle):
    """The missing packages, installed from the package bundle at `bundle` alone; returns them."""
    missing = missing_packages(module, packages)
    if missing:
        changes.add(f"installed {' '.join(missing)} from the package bundle")
        if not module.check_mode:
            if not os.path.exists(bundle):
                module.fail_json(msg=f"{', '.join(missing)} missing, and no package bundle at {bundle} to install "
                                     "them from. Nothing was installed.", actions=changes.actions)
            install(module, missing, bundle)
    return missing


def read_daemon_json(module):
    """(the host's daemon.json, the record of the keys swarmctl set or None); a file that is not JSON fails."""
    try:
        current = load(_read(DAEMON_JSON), DAEMON_JSON)
        record = _read(OWNED_RECORD)
        return current, load(record, OWNED_RECORD) if record is not None else None
    except DaemonJsonError as exc:
        module.fail_json(msg=str(exc))


def present(module):
    p = module.params
    changes = HostChanges(module)
    owner = engine_owner(module)
    was_installed = bool(owner)
    api = _engine() if was_installed else None
    current, owned = read_daemon_json(module)

    tls = p["tls"]
    enforced = dict(p["daemon_config"])
    if tls:
        enforced.update(tls_daemon_config(tls))
    merged = plan(current, owned, enforced, p["daemon_defaults"])
    engine_root = api.info().get("DockerRootDir") if api else None
    if engine_root is None and was_installed and os.path.isdir("/var/lib/docker"):
        engine_root = current.get("data-root") or current.get("graph") or "/var/lib/docker"
    problem = data_root_problem(engine_root, merged)
    if problem:
        module.fail_json(msg=problem, daemon_json=merged)

    # What the change needs, decided before anything is written: a refusal leaves the host as it was.
    tls_files = {}
    if tls:
        tls_files = {f"{TLS_DIR}/ca.pem": tls["ca_cert"].strip() + "\n", f"{TLS_DIR}/cert.pem": tls["cert"].strip() + "\n",
                     f"{TLS_DIR}/key.pem": tls["key"].strip() + "\n"}
    tls_changing = any(_read(path) != text for path, text in tls_files.items()) or (
        not tls and any(os.path.exists(f"{TLS_DIR}/{n}") for n in ("ca.pem", "cert.pem", "key.pem")))
    unit_changing = (_read(HOSTS_DROP_IN) != HOSTS_DROP_IN_TEXT) if tls else os.path.lexists(HOSTS_DROP_IN)
    active_before = was_installed and api is not None
    restart_needed = active_before and (needs_restart(merged) or tls_changing or unit_changing)
    running = outside_swarm(api) if restart_needed else []
    if running and not p["restart_containers"]:
        module.fail_json(
            msg=f"the engine's new configuration ({describe(merged)}) takes a restart of the engine, which would stop "
                f"the containers this host runs outside the swarm: {', '.join(running)}. Nothing was changed. To "
                "restart it anyway and start them again afterwards, set docker_engine_restart_containers: true for "
                "this host; or keep the engine's configuration as it is (docker_engine_daemon_defaults, "
                "docker_engine_daemon_extra).",
            daemon_json=merged, containers=running)

    changes.directory("/etc/docker")
    if tls:
        changes.directory(TLS_DIR, mode=0o700)
        for path, text in tls_files.items():
            secret = path.endswith("key.pem")
            changes.file(path, text, mode=0o600 if secret else 0o644, secret=secret)
        changes.directory(os.path.dirname(HOSTS_DROP_IN))
        changes.file(HOSTS_DROP_IN, HOSTS_DROP_IN_TEXT)
    else:
        for name in ("ca.pem", "cert.pem", "key.pem"):
            changes.absent(f"{TLS_DIR}/{name}")
        changes.absent(HOSTS_DROP_IN)
    rewrite = merged["config"] != current or (merged["config"] and _read(DAEMON_JSON) is None)
    if rewrite or merged["owned"] != owned:
        changes.add(describe(merged))  # which keys swarmctl added, changed, removed; which of the host's it kept
    if rewrite and restart_needed and not module.check_mode and not os.path.exists(RUNNING_CONFIG):
        _keep_running_config()
    if rewrite:
        changes.file(DAEMON_JSON, json.dumps(merged["config"], indent=2, sort_keys=True) + "\n")
    if merged["owned"] != owned:
        changes.directory(os.path.dirname(OWNED_RECORD))
        changes.file(OWNED_RECORD, json.dumps(merged["owned"], indent=2, sort_keys=True) + "\n")
    # An engine of the host's own (docker-ce, a binary) is kept: docker.io is never missing there (missing_packages).
    installed = install_from_bundle(module, changes, p["packages"], p["bundle"]) if p["bundle"] else \
        changes.packages(p["packages"])
    if was_installed or not module.check_mode:
        starting = time.time()
        changes.service("docker", daemon_reload=unit_changing, explain=lambda: (
            f"the engine did not start: {_engine_journal(module, starting)}. {DAEMON_JSON} is as this run wrote it: "
            "fix the setting the engine names (docker_engine_daemon_config, docker_engine_daemon_extra, or the "
            "host's own key) and run again"))
    elif installed:
        changes.add("started docker")
    if active_before and changed_keys(merged) and not restart_needed:
        changes.add("reloaded docker (the changed keys apply without a restart)")
        if not module.check_mode:
            systemctl(module, "reload", "docker")

    result = dict(changed=changes.changed, actions=changes.actions, restart_needed=restart_needed,
                  installed=installed, daemon_json=merged, containers=running, engine_package=owner or DEBIAN_ENGINE)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


def restart(module):
    """Restart the engine now (stopped meanwhile, for a swarm archive or package versions); start again the
    containers that ran outside the swarm. Exits the module."""
    p = module.params
    api = _engine()
    upgrades = package_upgrades(module) if p["versions"] is not None else []
    if p["versions"] is not None and not upgrades:
        module.exit_json(changed=False, actions=[], containers=[], restart_needed=False, installed=[], upgraded=[])
    running = outside_swarm(api)
    if running and not p["restart_containers"]:
        module.fail_json(msg=f"restarting the engine would stop the containers this host runs outside the swarm: "
                             f"{', '.join(running)}. Nothing was changed; set docker_engine_restart_containers: true "
                             "for this host to restart it anyway (they are started again afterwards).",
                         containers=running)
    actions = [f"{u['package']} {u['installed'] or '(not installed)'} -> {u['wanted']}" for u in upgrades]
    actions.append("restarted docker")
    if p["restore_swarm_from"] and not os.path.isfile(p["restore_swarm_from"]):
        module.fail_json(msg=f"no swarm archive at {p['restore_swarm_from']}; nothing was changed")
    if module.check_mode:
        module.exit_json(changed=True, actions=actions, containers=running, restart_needed=False, installed=[],
                         upgraded=upgrades)
    # systemd refuses a unit started more than a few times a minute (StartLimitBurst): this restart is wanted.
    systemctl(module, "reset-failed", "docker", check=False)
    restarting = time.time()
    restarted = True
    if p["archive_swarm_to"] or p["restore_swarm_from"] or upgrades:
        data_root = (api.info().get("DockerRootDir") if api else None) or "/var/lib/docker"
        # The socket unit would start the engine again at the first request: stopped too, and started after.
        socket_active = systemctl(module, "is-active", "docker.socket", check=False).strip() == "active"
        systemctl(module, "stop", *(["docker.socket"] if socket_active else []), "docker")
        try:
            if upgrades and p["bundle"]:
                install(module, [f"{u['package']}={u['wanted']}" for u in upgrades], p["bundle"])
            elif upgrades:
                apt_install_versions(module, upgrades)
            else:
                actions += swarm_state(module, data_root)
        finally:
            systemctl(module, "reset-failed", "docker", check=False)
            systemctl(module, "start", *(["docker.socket"] if socket_active else []), "docker", check=False)
    else:
        restarted = module.run_command(["systemctl", "restart", "docker"])[0] == 0
    # A restart systemd says failed does not come back by itself: no need to wait the whole timeout for it.
    api = _wait_for_engine(p["start_timeout"] if restarted else 3)
    if api is None:
        _put_running_config_back(module, p["start_timeout"], actions, restarting)
    if os.path.exists(RUNNING_CONFIG):
        os.unlink(RUNNING_CONFIG)
    stopped = [name for name in running if name not in outside_swarm(api)]
    for name in stopped:
        try:
            api.start_container(name)
        except EngineAPIError as exc:
            module.fail_json(msg=f"the engine restarted, but container {name} did not start again: "
                                 f"{exc.explanation}", actions=actions)
    if running:
        actions.append(f"containers outside the swarm running again: {', '.join(running)}"
                       + (f" ({', '.join(stopped)} started by swarmctl)" if stopped else ""))
    module.exit_json(changed=True, actions=actions, containers=running, restart_needed=False, installed=[],
                     upgraded=upgrades)


def _keep_running_config() -> None:
    os.makedirs(os.path.dirname(RUNNING_CONFIG), exist_ok=True)
    fd = os.open(RUNNING_CONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"daemon_json": _read(DAEMON_JSON), "owned": _read(OWNED_RECORD)}, handle)


def _wait_for_engine(timeout: int):
    """The engine's API once it answers, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while (api := _engine()) is None:
        if time.monotonic() > deadline:
            return None
        time.sleep(1)
    return api


def _engine_journal(module, since: float | None = None) -> str:
    """Why the engine did not start, from its journal (since that time, so that an earlier failure is not taken
    for this one): its own error lines, else its last lines."""
    rc, out, dummy = module.run_command(["journalctl", "-u", "docker", "-n", "40", "--no-pager", "-o", "cat",
                                         *([f"--since=@{int(since)}"] if since else [])])
    lines = [line.strip() for line in out.splitlines() if line.strip()] if rc == 0 else []
    errors = [line for line in lines if "unable to configure" in line or "failed to start daemon" in line.lower()
              or "level=fatal" in line]
    chosen = list(dict.fromkeys(errors or lines))  # systemd retries: the same line several times
    return " | ".join(chosen[-3:]) or "(journalctl said nothing)"


def _put_running_config_back(module, timeout: int, actions: list, since: float) -> None:
    """The engine did not come back after its restart (at `since`): put back the configuration it last ran with,
    start it again, and fail saying why. Exits the module."""
    why = _engine_journal(module, since)
    saved = None
    if os.path.exists(RUNNING_CONFIG):
        with open(RUNNING_CONFIG, encoding="utf-8") as handle:
            saved = json.load(handle)
    if saved is None:
        module.fail_json(msg=f"the engine did not answer within {timeout}s of its restart: {why}. See journalctl -u "
                             "docker.", actions=actions)
    for path, text in ((DAEMON_JSON, saved.get("daemon_json")), (OWNED_RECORD, saved.get("owned"))):
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
    os.unlink(RUNNING_CONFIG)
    systemctl(module, "reset-failed", "docker", check=False)
    systemctl(module, "start", "docker", check=False)
    back = _wait_for_engine(timeout) is not None
    now = "runs again with it" if back else "still does not answer: see journalctl -u docker"
    module.fail_json(
        msg=f"the engine did not start with its new configuration: {why}. The configuration it ran with before was "
            f"put back in {DAEMON_JSON}, and the engine {now}"
            + ". Fix the setting (docker_engine_daemon_config, docker_engine_daemon_extra) and run again: hosts not "
              "restarted yet have it written, and the next run takes it out.",
        actions=actions + ["put the previous daemon.json back"] + (["started docker"] if back else []))


def absent(module):
    """Take swarmctl's engine off the host, keeping the host's own keys and every container's data. An engine of
    the host's own (docker-ce, a binary) stays installed: swarmctl's configuration goes, and a restart puts the
    engine back on the host's own. Exits."""
    changes = HostChanges(module)
    api = _engine()
    owner = engine_owner(module)
    kept = owner if own_engine(owner) else ""
    current, owned = read_daemon_json(module)
    # Without a record (a host swarmctl configured before it kept one), no key counts as swarmctl's.
    merged = plan(current, owned or {}, {}, {})
    tls_files = [f"{TLS_DIR}/{name}" for name in ("ca.pem", "cert.pem", "key.pem")]
    restart = bool(kept) and api is not None and (needs_restart(merged) or os.path.lexists(HOSTS_DROP_IN)
                                                  or any(os.path.exists(path) for path in tls_files))
    running = outside_swarm(api) if restart or not kept else []
    if running:
        what = (f"its engine ({kept}) is its own and stays, but taking swarmctl's configuration out of it takes a "
                "restart, which" if kept else "removing the engine")
        module.fail_json(msg=f"this host runs containers outside the swarm ({', '.join(running)}); {what} would stop "
                             "them. Nothing was changed: stop them yourself, or leave the engine on this host (reset "
                             "without --engine, or --limit the others).", containers=running)
    data_root = (api.info().get("DockerRootDir") if api else None) or current.get("data-root") or "/var/lib/docker"
    installed = not kept and installed_versions(module, [DEBIAN_ENGINE])[DEBIAN_ENGINE] is not None
    if installed:
        changes.add(f"stopped docker and removed {DEBIAN_ENGINE} (not purged: images, volumes and containers stay "
                    f"in {data_root})")
        if not module.check_mode:
            socket_active = systemctl(module, "is-active", "docker.socket", check=False).strip() == "active"
            systemctl(module, "stop", *(["docker.socket"] if socket_active else []), "docker")
            apt_remove(module, [DEBIAN_ENGINE])
    if merged["removed"]:
        changes.add(f"daemon.json: removed swarmctl's keys {', '.join(merged['removed'])}"
                    + (f"; kept the host's {', '.join(merged['kept'])}" if merged["kept"] else ""))
        if merged["config"]:
            changes.file(DAEMON_JSON, json.dumps(merged["config"], indent=2, sort_keys=True) + "\n")
        else:
            changes.absent(DAEMON_JSON)
    for path in (OWNED_RECORD, *tls_files):
        changes.absent(path)
    if changes.absent(HOSTS_DROP_IN) and not module.check_mode:
        systemctl(module, "daemon-reload")
    if restart:
        # Not enabled or started by swarmctl if it was not: a restart of the engine that runs, as the host has it.
        changes.add(f"restarted docker (the host's own engine, {kept}, kept: it runs on the host's configuration)")
        if not module.check_mode:
            starting = time.time()
            rc, out, err = module.run_command(["systemctl", "restart", "docker"])
            if rc != 0:
                module.fail_json(msg=f"the host's own engine ({kept}) did not start again without swarmctl's "
                                     f"configuration: {_engine_journal(module, starting)}. Fix {DAEMON_JSON} and "
                                     "start it (systemctl start docker).", actions=changes.actions)
    module.exit_json(changed=changes.changed, actions=changes.actions, containers=[], restart_needed=False,
                     installed=[], daemon_json=merged, kept_engine=kept)


def package_upgrades(module):
    """[{package, installed, wanted}] for the packages of the versions option not at their version yet: the
    versions of the host's repositories, or of the package bundle alone (offered, or the bundle's manifest)."""
    p = module.params
    wanted = {str(name): str(version) for name, version in p["versions"].items()}
    if not wanted:
        return []
    offered, bundle = p["offered"], p["bundle"]
    if bundle and offered is None:
        manifest = read_manifest(bundle)
        if manifest is None:
            module.fail_json(msg=f"no swarmctl package bundle at {bundle} to upgrade from. Nothing was changed.")
        if manifest.get("platform") != host_platform(module):
            module.fail_json(msg=f"the package bundle at {bundle} was made for {manifest.get('platform')}, this host is "
                                 f"{host_platform(module)}. Nothing was changed.")
        offered = manifest_versions(manifest)
    plan = plan_versions(module, wanted, offered=offered)
    if plan["problems"]:
        module.fail_json(msg="; ".join(plan["problems"]) + ". Nothing was changed.")
    return plan["changes"]


def swarm_state(module, data_root):
    """Archive the swarm state, or put an archive's in its place, while the engine is stopped; returns actions."""
    import tarfile

    p = module.params
    swarm = os.path.join(data_root, "swarm")
    if p["archive_swarm_to"]:
        target = p["archive_swarm_to"]
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        fd = os.open(target + ".part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.add(swarm, arcname="swarm")
        os.replace(target + ".part", target)
        return [f"archived {swarm} to {target} ({os.path.getsize(target)} bytes) while the engine was stopped"]
    with tarfile.open(p["restore_swarm_from"], "r:gz") as archive:
        members = archive.getmembers()
        if not members or any(not (m.name == "swarm" or m.name.startswith("swarm/")) or ".." in m.name.split("/")
                              or not (m.isfile() or m.isdir()) for m in members):
            module.fail_json(msg=f"{p['restore_swarm_from']} is not a swarm archive made by swarmctl backup (it "
                                 "must hold one folder, swarm/); nothing was changed")
        actions = []
        if os.path.exists(swarm):
            aside = f"{swarm}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
            os.rename(swarm, aside)
            actions.append(f"kept the swarm state that was there as {aside}")
        try:
            archive.extractall(data_root, filter="tar")
        except TypeError:  # a Python without extraction filters; the members were checked above
            archive.extractall(data_root)  # noqa: S202
    return actions + [f"restored {swarm} from {p['restore_swarm_from']} while the engine was stopped"]


if __name__ == "__main__":
    main()

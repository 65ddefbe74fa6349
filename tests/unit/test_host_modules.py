"""Pure parts of the host-side modules."""

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest
from helpers import host_module

import swarmctl_registry_client as client_mod
import swarmctl_registry as registry_mod
import swarmctl_registry_image as image_mod

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_hosts_entry_replaces_only_our_name():
    text = "127.0.0.1 localhost\n# 10.0.0.1 westos.org (comment kept)\n10.0.0.9 westos.org old\n10.0.0.2 other\n"
    out = client_mod.hosts_with_entry(text, "westos.org", "172.25.78.78")
    assert out == ("127.0.0.1 localhost\n# 10.0.0.1 westos.org (comment kept)\n10.0.0.2 other\n"
                   "172.25.78.78 westos.org\n")
    assert client_mod.hosts_with_entry(out, "westos.org", "172.25.78.78") == out


def test_docker_config_auth_is_base64_user_colon_password():
    assert client_mod.encode("swarmctl", "s3cret") == "c3dhcm1jdGw6czNjcmV0"


def test_htpasswd_keeps_entries_that_verify(tmp_path):
    pytest.importorskip("bcrypt")
    path = tmp_path / "htpasswd"
    first = registry_mod.htpasswd_text(str(path), [{"name": "swarmctl", "password": "one"}], 5)
    assert first.startswith("swarmctl:$2y$05$")
    path.write_text(first)
    assert registry_mod.htpasswd_text(str(path), [{"name": "swarmctl", "password": "one"}], 5) == first
    changed = registry_mod.htpasswd_text(str(path), [{"name": "swarmctl", "password": "two"}], 5)
    assert changed != first and changed.startswith("swarmctl:$2y$05$")


def test_htpasswd_rehashes_entries_of_another_cost(tmp_path):
    """An entry hashed at another cost is made again at the one asked for (every request pays that cost)."""
    bcrypt = pytest.importorskip("bcrypt")
    path = tmp_path / "htpasswd"
    path.write_text("swarmctl:" + bcrypt.hashpw(b"one", bcrypt.gensalt(rounds=6)).decode() + "\n")
    again = registry_mod.htpasswd_text(str(path), [{"name": "swarmctl", "password": "one"}], 5)
    assert again.startswith("swarmctl:$2y$05$")
    assert registry_mod.bcrypt_cost_of(again.split(":", 1)[1].strip()) == 5
    assert registry_mod.bcrypt_cost_of("not a hash") is None


def test_registry_config_serves_tls_with_htpasswd():
    params = dict(config_dir="/etc/docker/registry", storage_dir="/srv/reg", port=443, log_level="info",
                  delete_enabled=True, realm="r")
    text = registry_mod.render_config(params)
    assert 'addr: ":443"' in text and "certificate: /etc/docker/registry/tls/registry.crt" in text
    assert "path: /etc/docker/registry/htpasswd" in text and "rootdirectory: /srv/reg" in text


def _archive(tmp_path, entries):
    path = tmp_path / "images.tar"
    data = json.dumps(entries).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_archive_manifest_legacy_and_oci(tmp_path):
    path = _archive(tmp_path, [
        {"Config": "aaaa.json", "RepoTags": ["demo/web:v1"]},
        {"Config": "blobs/sha256/bbbb", "RepoTags": ["demo/web:v2"]},
    ])
    contents = image_mod.archive_images(path)
    assert contents == {"sha256:aaaa": ["demo/web:v1"], "sha256:bbbb": ["demo/web:v2"]}
    assert image_mod.image_id_in_archive(contents, "demo/web:v2", path) == "sha256:bbbb"
    with pytest.raises(image_mod.ImageError, match="say which"):
        image_mod.image_id_in_archive(contents, None, path)
    with pytest.raises(image_mod.ImageError, match="holds no image"):
        image_mod.image_id_in_archive(contents, "demo/web:v9", path)


def test_not_an_archive(tmp_path):
    bad = tmp_path / "x.tar"
    bad.write_text("nope")
    with pytest.raises(image_mod.ImageError, match="not a readable"):
        image_mod.archive_images(str(bad))


def test_engine_tls_endpoint_keeps_the_socket_and_requires_client_certificates():
    import swarmctl_docker_engine as engine_mod

    config = engine_mod.tls_daemon_config({"address": "0.0.0.0", "port": 2376})
    assert config["hosts"] == ["fd://", "tcp://0.0.0.0:2376"]
    assert config["tlsverify"] is True
    assert {config["tlscacert"], config["tlscert"], config["tlskey"]} == {
        "/etc/docker/tls/ca.pem", "/etc/docker/tls/cert.pem", "/etc/docker/tls/key.pem"}
    # The unit's own -H flag must go, or the engine refuses to start with hosts in daemon.json too.
    assert "-H" not in engine_mod.HOSTS_DROP_IN_TEXT.split("ExecStart=")[-1]


def test_login_waits_out_the_engines_hosts_cache_but_not_a_real_refusal(monkeypatch):
    from docker.errors import APIError

    monkeypatch.setattr(client_mod, "ENGINE_HOSTS_CACHE_SECONDS", 0.5)
    monkeypatch.setattr(client_mod.time, "sleep", lambda s: None)

    class Engine:
        def __init__(self, answers):
            self.answers, self.calls = list(answers), 0

        def login(self, **_):
            self.calls += 1
            answer = self.answers.pop(0) if self.answers else None
            if answer:
                raise APIError("login", explanation=answer)

    params = {"username": "swarmctl", "password": "pw", "registry": "westos.org"}
    lookup = 'Get "https://westos.org/v2/": dial tcp: lookup westos.org on 127.0.0.11:53: no such host'
    fresh = Engine([lookup, lookup])
    assert client_mod.login_with_fresh_hosts(fresh, params) is None and fresh.calls == 3
    refused = Engine(["unauthorized: incorrect username or password"])
    assert "unauthorized" in str(client_mod.login_with_fresh_hosts(refused, params)) and refused.calls == 1
    never = Engine([lookup] * 10**6)
    assert "no such host" in str(client_mod.login_with_fresh_hosts(never, params).explanation)


class ScriptedModule:
    """run_command answers from a script of (rc, out, err); records the commands."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.commands = []

    def run_command(self, argv, environ_update=None):
        self.commands.append(argv)
        return self.answers.pop(0) if self.answers else (0, "", "")

    def fail_json(self, msg, **_):
        raise AssertionError(msg)


def test_apt_waits_for_a_lock_held_by_another_apt_and_finishes_an_interrupted_dpkg(monkeypatch):
    """An interrupted run leaves apt running on the host; the next run waits for it instead of failing."""
    from ansible_collections.swarmctl.swarm.plugins.module_utils import swarmctl_host

    monkeypatch.setattr(swarmctl_host.time, "sleep", lambda s: None)
    locked = (100, "", "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)")
    interrupted = (100, "", "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.")
    module = ScriptedModule([locked, locked, interrupted, (0, "", ""), (0, "installed", "")])
    rc, out, _ = swarmctl_host.apt_run(module, ["install", "-y", "docker.io"])
    assert rc == 0 and out == "installed"
    assert module.commands[3] == ["dpkg", "--configure", "-a"]
    assert all("DPkg::Lock::Timeout=600" in " ".join(swarmctl_host.APT_OPTS) for _ in [0])
    failing = ScriptedModule([(100, "", "E: Unable to locate package nosuch")])
    assert swarmctl_host.apt_run(failing, ["install", "nosuch"])[0] == 100 and len(failing.commands) == 1


def test_an_install_that_would_remove_a_hosts_package_is_refused_naming_it():
    from ansible_collections.swarmctl.swarm.plugins.module_utils import swarmctl_host

    refused = (100, "The following packages will be REMOVED:\n  containerd.io docker-ce\n",
               "E: Packages need to be removed but remove is disabled.")
    simulated = (0, "Remv docker-ce [5:24.0.7-1~debian.12~bookworm]\nRemv containerd.io [1.6.25-1]\n"
                    "Inst containerd (1.6.20~ds1-1+deb12u1 Debian:12/stable [amd64])\n", "")
    module = ScriptedModule([(0, "", ""), refused, simulated])
    module.check_mode = False
    with pytest.raises(AssertionError) as failed:
        swarmctl_host.apt_install(module, ["docker.io", "python3-docker"])
    assert str(failed.value).startswith("installing docker.io python3-docker would remove docker-ce, containerd.io "
                                        "from this host, and swarmctl removes nothing of a host's own")
    installs = [c for c in module.commands if "install" in c]
    assert "--no-remove" in installs[0] and "-s" in installs[1] and "--no-remove" not in installs[1]
    assert not any("update" in c for c in module.commands[1:]), "a refusal is not retried after apt-get update"


def test_docker_io_is_never_missing_where_the_engine_is_the_hosts_own(monkeypatch, tmp_path):
    from ansible_collections.swarmctl.swarm.plugins.module_utils import swarmctl_host

    dockerd = tmp_path / "dockerd"
    dockerd.write_text("")
    monkeypatch.setattr(swarmctl_host, "DOCKERD_PATHS", (str(tmp_path / "absent"), str(dockerd)))
    # dpkg -S names its package; python3-docker is not installed.
    module = ScriptedModule([(0, f"docker-ce: {dockerd}\n", ""), (1, "", "no packages found")])
    assert swarmctl_host.missing_packages(module, ["docker.io", "python3-docker"]) == ["python3-docker"]
    assert module.commands[0] == ["dpkg-query", "-S", str(dockerd)]
    # A dockerd no package owns (installed by hand) is the host's own as well; Debian's is not.
    assert swarmctl_host.engine_owner(ScriptedModule([(1, "", "no path found")])) == swarmctl_host.NO_PACKAGE
    module = ScriptedModule([(0, f"docker.io: {dockerd}\n", ""), (1, "", ""), (1, "", "")])
    assert swarmctl_host.missing_packages(module, ["docker.io", "python3-docker"]) == ["docker.io", "python3-docker"]


def test_hosts_with_an_engine_of_their_own_are_named_from_the_engine_step():
    from swarmctl_filters import swarmctl_own_engines

    hostvars = {"base2": {"docker_engine_state": {"engine_package": "docker.io"}},
                "base3": {"docker_engine_state": {"engine_package": "docker-ce"}},
                "base4": {"docker_engine_state": {"engine_package": "(no package)"}}, "base5": {}}
    assert swarmctl_own_engines(hostvars, ["base2", "base3", "base4", "base5"]) == {
        "base3": "docker-ce", "base4": "(no package)"}


def test_a_unit_that_does_not_start_fails_with_what_its_journal_says():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import HostChanges

    module = ScriptedModule([(0, "enabled", ""), (3, "failed", ""), (0, "", ""),
                             (1, "", "Job for docker.service failed. See journalctl -xeu docker.service")])
    module.check_mode = False
    explained = "the engine did not start: unable to configure the Docker daemon with file /etc/docker/daemon.json"
    with pytest.raises(AssertionError, match=f"systemctl start docker failed: {explained}"):
        HostChanges(module).service("docker", explain=lambda: explained)
    # An earlier failure's start limit cleared first.
    assert module.commands[-2:] == [["systemctl", "reset-failed", "docker"], ["systemctl", "start", "docker"]]
    # Without an explanation, systemctl's own words; a unit that runs is left alone.
    module = ScriptedModule([(0, "enabled", ""), (3, "inactive", ""), (0, "", ""), (1, "", "Job for x.service failed.")])
    module.check_mode = False
    with pytest.raises(AssertionError, match="systemctl start x failed: Job for x.service failed."):
        HostChanges(module).service("x")
    module = ScriptedModule([(0, "enabled", ""), (0, "active", "")])
    module.check_mode = False
    changes = HostChanges(module)
    changes.service("x")
    assert changes.actions == [] and len(module.commands) == 2


class _EngineLeavingSlowly:
    """An engine whose first leave requests run out of time, like a busy host's (moby/moby#35337)."""

    def __init__(self, deadlines: int, leaves_anyway: bool = False):
        self.deadlines = deadlines
        self.leaves_anyway = leaves_anyway
        self.requests = 0
        self.state = "active"

    def leave_swarm(self, force=False):
        self.requests += 1
        if self.requests <= self.deadlines:
            if self.leaves_anyway:
                self.state = "inactive"
            raise EngineAPIError(503, "context deadline exceeded")
        self.state = "inactive"

    def info(self):
        return {"Swarm": {"LocalNodeState": self.state}}


@pytest.fixture()
def swarm_mod(monkeypatch):
    # By path: an action plugin of the same name comes first on sys.path.
    spec = importlib.util.spec_from_file_location("swarmctl_swarm_module", ROOT / "plugins/modules/swarmctl_swarm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "wait_for", lambda predicate, timeout, interval=0.5: predicate())
    return module


def test_leave_asks_again_when_the_engine_runs_out_of_time(swarm_mod):
    engine = _EngineLeavingSlowly(deadlines=2)
    swarm_mod.leave_for_sure(engine, force=True)
    assert engine.requests == 3 and engine.state == "inactive"


def test_leave_that_took_despite_the_error_is_not_asked_again(swarm_mod):
    engine = _EngineLeavingSlowly(deadlines=1, leaves_anyway=True)
    swarm_mod.leave_for_sure(engine, force=True)
    assert engine.requests == 1


def test_leave_that_never_takes_says_how_to_fix_it(swarm_mod):
    engine = _EngineLeavingSlowly(deadlines=5)
    with pytest.raises(swarm_mod.EngineAPIError, match="systemctl restart docker"):
        swarm_mod.leave_for_sure(engine, force=True)
    assert engine.requests == swarm_mod.LEAVE_ATTEMPTS


POLICY = """docker.io:
  Installed: 20.10.24+dfsg1-1+deb12u1+b6
  Candidate: 20.10.24+dfsg1-1+deb12u1+b6
  Version table:
 *** 20.10.24+dfsg1-1+deb12u1+b6 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
containerd:
  Installed: 1.6.20~ds1-1+deb12u2
  Candidate: 1.6.20~ds1-1+deb12u3
  Version table:
     1.6.20~ds1-1+deb12u3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 1.6.20~ds1-1+deb12u2 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
        100 /var/lib/dpkg/status
python3-docker:
  Installed: (none)
  Candidate: (none)
  Version table:
"""


def test_apt_policy_gives_each_package_its_candidate_and_the_versions_offered():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import parse_apt_policy
    policy = parse_apt_policy(POLICY)
    assert policy["containerd"] == {"candidate": "1.6.20~ds1-1+deb12u3",
                                    "versions": ["1.6.20~ds1-1+deb12u3", "1.6.20~ds1-1+deb12u2"]}
    assert policy["docker.io"]["versions"] == ["20.10.24+dfsg1-1+deb12u1+b6"]
    assert policy["python3-docker"] == {"candidate": None, "versions": []}


def test_version_changes_resolve_latest_and_refuse_versions_not_offered():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import parse_apt_policy, version_changes
    policy = parse_apt_policy(POLICY)
    installed = {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6", "containerd": "1.6.20~ds1-1+deb12u2"}
    changes, problems = version_changes(installed, policy, {"docker.io": "latest", "containerd": "latest"})
    assert problems == [] and changes == [
        {"package": "containerd", "installed": "1.6.20~ds1-1+deb12u2", "wanted": "1.6.20~ds1-1+deb12u3"}]
    # At the wanted version already: nothing to do.
    assert version_changes(installed, policy, {"containerd": "1.6.20~ds1-1+deb12u2"}) == ([], [])
    changes, problems = version_changes(installed, policy, {"containerd": "9.9", "python3-docker": "latest"})
    assert changes == []
    assert "containerd 9.9 is not in this host's repositories (they offer: 1.6.20~ds1-1+deb12u3, " in problems[0]
    assert "python3-docker: this host's repositories offer no version" in problems[1]


def test_a_package_bundle_offers_its_one_version_of_each_package():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import (
        BUNDLE,
        bundle_policy,
        version_changes,
    )
    offered = bundle_policy({"containerd": "1.6.20~ds1-1+deb12u3", "docker.io": "20.10.24+dfsg1-1+deb12u1+b6"})
    installed = {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6", "containerd": "1.6.20~ds1-1+deb12u1"}
    # latest is the bundle's version, up or down from what is installed
    changes, problems = version_changes(installed, offered, {"docker.io": "latest", "containerd": "latest"}, BUNDLE)
    assert problems == [] and changes == [
        {"package": "containerd", "installed": "1.6.20~ds1-1+deb12u1", "wanted": "1.6.20~ds1-1+deb12u3"}]
    changes, problems = version_changes(installed, offered, {"containerd": "1.6.20~ds1-1+deb12u2", "runc": "latest"},
                                        BUNDLE)
    assert changes == [] and problems == [
        "containerd 1.6.20~ds1-1+deb12u2 is not in the package bundle (it offers: 1.6.20~ds1-1+deb12u3)",
        "runc: the package bundle offers no version of it (make the bundle with it: swarmctl package-bundle)"]


class _EngineJoiningSlowly:
    """An engine whose manager join runs past the engine's own 20 s and completes in the background."""

    def __init__(self, leader_after: int):
        self.polls = 0
        self.leader_after = leader_after

    def join_swarm(self, request):
        raise EngineAPIError(503, "Timeout was reached before node joined. The attempt to join the swarm will "
                                  "continue in the background.")

    def info(self):
        self.polls += 1
        return {"Swarm": {"LocalNodeState": "active" if self.polls > 1 else "pending",
                          "ControlAvailable": self.polls > 1}}

    def inspect_swarm(self):
        if self.polls < self.leader_after:
            raise EngineAPIError(503, "The swarm does not have a leader.")
        return {}


class _Module:
    check_mode = False

    def __init__(self, **params):
        self.params = {"init": False, "cluster_id": "", "remote_addrs": ["10.0.0.1:2377"], "join_token": "t",
                       "listen_addr": "0.0.0.0:2377", "advertise_addr": None, "data_path_addr": None,
                       "role": "manager", "timeout": 5, **params}

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def test_a_manager_join_that_goes_on_in_the_background_is_waited_for_until_there_is_a_leader(swarm_mod, monkeypatch):
    def polling(predicate, timeout, interval=0.5):
        for _ in range(10):
            if predicate():
                return True
        return False

    monkeypatch.setattr(swarm_mod, "wait_for", polling)
    engine = _EngineJoiningSlowly(leader_after=4)
    assert swarm_mod.join_or_init(_Module(), engine) == "joined"
    assert engine.polls >= 4
    with pytest.raises(AssertionError, match="sees no leader"):
        swarm_mod.join_or_init(_Module(), _EngineJoiningSlowly(leader_after=99))


class _ManagerStarting:
    """A manager whose engine restarted a moment ago: its control socket comes up after a few asks."""

    def __init__(self, socket_after: int):
        self.asks = 0
        self.socket_after = socket_after

    def info(self):
        return {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "n1", "NodeAddr": "10.0.0.1"}}


class _Exited(Exception):
    pass


def _run_swarm_info(monkeypatch, engine, starting_wait=None, passing_error=None):
    module = host_module("swarmctl_swarm_info")
    if starting_wait is not None:
        monkeypatch.setattr(module, "PASSING_WAIT", starting_wait)
    outcome = {}

    class Scripted:
        params = {"tokens": False, "unlock_key": False, "raft": False, "export": False, "engine_missing_ok": False}

        def __init__(self, **_):
            pass

        def exit_json(self, **result):
            outcome.update(result, ok=True)
            raise _Exited

        def fail_json(self, **result):
            outcome.update(result, ok=False)
            raise _Exited

    def describe(client, tokens=False, unlock_key=False):
        client.asks += 1
        if client.asks < client.socket_after:
            raise EngineAPIError(500, passing_error or (
                'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial '
                'unix /var/run/docker/swarm/control.sock: connect: no such file or directory"'))
        return {"swarm": {"id": "s1", "nodes": []}}

    monkeypatch.setattr(module, "AnsibleModule", Scripted)
    monkeypatch.setattr(module, "engine_api", lambda *_, **__: engine)
    monkeypatch.setattr(module, "kernel_has_ipvs", lambda: False)
    monkeypatch.setattr(module, "describe_swarm", describe)
    monkeypatch.setattr(module.time, "sleep", lambda _: None)
    with pytest.raises(_Exited):
        module.main()
    return outcome


def test_swarm_info_waits_for_a_manager_whose_control_socket_is_not_up_yet(monkeypatch):
    engine = _ManagerStarting(socket_after=3)
    outcome = _run_swarm_info(monkeypatch, engine)
    assert outcome["ok"] and outcome["swarm"]["id"] == "s1" and engine.asks == 3


def test_swarm_info_waits_out_an_election(monkeypatch):
    engine = _ManagerStarting(socket_after=4)
    outcome = _run_swarm_info(monkeypatch, engine, passing_error=(
        "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are "
        "online. Make sure more than half of the managers are online."))
    assert outcome["ok"] and engine.asks == 4


def test_swarm_info_fails_at_once_on_another_error(monkeypatch):
    engine = _ManagerStarting(socket_after=4)
    outcome = _run_swarm_info(monkeypatch, engine, passing_error="rpc error: code = PermissionDenied desc = no")
    assert not outcome["ok"] and engine.asks == 1 and "PermissionDenied" in outcome["msg"]


def test_swarm_info_gives_up_on_a_control_socket_that_never_comes(monkeypatch):
    outcome = _run_swarm_info(monkeypatch, _ManagerStarting(socket_after=99), starting_wait=0)
    assert not outcome["ok"] and "could not tell its swarm state" in outcome["msg"] and "control.sock" in outcome["msg"]


def test_a_service_update_beaten_by_another_writer_goes_on_top_of_the_new_version():
    from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError

    module = host_module("swarmctl_service")

    class Api:
        def __init__(self):
            self.sent = []

        def update_service(self, service_id, version, body, auth=None):
            self.sent.append(version)
            if len(self.sent) == 1:
                raise EngineAPIError(500, "rpc error: code = Unknown desc = update out of sequence")

        def inspect_service(self, name):
            return {"ID": "s1", "Version": {"Index": 12}, "Spec": {"TaskTemplate": {"ForceUpdate": 3}}}

    class Module:
        params = {"name": "web"}

    api = Api()
    service = module.Service(Module(), api)
    current = {"ID": "s1", "Version": {"Index": 10}, "Spec": {"TaskTemplate": {"ForceUpdate": 2}}}
    service.update(current, {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "reg/web:v2"}}})
    assert api.sent == [10, 12]

import base64
import json

import pytest
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPI, engine_api, registry_auth, registry_of
from helpers import host_module


def _config(tmp_path, auths):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return str(path)


def _decoded(header):
    return json.loads(base64.urlsafe_b64decode(header))


@pytest.mark.parametrize("image, registry", [
    ("westos.org/web:v2", "westos.org"),
    ("registry.local:5000/team/app", "registry.local:5000"),
    ("localhost/app", "localhost"),
    ("library/nginx", "https://index.docker.io/v1/"),
    ("nginx", "https://index.docker.io/v1/"),
])
def test_registry_of_an_image(image, registry):
    assert registry_of(image) == registry


def test_registry_auth_is_the_login_of_the_images_registry(tmp_path):
    login = base64.b64encode(b"swarmctl:s3cret:with:colons").decode()
    path = _config(tmp_path, {"other.org": {"auth": base64.b64encode(b"x:y").decode()},
                              "https://westos.org/": {"auth": login}})
    header = _decoded(registry_auth("westos.org/web:v2", path))
    assert header == {"username": "swarmctl", "password": "s3cret:with:colons", "serveraddress": "westos.org"}


def test_registry_auth_without_a_login_is_none(tmp_path):
    assert registry_auth("westos.org/web:v2", _config(tmp_path, {"other.org": {"auth": "eDp5"}})) is None
    assert registry_auth("westos.org/web:v2", str(tmp_path / "missing.json")) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert registry_auth("westos.org/web:v2", str(broken)) is None


def test_engine_api_takes_unix_and_plain_tcp_only():
    assert EngineAPI("unix:///run/docker.sock").socket_path == "/run/docker.sock"
    assert EngineAPI("tcp://10.0.0.5:2375").address == ("10.0.0.5", 2375)
    with pytest.raises(ValueError):
        EngineAPI("ssh://manager")


class _RecordingAPI:
    def __init__(self):
        self.calls = []

    def update_service(self, service_id, version, spec, auth=None, rollback=False):
        self.calls.append((service_id, version, spec, rollback))


class _Module:
    params = {"name": "edge-lb"}


def test_a_service_update_sends_only_the_parts_the_spec_sets():
    """An empty part (RollbackConfig: {}) would come back from the engine filled in with its defaults, and the
    next run would see a difference: parts left unset are left out, so the engine keeps none."""
    service_mod = host_module("swarmctl_service")

    api = _RecordingAPI()
    current = {"ID": "svc1", "Version": {"Index": 42},
               "Spec": {"TaskTemplate": {"ForceUpdate": 3, "ContainerSpec": {"Image": "westos.org/haproxy:2.6"}}}}
    desired = {"Name": "edge-lb", "Labels": {}, "Mode": {"Global": {}},
               "TaskTemplate": {"ContainerSpec": {"Image": "westos.org/haproxy:2.6"}},
               "UpdateConfig": {"Parallelism": 1}, "RollbackConfig": None, "EndpointSpec": {}}
    service_mod.Service(_Module(), api).update(current, desired)
    ((service_id, version, body, rollback),) = api.calls
    assert (service_id, version, rollback) == ("svc1", 42, False)
    assert set(body) == {"Name", "Mode", "TaskTemplate", "UpdateConfig"}
    assert body["TaskTemplate"]["ForceUpdate"] == 3, "the engine's counter is kept: no forced restart"


class _FakeModule:
    def __init__(self, docker_host):
        self.params = {"docker_host": docker_host, "timeout": 2}

    def fail_json(self, **kwargs):
        raise SystemExit(kwargs["msg"])


def test_engine_api_says_when_there_is_no_engine_or_reports_none_when_that_is_fine(tmp_path):
    missing = f"unix://{tmp_path}/docker.sock"
    assert engine_api(_FakeModule(missing), missing_ok=True) is None
    with pytest.raises(SystemExit, match="no Docker engine at .*systemctl status docker"):
        engine_api(_FakeModule(missing))
    # A socket file nobody listens on: the ping fails.
    import socket

    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    assert engine_api(_FakeModule(f"unix://{path}"), missing_ok=True) is None
    with pytest.raises(SystemExit, match="cannot reach the Docker engine"):
        engine_api(_FakeModule(f"unix://{path}"))

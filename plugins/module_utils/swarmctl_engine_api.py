# A small client for the Docker engine API over its unix socket (or plain tcp://), for modules that run on
# every job: importing the Docker SDK (requests, urllib3, ...) costs more than most of their questions do.
# It speaks the engine's own JSON (specs as the API documents them), not the SDK's keyword arguments.

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
from urllib.parse import quote, urlencode, urlsplit


class EngineAPIError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.explanation = message

    @property
    def not_found(self) -> bool:
        return self.status == 404


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class EngineAPI:
    """The engine requests swarmctl's swarm, node and service modules make. Reads keep the SDK APIClient's
    method names (and `.api` points at itself, so helpers written for `client.api.nodes()` take either);
    writes take the request bodies the engine API documents."""

    def __init__(self, base_url: str = "unix:///var/run/docker.sock", timeout: float = 60):
        if base_url.startswith("unix://"):
            self.socket_path, self.address = base_url[len("unix://"):], None
        elif base_url.startswith("tcp://"):
            parts = urlsplit(base_url)
            self.socket_path, self.address = None, (parts.hostname, parts.port or 2375)
        else:
            raise ValueError(f"EngineAPI speaks to unix:// sockets and plain tcp:// only, not {base_url}")
        self.timeout = timeout
        self.api = self

    def _connection(self) -> http.client.HTTPConnection:
        if self.address:
            return http.client.HTTPConnection(*self.address, timeout=self.timeout)
        return _UnixConnection(self.socket_path, self.timeout)

    def _request(self, method: str, path: str, params: dict | None = None, body=None, headers: dict | None = None):
        if params:
            path += "?" + urlencode(params)
        all_headers = {"Host": "docker", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else str(data)
            raise EngineAPIError(response.status, message)
        return data

    def ping(self) -> bool:
        conn = self._connection()
        try:
            conn.request("GET", "/_ping", headers={"Host": "docker"})
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def info(self) -> dict:
        return self._request("GET", "/info")

    def inspect_swarm(self) -> dict:
        return self._request("GET", "/swarm")

    def get_unlock_key(self) -> dict:
        return self._request("GET", "/swarm/unlockkey")

    def nodes(self, filters: dict | None = None) -> list:
        return self._request("GET", "/nodes", _filters(filters))

    def services(self, filters: dict | None = None) -> list:
        return self._request("GET", "/services", _filters(filters))

    def tasks(self, filters: dict | None = None) -> list:
        return self._request("GET", "/tasks", _filters(filters))

    def inspect_service(self, service: str) -> dict:
        return self._request("GET", f"/services/{quote(service, safe='')}")

    def inspect_distribution(self, image: str, auth: str | None = None) -> dict:
        return self._request("GET", f"/distribution/{quote(image, safe='/:@')}/json", headers=_auth(auth))

    def networks(self, names: list | None = None, filters: dict | None = None) -> list:
        return self._request("GET", "/networks", _filters(dict(filters or {}, **({"name": names} if names else {}))))

    def create_network(self, spec: dict) -> dict:
        return self._request("POST", "/networks/create", body=dict(spec, CheckDuplicate=True))

    def secrets(self) -> list:
        return self._request("GET", "/secrets")

    def configs(self) -> list:
        return self._request("GET", "/configs")

    def create_config(self, name: str, data: bytes, labels: dict | None = None) -> dict:
        return self._request("POST", "/configs/create", body={
            "Name": name, "Labels": labels or {}, "Data": base64.b64encode(data).decode()})

    def create_secret(self, name: str, data: bytes, labels: dict | None = None) -> dict:
        return self._request("POST", "/secrets/create", body={
            "Name": name, "Labels": labels or {}, "Data": base64.b64encode(data).decode()})

    def remove_config(self, config_id: str) -> None:
        self._request("DELETE", f"/configs/{quote(config_id, safe='')}")

    def remove_secret(self, secret_id: str) -> None:
        self._request("DELETE", f"/secrets/{quote(secret_id, safe='')}")

    def create_service(self, spec: dict, auth: str | None = None) -> dict:
        return self._request("POST", "/services/create", body=spec, headers=_auth(auth))

    def update_service(self, service_id: str, version: int, spec: dict, auth: str | None = None,
                       rollback: bool = False) -> dict:
        params = {"version": version}
        if rollback:
            params["rollback"] = "previous"
        return self._request("POST", f"/services/{quote(service_id, safe='')}/update", params, body=spec,
                             headers=_auth(auth))

    def remove_service(self, service_id: str) -> None:
        self._request("DELETE", f"/services/{quote(service_id, safe='')}")

    def containers(self, filters: dict | None = None, all: bool = False) -> list:  # noqa: A002 - the API's name
        params = _filters(filters) or {}
        if all:
            params["all"] = "1"
        return self._request("GET", "/containers/json", params or None)

    def start_container(self, container_id: str) -> None:
        self._request("POST", f"/containers/{quote(container_id, safe='')}/start")

    def inspect_node(self, node_id: str) -> dict:
        return self._request("GET", f"/nodes/{quote(node_id, safe='')}")

    def update_node(self, node_id: str, version: int, node_spec: dict) -> None:
        self._request("POST", f"/nodes/{quote(node_id, safe='')}/update", {"version": version}, body=node_spec)

    def remove_node(self, node_id: str, force: bool = False) -> None:
        self._request("DELETE", f"/nodes/{quote(node_id, safe='')}", {"force": _flag(force)})

    def init_swarm(self, request: dict) -> str:
        return self._request("POST", "/swarm/init", body=request)

    def join_swarm(self, request: dict) -> None:
        self._request("POST", "/swarm/join", body=request)

    def leave_swarm(self, force: bool = False) -> None:
        self._request("POST", "/swarm/leave", {"force": _flag(force)})

    def unlock_swarm(self, key: str) -> None:
        self._request("POST", "/swarm/unlock", body={"UnlockKey": key})

    def update_swarm(self, version: int, swarm_spec: dict, rotate_worker_token: bool = False,
                     rotate_manager_token: bool = False) -> None:
        self._request("POST", "/swarm/update", {"version": version, "rotateWorkerToken": _flag(rotate_worker_token),
                                                "rotateManagerToken": _flag(rotate_manager_token)}, body=swarm_spec)


def engine_api(module, missing_ok: bool = False) -> EngineAPI | None:
    """EngineAPI for an Ansible module's docker_host, checked with a ping; else the module fails saying how
    to get an engine (or, with missing_ok, None: a host where the engine is not installed yet)."""
    url = module.params["docker_host"]
    if url.startswith("unix://") and not os.path.exists(url[len("unix://"):]):
        if missing_ok:
            return None
        module.fail_json(msg=f"no Docker engine at {url}: is it installed and running? (systemctl status docker)")
    try:
        api = EngineAPI(url, module.params["timeout"])
        api.ping()
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        if missing_ok:
            return None
        module.fail_json(msg=f"cannot reach the Docker engine at {url}: {exc}. Is it running? (systemctl status docker)")
    return api


def _flag(value: bool) -> str:
    return "true" if value else "false"


def registry_of(image: str) -> str:
    """The registry an image reference names: its first part when that looks like a host, else Docker Hub."""
    first, dummy, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "https://index.docker.io/v1/"


def registry_auth(image: str, config_path: str | None = None) -> str | None:
    """The X-Registry-Auth header `docker login` credentials give for an image's registry, or None.

    Read the way the Docker CLI and SDK read them: $DOCKER_CONFIG/config.json or ~/.docker/config.json,
    `auths` keyed by the registry's name (with or without a scheme). Credential helpers are not asked."""
    path = config_path or os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"), "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            auths = (json.load(handle) or {}).get("auths") or {}
    except (OSError, ValueError):
        return None
    registry = registry_of(image)
    for key, entry in auths.items():
        if _registry_key(key) != _registry_key(registry) or not (entry or {}).get("auth"):
            continue
        try:
            username, dummy, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        header = {"username": username, "password": password, "serveraddress": registry}
        return base64.urlsafe_b64encode(json.dumps(header).encode()).decode()
    return None


def _registry_key(name: str) -> str:
    """westos.org, https://westos.org/ and https://westos.org/v1/ name the same registry."""
    if "://" in name:
        name = name.split("://", 1)[1]
    return name.split("/", 1)[0].lower()


def _auth(auth: str | None) -> dict:
    return {"X-Registry-Auth": auth} if auth else {}


def _filters(filters: dict | None) -> dict | None:
    """The engine wants {"key": ["value", ...]}; like the SDK, accept single values too."""
    if not filters:
        return None
    return {"filters": json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})}

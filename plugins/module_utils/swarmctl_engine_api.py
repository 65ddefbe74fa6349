# A small read-mostly client for the Docker engine API over its unix socket, for modules that only ask
# questions. Importing the Docker SDK (requests, urllib3, ...) costs more than the questions do, and the
# most frequent module of a no-change run is one that only asks.

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote, urlencode


class EngineAPIError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.explanation = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class EngineAPI:
    """The subset of the SDK's APIClient that swarmctl's read-only modules use, with the same method names
    (and `.api` pointing at itself, so helpers written for `client.api.nodes()` take either)."""

    def __init__(self, base_url: str = "unix:///var/run/docker.sock", timeout: float = 60):
        if not base_url.startswith("unix://"):
            raise ValueError(f"EngineAPI speaks to unix sockets only, not {base_url}")
        self.socket_path = base_url[len("unix://"):]
        self.timeout = timeout
        self.api = self

    def _request(self, method: str, path: str, params: dict | None = None):
        if params:
            path += "?" + urlencode(params)
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request(method, path, headers={"Host": "docker"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        data = json.loads(body) if body else None
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else body.decode(errors="replace")
            raise EngineAPIError(response.status, message)
        return data

    def ping(self) -> bool:
        conn = _UnixConnection(self.socket_path, self.timeout)
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


def _filters(filters: dict | None) -> dict | None:
    """The engine wants {"key": ["value", ...]}; like the SDK, accept single values too."""
    if not filters:
        return None
    return {"filters": json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})}

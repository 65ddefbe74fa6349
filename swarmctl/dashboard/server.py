"""The dashboard's web server: the page, and /api/state refreshed in the background."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from swarmctl.dashboard.collector import Collector, CollectorError

STATIC = {"/": ("index.html", "text/html"), "/index.html": ("index.html", "text/html"),
          "/app.js": ("app.js", "application/javascript"), "/style.css": ("style.css", "text/css")}


class State:
    def __init__(self, collector: Collector, interval: float):
        self.collector = collector
        self.interval = interval
        self.lock = threading.Lock()
        self.value = {"error": "not read yet"}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                value = self.collector.fetch()
            except CollectorError as exc:
                value = {"error": str(exc), "time": time.strftime("%H:%M:%S")}
            with self.lock:
                self.value = value
            self.stop.wait(self.interval)

    def get(self) -> dict:
        with self.lock:
            return self.value


def host_allowed(host_header: str | None, bind: str) -> bool:
    """Whether a request's Host header names this server. A page of another site can make a browser ask this
    server under its own DNS name (DNS rebinding) and read the cluster's state; such a request carries that
    name. Allowed: an IP address (the one served, or any when bound to every address), and localhost on a
    loopback address."""
    import ipaddress

    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    served = ipaddress.ip_address(bind)
    try:
        asked = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" and (served.is_loopback or served.is_unspecified)
    return asked == served or served.is_unspecified or (served.is_loopback and asked.is_loopback)


def make_server(state: State, bind: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if not host_allowed(self.headers.get("Host"), bind):
                self.send_error(421, "Misdirected Request: this server answers only to its own address")
                return
            path = self.path.split("?", 1)[0]
            if path == "/api/state":
                body, ctype = json.dumps(state.get()).encode(), "application/json"
            elif path in STATIC:
                name, ctype = STATIC[path]
                body = resources.files("swarmctl.dashboard").joinpath("static", name).read_bytes()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer((bind, port), Handler)


def serve(inventory, bind: str, port: int, interval: float, log) -> None:
    import ipaddress

    if not ipaddress.ip_address(bind).is_loopback:
        log(f"warning: the dashboard listens on {bind}, so other machines can reach it and read the cluster's "
            "nodes, services and images, without a password. Use --bind 127.0.0.1 (the default) and an SSH "
            "tunnel to see it from elsewhere.")
    collector = Collector(inventory)
    state = State(collector, interval)
    threading.Thread(target=state.run, daemon=True).start()
    server = make_server(state, bind, port)
    log(f"dashboard on http://{bind}:{server.server_address[1]}/ (reading {', '.join(t['name'] for t in collector.targets)}); "
        "Ctrl-C to stop")
    try:
        server.serve_forever()
    finally:
        state.stop.set()
        server.server_close()
        collector.close()

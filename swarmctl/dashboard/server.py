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


def make_server(state: State, bind: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
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

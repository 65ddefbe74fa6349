"""Every other manager's swarm port, dialled from this manager once a second.

Swarm calls a manager unreachable only after its Raft heartbeats have failed for a while, and a new leader must
first be elected: 12-21 s after a manager's host stopped, measured. A TCP connection to the manager's swarm
address (its engine listens there) fails at once when the host is gone, so each reconciler probes the other
managers itself and a dead manager's grace period starts when it stops answering. A probe is answered by the
kernel, not by a busy engine, and one missed probe is never enough: a manager counts as down after
`failures` failed probes in a row, since the first of them.
"""

from __future__ import annotations

import socket
import threading
import time


def split_addr(addr: str) -> tuple[str, int]:
    """'10.0.0.2:2377' or '[fd00::2]:2377' -> (host, port)."""
    host, dummy, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class Prober:
    def __init__(self, interval: float, timeout: float, connect=socket.create_connection, clock=time.time):
        self.interval = interval
        self.timeout = timeout
        self.connect = connect
        self.clock = clock
        self.lock = threading.Lock()
        self.results: dict[str, dict] = {}  # addr -> {failures, down_since, last}
        self.threads: dict[str, threading.Thread] = {}

    def watch(self, addrs) -> None:
        """Probe exactly these addresses (the other managers' swarm addresses) from now on."""
        addrs = {a for a in addrs if a}
        with self.lock:
            for gone in set(self.results) - addrs:
                del self.results[gone]
            for addr in addrs - set(self.results):
                self.results[addr] = {"failures": 0, "down_since": None, "last": None}
            for addr in addrs:
                # A thread listed here probes on: it leaves the list in the same locked step as it decides to
                # stop, so an address given back meanwhile is never left without one.
                if addr not in self.threads:
                    thread = threading.Thread(target=self._loop, args=(addr,), daemon=True, name=f"probe {addr}")
                    self.threads[addr] = thread
                    thread.start()

    def _still_watched(self, addr: str) -> bool:
        with self.lock:
            if addr in self.results:
                return True
            self.threads.pop(addr, None)
            return False

    def _loop(self, addr: str) -> None:
        while self._still_watched(addr):
            started = time.monotonic()
            self.record(addr, self.probe(addr))
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def probe(self, addr: str) -> bool:
        try:
            self.connect(split_addr(addr), timeout=self.timeout).close()
            return True
        except (OSError, ValueError):
            return False

    def record(self, addr: str, answered: bool) -> None:
        now = self.clock()
        with self.lock:
            result = self.results.get(addr)
            if result is None:
                return
            result["last"] = now
            if answered:
                result.update(failures=0, down_since=None)
            else:
                result["failures"] += 1
                if result["down_since"] is None:
                    result["down_since"] = now

    def view(self) -> dict:
        """{addr: {failures, down_since, last}}: a copy, for a snapshot."""
        with self.lock:
            return {addr: dict(result) for addr, result in self.results.items()}

"""Hostile clients for tests and benchmarks/timings.py: slowloris, trickled bodies, stalled readers.

Each load is ``count`` connections, each behaving on its own thread, bounded in time, every socket
closed on exit.
"""
from __future__ import annotations

import socket
import threading
import time

import requests

from support.api import DEMO
from support.polling import until

AUTH = f"Authorization: Simple {DEMO}\r\n".encode()
SAMPLE_S = 5.0
BIG_FILE_BYTES = 10 * 1024 * 1024 - 1024


class Load:
    """``count`` connections, each run by ``behave(sock, stop)`` on its own thread."""

    def __init__(self, port: int, count: int, behave):
        self.port, self.stop, self.socks, self.tried = port, threading.Event(), [], []
        self.threads = [threading.Thread(target=self.run, args=(behave,), daemon=True) for _ in range(count)]

    def run(self, behave):
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            self.tried.append(False)
            return
        self.socks.append(sock)
        self.tried.append(True)
        try:
            behave(sock, self.stop)
        except OSError:
            pass

    def __enter__(self):
        for t in self.threads:
            t.start()
        until(lambda: len(self.tried) == len(self.threads), timeout=30)     # every connection open (or refused)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for sock in self.socks:
            sock.close()
        for t in self.threads:
            t.join(timeout=5)


def health_latencies(port: int, seconds: float = SAMPLE_S) -> tuple[list[float], int]:
    """Fresh-connection health checks for ``seconds``: their sorted latencies (s) and how many failed
    (no ``200`` answer, or none within the 5 s socket timeout)."""
    return fresh_get_latencies(port, "/_mock/health", seconds)


def fresh_get_latencies(port: int, path: str, seconds: float = SAMPLE_S, headers: bytes = b"") -> tuple[list[float], int]:
    """``GET path`` on a fresh connection each time, for ``seconds``: the sorted latencies (s) and
    how many failed (no ``200`` answer, or none within the 5 s socket timeout)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode() + headers + b"\r\n")
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(request)
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            failures += not answer.startswith(b"HTTP/1.1 200 ")
        except OSError:
            failures += 1
        latencies.append(time.monotonic() - started)
        time.sleep(0.02)
    latencies.sort()
    return latencies, failures


def p99(latencies: list[float]) -> float:
    return latencies[int(len(latencies) * 0.99)]


def slowloris(sock, stop):
    for byte in b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
        if stop.wait(1):
            return
        sock.send(bytes([byte]))


def trickled_body(sock, stop):
    sock.sendall(b"PUT /v1/data/demo/trickle/f HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH
                 + b"Content-Length: 1000\r\n\r\n")
    while not stop.wait(2):
        sock.send(b"a")


def stalled_reader(sock, stop):
    sock.sendall(b"GET /v1/data/demo/big/file HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + b"\r\n")
    stop.wait(30)                           # never reads


def put_big_file(url: str) -> None:
    """demo's data file ``big/file`` (just under 10 MiB), the download the stalled readers ask for."""
    auth = {"Authorization": f"Simple {DEMO}"}
    requests.post(f"{url}/v1/data/demo", json={"name": "big"}, headers=auth, timeout=10).raise_for_status()
    requests.put(f"{url}/v1/data/demo/big/file", data=b"x" * BIG_FILE_BYTES, headers=auth,
                 timeout=30).raise_for_status()

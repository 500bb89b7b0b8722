"""Slow and hostile clients against the mockserver command (loopback, bounded in count and time).

Issue 15's target: with 100 slowloris connections, 20 bodies trickled at 1 byte / 2 s, or 16
clients that do not read a 10 MiB download, a fresh client's GET /_mock/health keeps a p99
under 100 ms. Each test holds its load for a few seconds only and closes every socket itself.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from support.api import DEMO

from support.processes import served

AUTH = f"Authorization: Simple {DEMO}\r\n".encode()
SAMPLE_S = 5.0
P99_LIMIT_S = 0.100


@pytest.fixture(scope="module")
def server():
    with served(MOCKSERVER_THREADS="16") as (url, port, _proc):
        yield url, port


class Load:
    """``count`` connections, each run by ``behave(sock, stop)`` on its own thread."""

    def __init__(self, port: int, count: int, behave):
        self.port, self.stop, self.socks = port, threading.Event(), []
        self.threads = [threading.Thread(target=self.run, args=(behave,), daemon=True) for _ in range(count)]

    def run(self, behave):
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            return
        self.socks.append(sock)
        try:
            behave(sock, self.stop)
        except OSError:
            pass

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(2)                       # every connection open and stuck
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for sock in self.socks:
            sock.close()
        for t in self.threads:
            t.join(timeout=5)


def health_p99(port: int) -> tuple[float, int]:
    """p99 of fresh-connection health checks over SAMPLE_S seconds, and how many failed."""
    latencies, failures = [], 0
    deadline = time.monotonic() + SAMPLE_S
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            failures += not answer.startswith(b"HTTP/1.1 200 ")
        except OSError:
            failures += 1
        latencies.append(time.monotonic() - started)
        time.sleep(0.02)
    latencies.sort()
    return latencies[int(len(latencies) * 0.99)], failures


def assert_health_fast(port: int) -> None:
    p99, failures = health_p99(port)
    assert failures == 0
    assert p99 < P99_LIMIT_S, f"health p99 {p99 * 1000:.1f} ms"


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


def test_100_slowloris_connections_do_not_slow_health(server):
    _url, port = server
    with Load(port, 100, slowloris):
        assert_health_fast(port)


def test_20_trickled_bodies_do_not_slow_health(server):
    _url, port = server
    with Load(port, 20, trickled_body):
        assert_health_fast(port)


def test_16_stalled_readers_of_a_10_mib_download_do_not_slow_health(server):
    url, port = server
    auth = {"Authorization": f"Simple {DEMO}"}
    requests.post(f"{url}/v1/data/demo", json={"name": "big"}, headers=auth, timeout=10).raise_for_status()
    requests.put(f"{url}/v1/data/demo/big/file", data=b"x" * (10 * 1024 * 1024 - 1024), headers=auth,
                 timeout=30).raise_for_status()
    with Load(port, 16, stalled_reader):
        assert_health_fast(port)
    # the server is still whole afterwards
    assert len(requests.get(f"{url}/v1/data/demo/big/file", headers=auth, timeout=30).content) == 10 * 1024 * 1024 - 1024


def test_a_request_that_trickles_past_the_deadline_is_closed():
    """The idle timeout never fires for a client that sends a byte every half second; the
    overall deadline (MOCKSERVER_REQUEST_DEADLINE) does."""
    with served(MOCKSERVER_REQUEST_DEADLINE="2") as (_url, port, _proc):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"PUT /v1/data/demo/trickle/f HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH
                      + b"Content-Length: 1000\r\n\r\n")
            started = time.monotonic()
            closed_after = None
            while time.monotonic() - started < 8:
                try:
                    s.send(b"a")
                except OSError:
                    closed_after = time.monotonic() - started
                    break
                time.sleep(0.5)
            assert closed_after is not None and 1.5 < closed_after < 6

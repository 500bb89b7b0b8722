"""Resource safety: oversized bodies, slow-loris bodies, deep JSON, memory under big uploads.

The socket-level tests run against the mockserver command (the Docker CMD) in a subprocess with
``MOCKSERVER_BODY_TIMEOUT=2``; all waits are bounded. The data upload tests target
``PUT /v1/data/{path}`` in demo's data directory ``safety``.
"""
from __future__ import annotations

import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from support.api import ADMIN, DEMO, error_of

MiB = 1024 * 1024
LIMIT = 10 * MiB
BODY_TIMEOUT = 2
THREADS = 4
SERVED_ENV = {"MOCKSERVER_THREADS": str(THREADS), "MOCKSERVER_BODY_TIMEOUT": str(BODY_TIMEOUT)}    # served_server's


def worker_rss_mib(master_pid: int) -> float:
    """RSS of the (single) server process, from /proc (no psutil needed)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    pid = int(pids[0]) if pids else master_pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def raw_request(port: int, head: str, body: bytes = b"", wait: float = 10.0) -> tuple[bytes, float]:
    """Send ``head`` + ``body`` (possibly partial) and read until the server answers/closes (bounded)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head.encode() + body)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                data = b"".join(chunks)
                if b"\r\n\r\n" in data:
                    header, _, rest = data.partition(b"\r\n\r\n")
                    length = next((int(l.split(b":")[1]) for l in header.split(b"\r\n")
                                   if l.lower().startswith(b"content-length:")), None)
                    if length is not None and len(rest) >= length:
                        break
        except socket.timeout:
            pass
    return b"".join(chunks), time.monotonic() - started


def status_of(raw: bytes) -> int | None:
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def body_of(raw: bytes):
    return json.loads(raw.partition(b"\r\n\r\n")[2] or b"null")


@pytest.fixture(scope="module")
def data_server(served_server):
    """The served mock with demo's data directory ``safety`` made once and a small upload into it."""
    url = served_server[0]
    auth = {"Authorization": f"Simple {DEMO}"}
    r = requests.post(f"{url}/v1/data/.my", json={"name": "safety"}, headers=auth, timeout=10)
    assert r.status_code == 200 and r.json() == {"result": "data://demo/safety"}, r.text
    r = requests.put(f"{url}/v1/data/.my/safety/probe.bin", data=b"x", timeout=10,
                     headers={**auth, "Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.json() == {"result": "data://demo/safety/probe.bin"}, r.text
    return served_server


# ------------------------------------------------------------------------- oversized bodies

def test_body_past_the_server_bound_refused_before_buffering(data_server):
    """Content-Length past the server's bound (twice the 10 MiB limit): waitress's own 413 at
    once, while most of the body was never sent (a body under the bound gets the route's 413
    error object: test_oversized_uploads_do_not_grow_memory)."""
    url, port, _ = data_server
    head = (f"PUT /v1/data/.my/safety/huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Simple {DEMO}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {2 * LIMIT + 1}\r\n\r\n")
    raw, took = raw_request(port, head, b"y" * 4096, wait=10)
    assert status_of(raw) == 413, raw[:300]
    assert b"Request Entity Too Large" in raw
    assert took < BODY_TIMEOUT + 3     # answered without waiting for the 20 MiB


def test_oversized_json_body_refused_on_validated_route(api):
    """The same limit on a JSON route (spec gate), in-process: 413 error object."""
    big = b'{"username":"' + b"a" * (LIMIT + 10) + b'"}'
    r = api.call("POST", "/v1/users", raw=big, headers={"Content-Type": "application/json"}, key=ADMIN)
    error_of(r, 413)


def test_oversized_uploads_do_not_grow_memory(data_server):
    """Ten full 11 MiB uploads refused: the worker's RSS stays within a few MiB."""
    url, port, proc = data_server
    chunk = b"z" * (LIMIT + MiB)
    hdrs = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/octet-stream"}
    requests.put(f"{url}/v1/data/.my/safety/over.bin", data=chunk, headers=hdrs, timeout=30)   # warm-up
    before = worker_rss_mib(proc.pid)
    for _ in range(10):
        try:
            r = requests.put(f"{url}/v1/data/.my/safety/over.bin", data=chunk, headers=hdrs, timeout=30)
            assert r.status_code == 413 and r.json()["error"]["message"]
        except requests.ConnectionError:
            pass        # the server may close the socket while the client is still sending: also a refusal
    after = worker_rss_mib(proc.pid)
    assert after - before < 24, (before, after)


# ------------------------------------------------------------------------- slow loris

@pytest.mark.parametrize("framing,partial", [
    ("Content-Length: 1000", b'{"usernam'),                         # 1,000 bytes promised, 9 arrive
    ("Transfer-Encoding: chunked", b'400\r\n{"usernam'),            # a 1 KiB chunk begun, never ended
])
def test_slow_loris_partial_body_times_out(served_server, framing, partial):
    """A body starts, then nothing more arrives: the server closes the connection without an
    answer after the idle timeout (bounded)."""
    url, port, _ = served_server
    head = (f"POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Simple {ADMIN}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n")
    stalled = []
    try:
        # more stalled clients than the server has threads: it must still answer others
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT + 15)
            s.sendall(head.encode() + partial)
            stalled.append(s)
        started = time.monotonic()
        for s in stalled:
            try:
                data = s.recv(65536)              # closed without an answer (README), never hangs
            except socket.timeout:
                pytest.fail("the server kept a stalled body open past the timeout")
            except ConnectionResetError:
                data = b""
            assert data == b"", data[:200]
        assert time.monotonic() - started < BODY_TIMEOUT + 15
        assert requests.get(f"{url}/_mock/health", timeout=10).status_code == 200
    finally:
        for s in stalled:
            s.close()


def test_slow_loris_partial_headers_are_dropped(served_server):
    """A request line arrives, the headers never end: the connection is closed after the
    timeout instead of pinning a thread (more stalled clients than threads)."""
    url, port, _ = served_server
    stalled = []
    try:
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT + 15)
            s.sendall(b"GET /v1/users/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            stalled.append(s)
        started = time.monotonic()
        for s in stalled:
            try:
                data = s.recv(65536)
            except socket.timeout:
                pytest.fail("the server kept a stalled header block open past the timeout")
            except ConnectionResetError:
                data = b""
            assert data == b"", data[:200]            # closed without an answer (README)
        assert time.monotonic() - started < BODY_TIMEOUT + 15
        assert requests.get(f"{url}/_mock/health", timeout=10).status_code == 200
    finally:
        for s in stalled:
            s.close()


# ------------------------------------------------------------------------- deep JSON

@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deep_json_rejected_cleanly(api, depth):
    """Deeply nested JSON on a validated route: a 400 error object (2013 or a validation code), never a 500."""
    body = b"[" * depth + b"]" * depth
    r = api.call("POST", "/v1/users", raw=body, headers={"Content-Type": "application/json"}, key=ADMIN)
    err = error_of(r, 400)
    if depth >= 10_000:
        assert err["code"] == 2013, err


def test_deep_json_rejected_by_live_server(served_server):
    url, _, _ = served_server
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    r = requests.post(f"{url}/v1/organizations", data=body, timeout=30,
                      headers={"Authorization": f"Simple {ADMIN}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 2013, r.text[:300]
    assert requests.get(f"{url}/_mock/health", timeout=10).status_code == 200


# ------------------------------------------------------------------------- big uploads, then deleted

def test_stream_of_big_uploads_then_deleted_keeps_memory_bounded(data_server):
    """20 uploads of 10 MiB (each deleted after): RSS ends near where it started; journal bodies are capped."""
    url, port, proc = data_server
    hdrs = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/octet-stream"}
    blob = os.urandom(LIMIT - 1024)

    def cycle(i):
        r = requests.put(f"{url}/v1/data/.my/safety/blob{i}.bin", data=blob, headers=hdrs, timeout=60)
        assert r.status_code == 200, r.text[:300]
        r = requests.delete(f"{url}/v1/data/.my/safety/blob{i}.bin", headers=hdrs, timeout=30)
        assert r.status_code == 200 and r.json() == {"result": {"deleted": 1}}, r.text[:300]

    # Warm-up: each of the server's request threads allocates from an arena of its own, and which
    # thread takes a request is the server's choice; uploads on every thread at once bring each
    # arena to its high-water mark, whatever ran on this server before.
    with ThreadPoolExecutor(THREADS) as pool:
        for round_ in range(2):
            list(pool.map(cycle, range(round_ * THREADS, (round_ + 1) * THREADS)))
    before = worker_rss_mib(proc.pid)
    for i in range(20):
        cycle(i)
    middle = worker_rss_mib(proc.pid)
    for i in range(20):
        cycle(i)
    after = worker_rss_mib(proc.pid)
    # Bounded = a plateau: 20 more uploads of 10 MiB add nothing that stays (a leak would add ~200 MiB).
    assert after - middle < 25 and after - before < 60, \
        f"RSS {before:.0f} -> {middle:.0f} -> {after:.0f} MiB over 2 x 20 uploads of 10 MiB"
    journal = requests.get(f"{url}/_mock/journal", params={"limit": 50}, timeout=10).json()["entries"]
    puts = [e for e in journal if e["method"] == "PUT"]
    assert puts
    assert all(len(e.get("request_body") or "") <= 4096 + 64 for e in puts)
    assert len(json.dumps(journal)) < 2 * MiB

"""HTTP edge cases at the server itself (the mockserver command), as docs/behaviour.md states them.

Bodies over a route's limit reach the route, which answers a 413 error object. What waitress
(3.0) answers by itself, before the app runs, is its own documented behaviour: a text/plain
error with ``Connection: close`` (bad request line, bad chunking, headers or body past its
bounds), or, for a request whose head or body never completes, a close without an answer.
None of those reach the app: nothing is stored or journaled.
"""
from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from support.api import DEMO

from support.processes import served

AUTH = f"Authorization: Simple {DEMO}\r\n".encode()
LIMIT = 10 * 1024 * 1024
SERVER_BOUND = 2 * LIMIT              # waitress's max_request_body_size (serve.options)
IDLE_S = 2


@pytest.fixture(scope="module")
def quick_idle():
    """A server that closes silent connections after 2 s (waitress checks every 2 s)."""
    with served(MOCKSERVER_IDLE_TIMEOUT=str(IDLE_S)) as (url, port, _proc):
        yield url, port


def exchange(port: int, data: bytes, more=(), half_close: bool = False, timeout: float = 10):
    """Send ``data`` (then each of ``more`` while the server still reads; then half-close if asked),
    read the answer until the server closes (or, for an answer that keeps the connection, its
    end): (status or None, headers, body, seconds taken). Fails if neither comes within ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        started = time.monotonic()
        s.sendall(data)
        try:
            for piece in more:
                s.sendall(piece)
        except OSError:                      # the server answered and closed mid-upload
            pass
        if half_close:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while (chunk := s.recv(65536)) and not complete(answer := answer + chunk):
                pass
        except ConnectionResetError:
            pass
        took = time.monotonic() - started
    if not answer:
        return None, {}, b"", took
    head, headers, body = parse(answer)
    return int(head.split()[1]), headers, body, took


def parse(answer: bytes) -> tuple[str, dict, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    return lines[0], {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}, body


def complete(answer: bytes) -> bool:
    """A whole answer the server keeps the connection open after (an app's answer)."""
    if b"\r\n\r\n" not in answer:
        return False
    _line, headers, body = parse(answer)
    return headers.get("connection") != "close" and len(body) >= int(headers.get("content-length", "-1"))


def assert_error_object(answer, status: int) -> dict:
    code, headers, body, _took = answer
    assert code == status, body[:300]
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == 6001 and error["message"]
    return error


def assert_waitress_answer(answer, status: int, words: bytes) -> None:
    """waitress's own answer: text/plain, Connection: close, and the connection closed (exchange)."""
    code, headers, body, _took = answer
    assert code == status, body[:300]
    assert headers["content-type"].startswith("text/plain") and headers["connection"] == "close"
    assert words in body and len(body) < 300


def journaled(url: str, path: str) -> list[dict]:
    entries = requests.get(f"{url}/_mock/journal", timeout=10).json()["entries"]
    return [e for e in entries if e.get("path") == path]


def post_head(path: bytes, extra: bytes) -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + b"Content-Type: application/json\r\n" + extra


# -- bodies over a route's limit: the route's 413 error object

@pytest.mark.parametrize("path", [b"/v1/algo/demo/Hello", b"/v1/data/demo/files/big.bin", b"/_mock/fixtures"])
def test_a_body_over_the_limit_is_a_json_413(served_server, path):
    body = b"[" * (LIMIT + 1)
    answer = exchange(served_server[1], post_head(path, b"Content-Length: %d\r\n\r\n" % len(body)) + body)
    error = assert_error_object(answer, 413)
    assert len(error["message"]) < 200


def test_a_chunked_body_over_the_limit_is_a_json_413_not_echoed(served_server):
    piece = b"%x\r\n" % (1024 * 1024) + b"[" * (1024 * 1024) + b"\r\n"
    last = b"%x\r\n" % 2048 + b"[" * 2048 + b"\r\n0\r\n\r\n"       # passes the limit with the last bytes
    head = (b"POST /_mock/fixtures HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-yaml\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = exchange(served_server[1], head, more=[piece] * 10 + [last])
    assert_error_object(answer, 413)
    assert len(answer[2]) < 300                    # the body is not echoed back


# -- past waitress's own bounds: its text answers, at once

def test_a_declared_body_past_the_server_bound_is_refused_before_it_is_sent(served_server):
    answer = exchange(served_server[1],
                      post_head(b"/v1/algo/demo/Hello", b"Content-Length: %d\r\n\r\n" % (SERVER_BOUND + 1)))
    assert_waitress_answer(answer, 413, b"Request Entity Too Large")


def test_a_chunked_body_past_the_server_bound_is_refused_as_it_passes(served_server):
    piece = b"%x\r\n" % (1024 * 1024) + b"a" * (1024 * 1024) + b"\r\n"
    answer = exchange(served_server[1], post_head(b"/v1/algo/demo/Hello", b"Transfer-Encoding: chunked\r\n\r\n"),
                      more=[piece] * 21)
    assert_waitress_answer(answer, 413, b"Request Entity Too Large")


def test_a_bad_request_line_is_waitress_400(served_server):
    assert_waitress_answer(exchange(served_server[1], b"GARBAGE\r\n\r\n"), 400, b"Start line is invalid")


@pytest.mark.parametrize("size", [b"zz", b"-1", b"1x"])
def test_a_malformed_chunk_size_is_waitress_400_and_never_reaches_the_app(served_server, size):
    url, port, _proc = served_server
    before = journaled(url, "/v1/algo/demo/Hello")
    request = post_head(b"/v1/algo/demo/Hello", b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n")
    assert_waitress_answer(exchange(port, request), 400, b"Invalid chunk size")
    assert journaled(url, "/v1/algo/demo/Hello") == before


def test_headers_past_256_kib_are_waitress_431(served_server):
    # just over waitress's 256 KiB: all of it is read before the answer (no reset on close)
    request = b"GET /v1/scms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 262_200 + b"\r\n\r\n"
    assert_waitress_answer(exchange(served_server[1], request), 431, b"Request Header Fields Too Large")


def test_a_head_with_bare_lf_and_a_crlf_end_is_waitress_400(served_server):
    request = b"GET /v1/scms HTTP/1.1\nHost: 127.0.0.1\r\n\r\n"
    assert_waitress_answer(exchange(served_server[1], request), 400, b"Bare CR or LF found")


# -- requests that never complete: closed without an answer, nothing stored or journaled

def test_a_body_cut_short_closes_without_an_answer_and_stores_nothing(served_server):
    """Content-Length 100, 10 bytes, half-close: the request never reaches the app."""
    url, port, _proc = served_server
    auth = {"Authorization": f"Simple {DEMO}"}
    requests.post(f"{url}/v1/data/demo", json={"name": "cut"}, headers=auth, timeout=10)
    path = "/v1/data/demo/cut/f.txt"
    code, _headers, _body, took = exchange(
        port, b"PUT " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH +
        b"Content-Length: 100\r\n\r\n0123456789", half_close=True)
    assert code is None and took < 5
    assert journaled(url, path) == []
    assert requests.get(f"{url}{path}", headers=auth, timeout=10).status_code == 404


@pytest.mark.parametrize("head,body", [
    (b"POST /v1/algo/demo/Hello HTTP/1.1\r\nContent-Type: application/json\r\n", b"Content-Length: 100\r\n\r\n{\"a\""),
    (b"POST /_mock/fixtures HTTP/1.1\r\nContent-Type: application/x-yaml\r\n", b"Content-Length: 100\r\n\r\nusers:"),
    (b"PUT /v1/data/demo/cut/g.txt HTTP/1.1\r\n", b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
])
def test_a_body_cut_short_never_reaches_the_app(served_server, head, body):
    url, port, _proc = served_server
    path = head.split()[1].decode()
    before = journaled(url, path)
    code, _headers, _body, _took = exchange(port, head + b"Host: 127.0.0.1\r\n" + AUTH + body, half_close=True)
    assert code is None
    assert journaled(url, path) == before


def test_a_huge_chunk_size_waits_for_its_bytes_then_the_idle_timeout_closes(quick_idle):
    """Issue 26: a chunk size of 2**80 is taken as announced; waitress waits for its bytes."""
    url, port = quick_idle
    request = post_head(b"/v1/algo/demo/Hello", b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n")
    code, _headers, _body, took = exchange(port, request, timeout=IDLE_S + 10)
    assert code is None and took >= IDLE_S
    assert journaled(url, "/v1/algo/demo/Hello") == []


def test_a_huge_chunk_size_is_refused_once_the_bytes_pass_the_server_bound(served_server):
    piece = b"a" * (1024 * 1024)
    answer = exchange(served_server[1], post_head(b"/v1/algo/demo/Hello",
                                           b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n"),
                      more=[piece] * 21)
    assert_waitress_answer(answer, 413, b"Request Entity Too Large")


@pytest.mark.parametrize("request_bytes", [
    b"GET /v1/scms HTTP/1.1\nHost: 127.0.0.1\n\n",
    b"GET /v1/scms HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n",
])
def test_bare_lf_request_lines_wait_for_a_crlf_end_then_the_idle_timeout_closes(quick_idle, request_bytes):
    """Issue 26: waitress ends a head only at CRLF CRLF; a head of bare LFs never ends."""
    url, port = quick_idle
    before = journaled(url, "/v1/scms")
    code, _headers, _body, took = exchange(port, request_bytes, timeout=IDLE_S + 10)
    assert code is None and took >= IDLE_S
    assert journaled(url, "/v1/scms") == before


def test_app_answers_keep_the_connection(served_server):
    url, _port, _proc = served_server
    r = requests.get(f"{url}/v1/scms", headers={"Authorization": f"Simple {DEMO}"}, timeout=10)
    assert r.status_code == 200 and r.headers.get("Connection", "").lower() != "close"   # kept alive

"""HTTP edge cases at the server itself (the mockserver command): each gets an Algorithmia error
object, a truthful ``Connection: close``, and the connection really closes after it."""
from __future__ import annotations

import json
import socket

import pytest
import requests

from support.api import DEMO

from support.processes import served

AUTH = f"Authorization: Simple {DEMO}\r\n".encode()
LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def server():
    with served() as (url, port, _proc):
        yield url, port


def exchange(port: int, data: bytes, more=()) -> tuple[int, dict, bytes]:
    """Send ``data`` (then each of ``more`` while the server still reads), read until the server
    closes; the answer's status, headers and body. Fails if the server does not close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        try:
            for piece in more:
                s.sendall(piece)
        except OSError:                      # the server answered and closed mid-upload
            pass
        return read_answer(s)


def read_answer(s: socket.socket) -> tuple[int, dict, bytes]:
    """Read until the server closes: the answer's status, headers and body."""
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def assert_error(answer, status: int) -> dict:
    code, headers, body = answer
    assert code == status, body[:300]
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == 6001 and error["message"]
    return error


def test_bad_request_line_is_a_json_400(server):
    assert_error(exchange(server[1], b"GARBAGE\r\n\r\n"), 400)


@pytest.mark.parametrize("size", [b"zz", b"-1", b"1x"])
def test_malformed_chunk_size_is_a_json_400(server, size):
    request = (b"POST /v1/algo/demo/Hello HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH +
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n")
    assert_error(exchange(server[1], request), 400)


def test_headers_too_large_is_a_json_431(server):
    # just over waitress's 256 KiB: all of it is read before the answer (no reset on close)
    request = b"GET /v1/scms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 262_200 + b"\r\n\r\n"
    assert_error(exchange(server[1], request), 431)


@pytest.mark.parametrize("path", [b"/v1/algo/demo/Hello", b"/v1/data/demo/files/big.bin", b"/_mock/fixtures"])
def test_declared_body_over_the_limit_is_a_json_413_before_it_is_sent(server, path):
    request = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH +
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1))
    error = assert_error(exchange(server[1], request), 413)      # no body byte sent at all
    assert len(error["message"]) < 200


def test_chunked_body_over_the_limit_is_a_json_413_not_echoed(server):
    piece = b"%x\r\n" % (1024 * 1024) + b"[" * (1024 * 1024) + b"\r\n"
    last = b"%x\r\n" % 2048 + b"[" * 2048 + b"\r\n"       # passes the limit as the last bytes sent
    request = (b"POST /_mock/fixtures HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/x-yaml\r\nTransfer-Encoding: chunked\r\n\r\n")
    code, headers, body = exchange(server[1], request, more=[piece] * 10 + [last])
    assert_error((code, headers, body), 413)
    assert len(body) < 300                    # the body is not echoed back


def cut_short(port: int, head: bytes, body: bytes = b"Content-Length: 100\r\n\r\n0123456789"):
    """Send ``head`` + ``body`` and half-close: the server's answer, read until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + b"Host: 127.0.0.1\r\n" + AUTH + body)
        s.shutdown(socket.SHUT_WR)
        return read_answer(s)


def test_body_cut_short_is_a_400_and_stores_nothing(server):
    """A body that breaks off (Content-Length 100, 10 bytes, half-close) never reaches the app:
    a 400 error object says so, the connection closes, and nothing is stored."""
    url, port = server
    auth = {"Authorization": f"Simple {DEMO}"}
    requests.post(f"{url}/v1/data/demo", json={"name": "cut"}, headers=auth, timeout=10)
    error = assert_error(cut_short(port, b"PUT /v1/data/demo/cut/f.txt HTTP/1.1\r\n"), 400)
    assert "Incomplete request body" in error["message"] and "100 bytes" in error["message"]
    assert requests.get(f"{url}/v1/data/demo/cut/f.txt", headers=auth, timeout=10).status_code == 404


def test_a_chunked_body_without_its_last_chunk_is_a_400(server):
    _url, port = server
    error = assert_error(cut_short(port, b"PUT /v1/data/demo/cut/g.txt HTTP/1.1\r\n",
                                   b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), 400)
    assert "last chunk" in error["message"]


@pytest.mark.parametrize("head", [
    b"POST /v1/algo/demo/Hello HTTP/1.1\r\nContent-Type: application/json\r\n",
    b"POST /_mock/fixtures HTTP/1.1\r\nContent-Type: application/x-yaml\r\n",
])
def test_body_cut_short_never_reaches_the_app(server, head):
    url, port = server
    path = head.split()[1].decode()

    def journaled():
        entries = requests.get(f"{url}/_mock/journal", timeout=10).json()["entries"]
        return [e for e in entries if e.get("path") == path]

    before = journaled()
    assert_error(cut_short(port, head), 400)
    assert journaled() == before                # the app never saw it


def test_app_errors_that_close_say_so(server):
    url, _port = server
    r = requests.get(f"{url}/v1/scms", headers={"Authorization": f"Simple {DEMO}"}, timeout=10)
    assert r.status_code == 200 and r.headers.get("Connection", "").lower() != "close"   # kept alive

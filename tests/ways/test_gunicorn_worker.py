"""The keep-alive worker (mockserver/gunicorn_worker.py) under real gunicorn: a connection
is served whether its next request comes at once, after the linger, pipelined, or never;
and more connections than threads all get answers."""
import socket
import threading
import time

import pytest

from conftest import DEMO

from mockserver.gunicorn_worker import LINGER_S
from processes import gunicorn

REQUEST = (f"GET /v1/users/demo/algorithms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Simple {DEMO}\r\n\r\n").encode()


@pytest.fixture(scope="module")
def server():
    with gunicorn(MOCKSERVER_THREADS="2") as (url, port, proc):
        yield port


def read_head(sock: socket.socket, buf: bytearray) -> bytes:
    """One header block from ``sock`` (``buf`` keeps what follows it)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a header block")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    return head


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    """One HTTP/1.1 response with Content-Length from ``sock`` (``buf`` keeps what follows it)."""
    head = read_head(sock, buf)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        buf += chunk
    body = bytes(buf[:length])
    buf[:] = buf[length:]
    return int(head.split(b" ")[1]), body


def test_one_connection_answers_requests_sent_at_once_and_after_the_linger(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        buf = bytearray()
        for pause in (0, 0, LINGER_S * 5, 0, 0.3, 0):     # quiet pauses send it back to the poller
            time.sleep(pause)
            sock.sendall(REQUEST)
            status, body = read_response(sock, buf)
            assert status == 200 and b'"results"' in body


def test_pipelined_requests_are_all_answered_in_order(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(REQUEST * 3 + b"GET /v1/users/nobody HTTP/1.1\r\nHost: x\r\n"
                     + f"Authorization: Simple {DEMO}\r\n\r\n".encode())
        buf = bytearray()
        statuses = [read_response(sock, buf)[0] for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] in (403, 404)


def test_more_busy_connections_than_threads_all_get_answers(server):
    """2 threads, 8 clients each firing requests back to back: nobody starves."""
    counts, errors = [0] * 8, []

    def client(i: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
                buf = bytearray()
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    sock.sendall(REQUEST)
                    status, _ = read_response(sock, buf)
                    assert status == 200
                    counts[i] += 1
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert not errors, errors
    assert all(n >= 5 for n in counts), counts
    assert max(counts) < 20 * min(counts), counts       # roughly fair, not merely alive


def test_a_client_that_closes_while_the_thread_lingers_frees_it(server):
    for _ in range(6):                                   # more than the 2 threads
        sock = socket.create_connection(("127.0.0.1", server), timeout=10)
        sock.sendall(REQUEST)
        assert read_response(sock, bytearray())[0] == 200
        sock.close()
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert read_response(sock, bytearray())[0] == 200


def test_bodiless_answers_and_100_continue_keep_one_connection_in_step(server):
    """The worker sends a header block with the body's first bytes: a HEAD answer (no body)
    and an interim 100 Continue must still leave at once and in order."""
    auth = f"Authorization: Simple {DEMO}\r\n"
    body = b'{"name":"conn_socket_check"}'
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        buf = bytearray()
        sock.sendall(f"HEAD /v1/users/demo/algorithms HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
        head = read_head(sock, buf)
        assert head.startswith(b"HTTP/1.1 200") and not buf      # no body bytes follow a HEAD answer

        sock.sendall(f"POST /v1/data/.my HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
                     f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        assert read_head(sock, buf).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        status, answer = read_response(sock, buf)
        assert status == 200 and b"data://demo/conn_socket_check" in answer

        sock.sendall(f"DELETE /v1/data/.my/conn_socket_check?force=true HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
        assert read_response(sock, buf)[0] == 200
        sock.sendall(REQUEST)
        assert read_response(sock, buf)[0] == 200


def _next_links(port: int, requests: int) -> list[str]:
    """The ``next_link`` of a one-user page, asked ``requests`` times on one keep-alive
    connection that claims (X-Forwarded-Proto) to come through an HTTPS proxy."""
    import json
    from conftest import ADMIN
    ask = (f"GET /v1/users?limit=1 HTTP/1.1\r\nHost: mock.test\r\nAuthorization: Simple {ADMIN}\r\n"
           "X-Forwarded-Proto: https\r\n\r\n").encode()
    links = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buf = bytearray()
        for _ in range(requests):
            sock.sendall(ask)
            status, body = read_response(sock, buf)
            assert status == 200, body
            links.append(json.loads(body)["next_link"])
    return links


def test_a_trusted_peer_may_set_the_scheme_on_every_request_of_a_connection(server):
    # 127.0.0.1 is in gunicorn's default forwarded_allow_ips; the worker remembers the
    # peer's trust after the first request, so the later ones must agree with it.
    links = _next_links(server, 3)
    assert all(link.startswith("https://mock.test/v1/users?") for link in links), links


def test_an_untrusted_peer_may_not_set_the_scheme_on_any_request():
    with gunicorn(GUNICORN_CMD_ARGS="--forwarded-allow-ips=10.9.8.7") as (url, port, proc):
        links = _next_links(port, 3)
    assert all(link.startswith("http://mock.test/v1/users?") for link in links), links

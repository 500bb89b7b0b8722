"""ConnSocket (mockserver/gunicorn_worker.py): the connection socket gunicorn writes
through. Bytes must leave in order whatever gunicorn calls, with fewer system calls."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from mockserver.gunicorn_worker import ConnSocket


class RecordingSocket:
    """A socket stand-in that records calls; ``sendmsg`` may accept only part of the bytes."""

    def __init__(self, sendmsg_limit: int | None = None):
        self.calls: list[tuple] = []
        self.wire = bytearray()
        self.timeout = None
        self.sendmsg_limit = sendmsg_limit

    def gettimeout(self):
        return self.timeout

    def settimeout(self, timeout):
        self.calls.append(("settimeout", timeout))
        self.timeout = timeout

    def setsockopt(self, *args):
        self.calls.append(("setsockopt",) + args[:2])

    def sendall(self, data):
        self.calls.append(("sendall", bytes(data)))
        self.wire += data

    def send(self, data, flags=0):
        self.calls.append(("send", bytes(data)))
        self.wire += data
        return len(data)

    def sendmsg(self, buffers):
        joined = b"".join(bytes(b) for b in buffers)
        sent = joined if self.sendmsg_limit is None else joined[:self.sendmsg_limit]
        self.calls.append(("sendmsg", len(buffers), len(sent)))
        self.wire += sent
        return len(sent)

    def sendfile(self, file, offset=0, count=None):
        data = file.read()
        self.calls.append(("sendfile", data))
        self.wire += data
        return len(data)

    def shutdown(self, how):
        self.calls.append(("shutdown", how))

    def close(self):
        self.calls.append(("close",))

    def getpeername(self):
        return ("127.0.0.1", 1)


def kinds(sock: RecordingSocket) -> list[str]:
    return [c[0] for c in sock.calls]


def test_the_header_block_leaves_with_the_first_body_bytes_in_one_send():
    raw = RecordingSocket()
    sock = ConnSocket(raw)
    sock.hold_next_write()
    sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    assert raw.wire == b""                       # held
    sock.sendall(b'{"a":1}')
    sock.sendall(b"more")                        # later writes go straight out
    sock.flush()
    assert raw.wire == b'HTTP/1.1 200 OK\r\n\r\n{"a":1}more'
    assert kinds(raw) == ["sendmsg", "sendall"]


def test_a_response_without_body_is_sent_by_flush():
    raw = RecordingSocket()
    sock = ConnSocket(raw)
    sock.hold_next_write()
    sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    sock.flush()
    assert raw.wire == b"HTTP/1.1 204 No Content\r\n\r\n"
    sock.sendall(b"next")                        # nothing is held after a flush
    assert raw.wire.endswith(b"next")


def test_a_partial_sendmsg_is_completed_in_order():
    raw = RecordingSocket(sendmsg_limit=5)
    sock = ConnSocket(raw)
    sock.hold_next_write()
    sock.sendall(b"HEADERS\r\n\r\n")
    sock.sendall(b"BODY" * 100)
    assert raw.wire == b"HEADERS\r\n\r\n" + b"BODY" * 100
    raw2 = RecordingSocket(sendmsg_limit=15)     # the cut falls inside the body
    sock2 = ConnSocket(raw2)
    sock2.hold_next_write()
    sock2.sendall(b"HEADERS\r\n\r\n")
    sock2.sendall(memoryview(b"BODY" * 100))
    assert raw2.wire == b"HEADERS\r\n\r\n" + b"BODY" * 100


@pytest.mark.parametrize("use", ["send", "sendfile", "shutdown", "close", "getpeername"])
def test_any_other_use_of_the_socket_sends_the_held_bytes_first(use, tmp_path):
    raw = RecordingSocket()
    sock = ConnSocket(raw)
    sock.hold_next_write()
    sock.sendall(b"HEAD")
    if use == "send":
        sock.send(b"X")
    elif use == "sendfile":
        path = tmp_path / "f"
        path.write_bytes(b"FILE")
        with open(path, "rb") as fh:
            sock.sendfile(fh)
    elif use == "shutdown":
        sock.shutdown(socket.SHUT_WR)
    elif use == "close":
        sock.close()
    else:
        sock.getpeername()
    assert raw.wire.startswith(b"HEAD")
    assert raw.calls[0] == ("sendall", b"HEAD")


def test_a_100_continue_before_the_response_is_not_held():
    raw = RecordingSocket()
    sock = ConnSocket(raw)
    sock.hold_next_write()
    sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")  # gunicorn uses send() for it
    assert raw.wire == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(b"HEAD")                        # the response's header block is still held
    assert raw.wire == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(b"BODY")
    assert raw.wire.endswith(b"HEADBODY")


def test_modes_reach_the_socket_only_when_they_change():
    raw = RecordingSocket()
    sock = ConnSocket(raw)
    for _ in range(3):
        sock.setblocking(True)
        sock.settimeout(None)
    sock.setblocking(False)
    sock.settimeout(0)
    sock.settimeout(2.5)
    sock.settimeout(2.5)
    assert [c for c in raw.calls if c[0] == "settimeout"] == [("settimeout", 0.0), ("settimeout", 2.5)]
    assert sock.gettimeout() == 2.5


def test_the_io_timeout_is_set_once_in_the_kernel():
    raw = RecordingSocket()
    ConnSocket(raw, io_timeout=1.5)
    assert raw.calls == [("setsockopt", socket.SOL_SOCKET, socket.SO_RCVTIMEO),
                         ("setsockopt", socket.SOL_SOCKET, socket.SO_SNDTIMEO)]


def test_a_stalled_peer_times_out_as_TimeoutError_on_a_real_socket():
    a, b = socket.socketpair()
    try:
        sock = ConnSocket(a, io_timeout=0.2)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            sock.recv(10)
        assert 0.15 < time.monotonic() - started < 2
        b.sendall(b"late")                       # the socket stays usable
        assert sock.recv(10) == b"late"
        sock.setblocking(False)                  # non-blocking: EAGAIN stays BlockingIOError
        with pytest.raises(BlockingIOError) as info:
            sock.recv(10)
        assert not isinstance(info.value, TimeoutError)
    finally:
        a.close()
        b.close()


def test_held_bytes_arrive_intact_over_a_real_socket():
    a, b = socket.socketpair()
    body = bytes(range(256)) * 20_000               # 5 MB: sendmsg cannot take it at once
    received = bytearray()

    def read():
        while chunk := b.recv(1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    sock = ConnSocket(a, io_timeout=5)
    sock.hold_next_write()
    sock.sendall(b"HEAD\r\n\r\n")
    sock.sendall(body)
    sock.flush()
    sock.shutdown(socket.SHUT_WR)
    reader.join(10)
    a.close()
    b.close()
    assert bytes(received) == b"HEAD\r\n\r\n" + body


def test_between_requests_a_stalled_peer_reads_as_the_end_of_the_stream():
    """A request head that stops arriving: gunicorn closes quietly on end-of-stream."""
    a, b = socket.socketpair()
    try:
        sock = ConnSocket(a, io_timeout=0.2)
        sock.between_requests = True
        assert sock.recv(10) == b""
        assert sock.recv_into(bytearray(10)) == 0
        sock.between_requests = False
        with pytest.raises(TimeoutError):
            sock.recv(10)
    finally:
        a.close()
        b.close()


def _rcvtimeo(sock: socket.socket) -> bytes:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)


def test_recv_within_waits_briefly_and_restores_the_io_timeout():
    a, b = socket.socketpair()
    with a, b:
        conn = ConnSocket(a, io_timeout=5.0)
        before = _rcvtimeo(a)
        started = time.monotonic()
        assert conn.recv_within(0.05, 1024) is None            # nothing came
        waited = time.monotonic() - started
        assert 0.04 <= waited < 2.0
        assert _rcvtimeo(a) == before
        b.sendall(b"GET / HTTP/1.1\r\n")
        assert conn.recv_within(0.05, 1024) == b"GET / HTTP/1.1\r\n"
        assert _rcvtimeo(a) == before
        b.close()
        assert conn.recv_within(0.05, 1024) == b""              # the end of the stream


def test_recv_within_restores_no_timeout_when_there_was_none():
    a, b = socket.socketpair()
    with a, b:
        conn = ConnSocket(a, io_timeout=0.0)
        before = _rcvtimeo(a)
        assert conn.recv_within(0.01, 16) is None
        assert _rcvtimeo(a) == before


def test_recv_within_is_only_for_a_blocking_socket_with_nothing_held():
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"x")
        conn = ConnSocket(a)
        assert conn.can_recv_within()
        conn.setblocking(False)
        assert not conn.can_recv_within()
        conn.setblocking(True)
        conn.hold_next_write()
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        assert not conn.can_recv_within()                     # the held block must go first
        conn.flush()
        assert conn.can_recv_within() and conn.recv_within(0.01, 16) == b"x"


def test_the_linger_is_one_receive_whose_bytes_go_to_the_parser(monkeypatch):
    from types import SimpleNamespace

    from gunicorn.http.unreader import SocketUnreader

    from mockserver import gunicorn_worker

    def no_select(*args):
        raise AssertionError("a ConnSocket lingers in its receive, not in a select")
    monkeypatch.setattr(gunicorn_worker.select, "select", no_select)
    a, b = socket.socketpair()
    with a, b:
        sock = ConnSocket(a, io_timeout=5.0)
        conn = SimpleNamespace(sock=sock, parser=SimpleNamespace(unreader=SocketUnreader(sock)))
        assert gunicorn_worker._next_request_arrived(conn) is False          # quiet: one wait only
        b.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert gunicorn_worker._next_request_arrived(conn) is True
        assert conn.parser.unreader.read() == b"GET / HTTP/1.1\r\n\r\n"

"""Length-prefixed messages over the stream socket between the server and a worker process.

multiprocessing's Connection costs five system calls per call and reply (a poll built
by a selector, a header read, a body read, ...); under the server's threads each one
also hands the GIL away. Here a message is one send, and one receive when it fits
the first read. The reply timeout is the socket's kernel receive timeout
(``SO_RCVTIMEO``, set only when it changes), so waiting for a reply is a single
blocking receive, not a poll and then reads.

Keep it light: it is imported by every worker process.
"""
from __future__ import annotations

import socket
import struct
from typing import Optional

PROTOCOL = 5                # pickle protocol of every message between the server and a worker
_HEADER = struct.Struct("!Q")
_SMALL = 64 * 1024          # messages up to this size are joined with their header and read in one go


def timeval(seconds: float) -> bytes:
    """``seconds`` as the ``struct timeval`` that SO_RCVTIMEO takes (0: no timeout)."""
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))


def send_pair(sock: socket.socket, head: bytes, body) -> None:
    """Send ``head`` then ``body`` in one ``sendmsg`` when the socket takes them at once,
    and whatever it did not take with ``sendall``, in order."""
    sent = sock.sendmsg([head, body])
    if sent < len(head):
        sock.sendall(head[sent:])
        sent = len(head)
    if sent - len(head) < len(body):
        sock.sendall(memoryview(body)[sent - len(head):])


class Timeout(Exception):
    """No message arrived within the receive timeout."""


class FramedSocket:
    """Sends and receives whole messages (bytes) on a connected stream socket. One reader
    and one writer at a time (the engine's slots guarantee it)."""

    __slots__ = ("sock", "_pending", "_timeout", "_big")

    def __init__(self, sock: socket.socket):
        sock.setblocking(True)
        self.sock = sock
        self._pending = bytearray()           # bytes read past the last message
        self._timeout: Optional[float] = None
        self._big: Optional[list] = None      # [message, bytes read] of a big message being read

    def send(self, payload: bytes) -> None:
        """Send one message. Raises OSError when the peer is gone."""
        head = _HEADER.pack(len(payload))
        if len(payload) <= _SMALL:
            self.sock.sendall(head + payload)
            return
        send_pair(self.sock, head, payload)

    def recv(self, timeout: Optional[float] = None) -> bytes | bytearray:
        """The next message. ``timeout`` (seconds, None for none) bounds the wait for its
        next bytes. Raises :class:`Timeout`, EOFError when the peer closed, or OSError.
        After a Timeout, calling recv again resumes the same message (nothing read is lost),
        so a caller may wait in slices."""
        self._set_timeout(timeout)
        if self._big is None and not self._pending:      # the usual reply: one read, exactly one message
            data = self._read(_SMALL)
            if len(data) >= _HEADER.size and _HEADER.unpack_from(data)[0] + _HEADER.size == len(data):
                return data[_HEADER.size:]
            self._pending += data                # anything else: as below
        if self._big is None:
            buf = self._pending                  # += below extends it in place: a Timeout keeps it
            while len(buf) < _HEADER.size:
                buf += self._read(_SMALL)
            size = _HEADER.unpack_from(buf)[0]
            end = _HEADER.size + size
            if len(buf) >= end:
                message, self._pending = buf[_HEADER.size:end], buf[end:]
                return message
            message = bytearray(size)            # a big message: read the rest in place
            have = len(buf) - _HEADER.size
            message[:have] = buf[_HEADER.size:]
            self._pending = bytearray()
            self._big = [message, have]
        big = self._big
        message, size = big[0], len(big[0])
        view = memoryview(message)
        while big[1] < size:
            big[1] += self._read_into(view[big[1]:])
        self._big = None
        return message

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _read(self, size: int) -> bytes:
        try:
            data = self.sock.recv(size)
        except BlockingIOError:              # EAGAIN on a blocking socket: the kernel timeout
            raise Timeout() from None
        if not data:
            raise EOFError("the peer closed the connection")
        return data

    def _read_into(self, view: memoryview) -> int:
        try:
            n = self.sock.recv_into(view)
        except BlockingIOError:
            raise Timeout() from None
        if not n:
            raise EOFError("the peer closed the connection")
        return n

    def _set_timeout(self, timeout: Optional[float]) -> None:
        if timeout == self._timeout:
            return
        seconds = 0.0 if timeout is None else max(float(timeout), 0.000001)   # 0 means "no timeout"
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(seconds))
        self._timeout = timeout

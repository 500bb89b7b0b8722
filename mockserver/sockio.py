"""Socket helpers of the worker-process pipe (``runtime/framing.py``). Kept free of heavy
imports: worker processes load it."""
from __future__ import annotations

import socket
import struct


def timeval(seconds: float) -> bytes:
    """``seconds`` as the ``struct timeval`` that SO_RCVTIMEO / SO_SNDTIMEO take (0: no timeout)."""
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))


def send_pair(sock: socket.socket, head: bytes, body) -> None:
    """Send ``head`` then ``body`` in one ``sendmsg`` (one system call) when the socket takes
    them at once, and whatever it did not take with ``sendall``, in order."""
    sent = sock.sendmsg([head, body])
    if sent < len(head):
        sock.sendall(head[sent:])
        sent = len(head)
    if sent - len(head) < len(body):
        sock.sendall(memoryview(body)[sent - len(head):])

"""The worker pipe's framing (mockserver/runtime/framing.py): whole messages, in order,
whatever the sizes; the peer closing and the receive timeout are told apart."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from mockserver.runtime.framing import FramedSocket, Timeout


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    left, right = FramedSocket(a), FramedSocket(b)
    yield left, right
    left.close()
    right.close()


@pytest.mark.parametrize("size", [0, 1, 100, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 7])
def test_messages_of_any_size_arrive_whole(pair, size):
    left, right = pair
    payload = bytes(i % 251 for i in range(size))
    sender = threading.Thread(target=left.send, args=(payload,))   # big ones need a reader
    sender.start()
    assert right.recv(5) == payload
    sender.join(5)


def test_messages_read_together_are_split_in_order(pair):
    left, right = pair
    raw = left.sock
    # three frames in one write, the last split across two writes
    frames = [b"one", b"", b"three" * 1000]
    data = b"".join(len(f).to_bytes(8, "big") + f for f in frames)
    raw.sendall(data[:-10])
    assert right.recv(5) == b"one"
    assert right.recv(5) == b""
    raw.sendall(data[-10:])
    assert right.recv(5) == b"three" * 1000


def test_a_closed_peer_is_EOFError_and_silence_is_Timeout(pair):
    left, right = pair
    started = time.monotonic()
    with pytest.raises(Timeout):
        right.recv(0.2)
    assert time.monotonic() - started > 0.15       # it waited for its timeout (how much longer is load)
    left.send(b"still usable")                   # a timeout loses nothing
    assert right.recv(None) == b"still usable"
    left.close()
    with pytest.raises(EOFError):
        right.recv(1)


def test_a_peer_that_dies_mid_message_is_EOFError(pair):
    left, right = pair
    left.sock.sendall((1000).to_bytes(8, "big") + b"partial")
    left.close()
    with pytest.raises(EOFError):
        right.recv(1)

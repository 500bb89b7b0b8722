"""A worker's stdout and stderr: fd 1 and fd 2 of the worker (and of everything it starts) are
one pipe drained by a thread, so output never reaches the server's log and a call that asked
for stdout gets exactly its own (capped).

Imported by every worker process: keep it light.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Optional


class OutputDrain:
    """fd 1 and fd 2 of the worker (and of everything it starts) are one pipe, read by a
    thread. A call that wants stdout gets what was written between its start and its end
    (capped); otherwise output is dropped. The boundaries are exact: a sync token written
    to the pipe marks them, and the thread says when it has read up to it."""

    def __init__(self, cap: int):
        self.cap = cap
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        self._w = write_end                  # our own copy: the algorithm may replace fd 1
        self._r = read_end
        self._token = b"\0mockserver-sync-" + os.urandom(8).hex().encode() + b"\0"
        self._lock = threading.Lock()
        self._synced = threading.Semaphore(0)
        self._keep = False
        self._buf = bytearray()
        self._dropped = 0
        start_thread(self._run, "output-drain")

    def _take(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if not self._keep:
                return
            room = self.cap - len(self._buf)
            if room > 0:
                self._buf += data[:room]
            self._dropped += max(0, len(data) - max(room, 0))

    def _run(self) -> None:
        token, tail = self._token, b""
        while True:
            try:
                data = os.read(self._r, 65536)
            except OSError:
                return
            if not data:
                return
            data = tail + data
            tail = b""
            while True:
                i = data.find(token)
                if i < 0:
                    break
                self._take(data[:i])
                data = data[i + len(token):]
                self._synced.release()
            j = data.rfind(b"\0", max(0, len(data) - len(token) + 1))
            if j >= 0 and token.startswith(data[j:]):
                data, tail = data[:j], data[j:]     # maybe the start of a token
            self._take(data)

    def _sync(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:       # noqa: BLE001 - a stream the algorithm closed or broke: nothing to flush
                pass
        try:
            os.write(self._w, self._token)
        except OSError:
            return
        self._synced.acquire(timeout=5)

    def begin(self, keep: bool) -> None:
        if keep:
            self._sync()                      # what earlier calls wrote is not this call's
        with self._lock:
            self._keep = keep
            self._buf = bytearray()
            self._dropped = 0

    def end(self) -> Optional[str]:
        if not self._keep:
            return None
        self._sync()
        with self._lock:
            self._keep = False
            text = self._buf.decode("utf-8", "replace")
            dropped, self._buf = self._dropped, bytearray()
        if dropped:
            text += f"\n[stdout truncated: {dropped} more bytes not shown]\n"
        return text


def start_thread(target, name: str, *args) -> None:
    old = threading.stack_size(256 * 1024)      # small stacks: they count against RLIMIT_AS
    try:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
    finally:
        threading.stack_size(old)

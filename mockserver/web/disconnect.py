"""Tell a running invocation that its HTTP client went away.

waitress documents ``environ["waitress.client_disconnected"]``: a callable that returns True
once the client's connection has closed (with ``channel_request_lookahead`` > 0, which
serve.py sets). One watcher thread polls it for every invocation in flight and sets that
invocation's ``cancelled`` event, so the engine stops the call and frees its slot. Other
servers (the Flask test client) offer no such callable: the event then never fires.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

POLL_S = 0.1


class DisconnectWatch:
    def __init__(self, poll_s: float = POLL_S):
        self.poll_s = poll_s
        self.lock = threading.Lock()
        self.watched: dict[threading.Event, Callable[[], bool]] = {}
        self.thread: threading.Thread | None = None

    @contextmanager
    def watching(self, environ: dict) -> Iterator[threading.Event]:
        """An event set when the request's client disconnects, while the block runs."""
        cancelled = threading.Event()
        gone = environ.get("waitress.client_disconnected")
        if gone is None:
            yield cancelled
            return
        with self.lock:
            self.watched[cancelled] = gone
            if self.thread is None:
                self.thread = threading.Thread(target=self.poll, name="mockserver-disconnects", daemon=True)
                self.thread.start()
        try:
            yield cancelled
        finally:
            with self.lock:
                self.watched.pop(cancelled, None)

    def poll(self) -> None:
        while True:
            time.sleep(self.poll_s)
            with self.lock:
                watched = list(self.watched.items())
            for cancelled, gone in watched:
                try:
                    if gone():
                        cancelled.set()
                except Exception:           # a connection torn down under us: gone too
                    cancelled.set()


watch = DisconnectWatch()

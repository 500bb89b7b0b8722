"""A client that goes away sets its request's ``cancelled`` event (mockserver/web/disconnect.py), under
the same waitress server the mockserver command runs; invocations pass that event to the engine."""
from __future__ import annotations

import socket
import threading
import time

from mockserver.web.disconnect import watch
from mockserver.serving.serve import BackgroundServer
from mockserver.settings import Settings


def waiting_app(results: list, started: threading.Event, done: threading.Event, wait_s: float = 10):
    def app(environ, start_response):
        with watch.watching(environ) as cancelled:
            started.set()
            fired = cancelled.wait(wait_s)
            results.append((fired, time.monotonic()))
        done.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]
    return app


def test_a_client_that_disconnects_sets_the_cancelled_event():
    results, started, done = [], threading.Event(), threading.Event()
    server = BackgroundServer(waiting_app(results, started, done), settings=Settings()).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"POST /v1/algo/demo/Slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
            assert started.wait(10)                  # the request is in the app, watched
            assert not done.is_set()                 # and nothing cancelled it while the client stays
        gone = time.monotonic()
        assert done.wait(10)
        fired, at = results[0]
        assert fired and at >= gone                  # set by the disconnect, not before it
    finally:
        server.stop()


def test_a_client_that_waits_keeps_its_call(monkeypatch):
    results, started, done = [], threading.Event(), threading.Event()
    monkeypatch.setattr(watch, "poll_s", 0.05)
    server = BackgroundServer(waiting_app(results, started, done, wait_s=1.5), settings=Settings()).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
            assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert results[0][0] is False        # waited its whole 1.5 s: never cancelled
    finally:
        server.stop()


def test_without_waitress_the_event_never_fires():
    with watch.watching({}) as cancelled:
        assert not cancelled.wait(0.2)

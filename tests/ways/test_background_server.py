"""The in-process server (serve.BackgroundServer, used by the pytest plugin) stops the way waitress
documents, a KeyboardInterrupt in the thread that runs waitress.serve(): every thread it started
ends, its port closes, and the connections it held are closed."""
from __future__ import annotations

import socket
import threading
import time

import requests

from mockserver.serving.serve import BackgroundServer, interrupt
from mockserver.settings import Settings


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def waitress_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(("waitress", "mockserver-http"))}


def test_stop_ends_its_threads_closes_its_port_and_its_connections():
    before = waitress_threads()
    server = BackgroundServer(hello, settings=Settings(), threads=3).start()
    assert requests.get(f"http://127.0.0.1:{server.port}/", timeout=5).text == "hello"
    assert len(waitress_threads() - before) == 4                # the loop and 3 request threads
    kept = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    kept.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello"):                        # head and body may come apart
        chunk = kept.recv(65536)
        assert chunk, answer
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")                  # a kept-alive connection
    server.stop()
    assert waitress_threads() - before == set()
    assert kept.recv(65536) == b""                              # closed by the server
    kept.close()
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        raise AssertionError("the port still accepts connections")
    except ConnectionRefusedError:
        pass


def test_a_server_never_started_stops():
    server = BackgroundServer(hello, settings=Settings())
    server.stop()
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        raise AssertionError("the port still accepts connections")
    except ConnectionRefusedError:
        pass


def test_interrupt_raises_keyboard_interrupt_in_that_thread():
    seen, started = [], threading.Event()

    def loop():
        started.set()
        try:
            while True:
                time.sleep(0.01)
        except KeyboardInterrupt:
            seen.append("interrupted")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    assert started.wait(5)
    assert interrupt(thread)
    thread.join(5)
    assert seen == ["interrupted"] and not thread.is_alive()

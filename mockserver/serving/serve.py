"""Serve a WSGI app the one way this project does: waitress, one process, threads.

waitress reads every request (head and body) and buffers every response in its event-loop
thread, and hands a request to an app thread only once it has fully arrived. A client that
sends slowly or does not read costs a connection and a buffer, never one of the threads,
so slow or hostile clients cannot starve the others (measured in docs/settings.md and docs/speed.md).

Only waitress's documented API is used: ``waitress.serve()`` with arguments from its
"Arguments to waitress.serve" page (the socket is bound here and handed over with ``sockets``),
the ``waitress.client_disconnected`` environ key (web/disconnect.py) and the ``waitress``
logger. ``serve()`` runs until KeyboardInterrupt, waitress's documented way to stop it (Ctrl-C):
the command turns SIGTERM into one, and :class:`BackgroundServer` raises one in its own thread.
What waitress answers by itself (bad request lines, bodies past ``max_request_body_size``, ...)
is its documented behaviour, listed in docs/behaviour.md.

ONE process: the state is in memory and process-local, so a second process would serve a
second, diverging state. There is no setting for more; ``serve`` refuses ``workers != 1``.

    python -m mockserver.serving.serve benchmarks.bare_app:app     # any WSGI app, same settings

Settings (``mockserver.settings.Settings``, from flags or MOCKSERVER_* variables): host, port,
threads (32), workers (only 1), idle_timeout (30 s: a connection that sends or accepts nothing
for that long is closed), connection_limit (1000 open connections), url_prefix,
max_request_bytes / max_upload_bytes (enforced by the app; see :func:`options`).
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import logging
import signal
import socket
import sys
import threading
import time
import warnings

import waitress

from mockserver.app import server_body_bound
from mockserver.control.logs import configure_logging, quiet_injected_drops
from mockserver.runtime import placement
from mockserver.settings import Settings

log = logging.getLogger("mockserver")


def options(settings: Settings, *, threads: int | None = None) -> dict:
    """The documented arguments of ``waitress.serve()`` for the mock (all but the socket): from
    the run's ``settings``, ``threads`` winning when given."""
    s = settings
    return {
        "threads": threads or s.threads,
        "connection_limit": s.connection_limit,
        "channel_timeout": int(s.idle_timeout),
        "cleanup_interval": 2,               # how often idle connections are looked for
        # An outer bound only: the app refuses a body over its route's limit with a 413 error
        # object, so waitress must let every body a route accepts through. Past this bound
        # waitress answers its own text 413 (docs/behaviour.md).
        "max_request_body_size": server_body_bound(s),
        # Keep one request read ahead, so waitress watches the connection while the app runs and
        # environ["waitress.client_disconnected"] tells an invocation that its client went away.
        "channel_request_lookahead": 1,
        "ident": "algorithmia-mock",
        "expose_tracebacks": False,
        # A mount prefix (behind a path router): stripped from PATH_INFO into SCRIPT_NAME, so
        # every link the mock renders carries it.
        "url_prefix": s.url_prefix,
    }


def one_process(settings: Settings, workers: int | None = None) -> None:
    if (settings.workers if workers is None else workers) != 1:
        raise ValueError("the mock serves from ONE process: its state is in that process's memory")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening (port 0: a free port), for ``sockets=``."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)           # connections queue from now on, before waitress's loop runs
    except OSError:
        sock.close()
        raise
    return sock


def _prepare_process() -> None:
    _quiet_queue_warnings()
    quiet_injected_drops()
    _return_big_buffers_to_the_os()


def serve(app, *, settings: Settings, workers: int | None = None) -> None:
    """Serve ``app`` in this (main) thread until SIGINT/SIGTERM, with the run's ``settings``."""
    one_process(settings, workers)
    sock = listening_socket(settings.host, settings.port)
    _prepare_process()
    # Everything built at start-up (the resolved spec, validators, fixtures) lives as long as
    # the process: keep the cyclic GC from walking it again in every full collection. What
    # start-up built and dropped goes first, and the heap pages it freed back to the OS.
    gc.collect()
    _return_freed_heap_to_the_os()
    gc.freeze()
    # Before waitress starts its threads, which inherit the CPU (runtime/placement.py).
    cpu = placement.pin_server(settings.cpu)
    log.info("algorithmia-mock ready (1 process, %s threads, %s)", options(settings)["threads"],
             "every CPU" if cpu is None else f"on CPU {cpu}; worker processes on the others")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)      # docker stop: a clean exit, code 0
    try:
        waitress.serve(app, sockets=[sock], **options(settings))   # returns on KeyboardInterrupt
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sock.close()


def _stop_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt


class BackgroundServer:
    """The same server in a background thread of this process (the pytest plugin, tests):
    ``start()`` returns once it answers, ``port``, ``stop()`` ends it (see :func:`interrupt`).
    ``settings``: the run's (its server options; ``host`` and ``port`` are given apart, by
    default loopback and a free port)."""

    def __init__(self, app, *, settings: Settings, host: str = "127.0.0.1", port: int = 0,
                 threads: int | None = None):
        one_process(settings)
        self.app, self.options = app, options(settings, threads=threads)
        self.sock = listening_socket(host, port)
        self.address = self.sock.getsockname()[:2]
        self.port = self.address[1]
        self.thread = threading.Thread(target=self.serve, name="mockserver-http", daemon=True)

    def serve(self) -> None:
        try:
            waitress.serve(self.app, sockets=[self.sock], **self.options)
        except KeyboardInterrupt:        # stop() before waitress's loop began: nothing to shut down
            pass

    def start(self) -> "BackgroundServer":
        _prepare_process()
        self.thread.start()
        answered_by_waitress(self.address, deadline=time.monotonic() + 30)
        return self

    def stop(self) -> None:
        """waitress's own shutdown (its thread pool ends, as on Ctrl-C), then its sockets close."""
        if self.thread.is_alive():
            interrupt(self.thread)
            _wake(self.address)
            self.thread.join(timeout=15)
        self.sock.close()
        # The connections waitress still held go with their objects, now unreachable cycles.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def interrupt(thread: threading.Thread) -> bool:
    """Raise KeyboardInterrupt in ``thread``, as Ctrl-C does in a main thread: the one way
    ``waitress.serve()`` documents to end serving, here for a server in a background thread.
    CPython's documented ``PyThreadState_SetAsyncExc``; the exception arrives when the thread next
    runs Python code (waitress's loop wakes at least every ``asyncore_loop_timeout``, 1 s)."""
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(KeyboardInterrupt)) == 1


def _connectable(address: tuple) -> tuple:
    host, port = address
    return ("::1" if host == "::" else "127.0.0.1" if host == "0.0.0.0" else host), port


def _wake(address: tuple) -> None:
    """A connection makes waitress's loop return from select() at once (not after up to 1 s)."""
    try:
        socket.create_connection(_connectable(address), timeout=1).close()
    except OSError:
        pass


def answered_by_waitress(address: tuple, deadline: float) -> None:
    """Wait until the server answers a request waitress refuses by itself (the app never sees it):
    its loop is running, so from now on KeyboardInterrupt ends it the documented way."""
    while True:
        try:
            with socket.create_connection(_connectable(address), timeout=5) as probe:
                probe.sendall(b"READY?\r\n\r\n")
                if _read_to_close(probe).startswith(b"HTTP/"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {address[1]} did not answer")
        time.sleep(0.01)


def _read_to_close(sock: socket.socket, limit: int = 65536) -> bytes:
    """The whole answer, read until the server closes: a probe that hangs up first makes
    waitress log a ClientDisconnected whose traceback (kept by any log handler that stores
    records) holds its server, and with it every connection it had, alive after the stop."""
    answer = b""
    while len(answer) < limit:
        chunk = sock.recv(limit)
        if not chunk:
            break
        answer += chunk
    return answer


def _quiet_queue_warnings() -> None:
    # waitress warns "Task queue depth is N" whenever all threads are busy, which under load
    # is every few requests; it says nothing the metrics do not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _return_big_buffers_to_the_os() -> None:
    """Let glibc serve buffers >= 1 MiB (uploads, bodies) from mmap, so freeing them returns
    the memory: by default its mmap threshold climbs after big frees, and per-thread arenas
    then keep many freed 10 MiB bodies resident. Called before the server's threads start."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
        libc.mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
        # Two malloc arenas instead of one per thread (16 here): the GIL serialises Python
        # anyway, and every extra arena keeps its own freed memory resident.
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):   # not glibc: nothing to tune
        pass


def _return_freed_heap_to_the_os() -> None:
    """glibc's malloc_trim(3): give back the free pages inside the heap (start-up's parsing of
    the spec and fixtures leaves a few MiB of them), not only those at its top."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to trim
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or ":" not in argv[0]:
        print("usage: python -m mockserver.serving.serve MODULE:APP", file=sys.stderr)
        return 2
    module, _, name = argv[0].partition(":")
    app = getattr(importlib.import_module(module), name)
    settings = settings_of(app)
    if settings is None:             # not the mock's app: this entry point builds the run's Settings
        settings = Settings.load()
        configure_logging(settings.log_level)
    serve(app, settings=settings)
    return 0


def settings_of(app) -> Settings | None:
    """The Settings a mock app (``create_app``'s, e.g. the WSGI entry's) was built with, so the
    server and the app of one run share them; None for any other WSGI app."""
    server = getattr(app, "extensions", {}).get("mockserver")
    return server.settings if server is not None else None


if __name__ == "__main__":
    raise SystemExit(main())

"""Serve a WSGI app the one way this project does: waitress, one process, threads.

waitress reads every request (head and body) and buffers every response in its event-loop
thread, and hands a request to an app thread only once it has fully arrived. A client that
sends slowly or does not read costs a connection and a buffer, never one of the threads,
so slow or hostile clients cannot starve the others (measured in README.md, "Speed").

ONE process: the state is in memory and process-local, so a second process would serve a
second, diverging state. There is no setting for more; ``serve`` refuses ``workers != 1``.

    python -m mockserver.serving.serve benchmarks.bare_app:app     # any WSGI app, same settings

Settings (environment): MOCKSERVER_HOST, MOCKSERVER_PORT, MOCKSERVER_THREADS (16),
MOCKSERVER_IDLE_TIMEOUT (30 s: a connection that sends or accepts nothing for that long is
closed), MOCKSERVER_REQUEST_DEADLINE (60 s from a request's first byte to its last),
MOCKSERVER_CONNECTION_LIMIT (1000 open connections), MOCKSERVER_LOG_LEVEL.
"""
from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import sys
import time

from mockserver.settings import MiB

DEFAULT_THREADS = 16
# The seeds' request size limit (Settings.max_request_bytes). waitress refuses a body past it
# before the app runs: a declared Content-Length at once, unread; a chunked body as soon as it
# passes the limit (a 413 error object from JsonErrorTask, connection closed).
MAX_BODY_BYTES = 10 * MiB


def options(host: str | None = None, port: int | None = None, threads: int | None = None) -> dict:
    """waitress's adjustments for the mock (documented options only)."""
    env = os.environ
    return {
        "host": host or env.get("MOCKSERVER_HOST", "127.0.0.1"),
        "port": int(port if port is not None else env.get("MOCKSERVER_PORT", "8080")),
        "threads": int(threads or env.get("MOCKSERVER_THREADS", DEFAULT_THREADS)),
        "connection_limit": int(env.get("MOCKSERVER_CONNECTION_LIMIT", "1000")),
        "channel_timeout": int(float(env.get("MOCKSERVER_IDLE_TIMEOUT", env.get("MOCKSERVER_BODY_TIMEOUT", "30")))),
        "cleanup_interval": 2,               # how often idle connections are looked for
        "max_request_body_size": MAX_BODY_BYTES,
        # Keep one request read ahead, so waitress watches the connection while the app runs and
        # environ["waitress.client_disconnected"] tells an invocation that its client went away.
        "channel_request_lookahead": 1,
        "ident": "algorithmia-mock",
        "expose_tracebacks": False,
        # A mount prefix (behind a path router): stripped from PATH_INFO into SCRIPT_NAME, so
        # every link the mock renders carries it.
        "url_prefix": env.get("MOCKSERVER_URL_PREFIX", ""),
    }


def request_deadline_s() -> float:
    return float(os.environ.get("MOCKSERVER_REQUEST_DEADLINE", "60"))


def create(app, *, workers: int = 1, socket_map: dict | None = None, **kw):
    """A waitress server for ``app``, bound but not yet serving (``.run()`` serves;
    ``.effective_port`` is the bound port, useful with port 0)."""
    if workers != 1:
        raise ValueError("the mock serves from ONE process: its state is in that process's memory")
    from waitress import create_server
    _quiet_queue_warnings()
    _return_big_buffers_to_the_os()
    server = create_server(app, map=socket_map, **options(**kw))
    server.channel_class = json_error_channel()    # a public class attribute of waitress's server
    return server


def json_error_channel():
    """waitress's connection class, with its own early errors (bad request line or chunking,
    headers too large, body over the limit) answered as Algorithmia error objects instead of
    text. They always close the connection, and say so."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    from mockserver.errors import INTERNAL, REQUEST_INVALID, ApiError
    from mockserver.edge.jsonio import dumps_bytes

    class JsonErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error                 # a waitress.utilities.Error
            message = f"{error.reason}: {error.body}".rstrip(": ")
            code = INTERNAL if error.code >= 500 else REQUEST_INVALID
            body = dumps_bytes(ApiError(code, message, error.code).body())
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", "application/json"), ("Connection", "close")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    deadline = request_deadline_s()

    class JsonErrorChannel(HTTPChannel):
        """Also an overall deadline for a request's head and body: a client that keeps
        trickling bytes resets the idle timeout forever, so past the deadline since its
        request's first byte the connection is closed (no thread was ever held)."""
        error_task_class = JsonErrorTask
        request_started = 0.0

        def received(self, data):
            if data:
                now = time.monotonic()
                if self.request is None:                # these bytes begin a new request
                    self.request_started = now
                elif now - self.request_started > deadline:
                    self.will_close = True
                    return False
            return super().received(data)

    return JsonErrorChannel


def serve(app, **kw) -> None:
    """Serve until SIGINT/SIGTERM (waitress exits on both)."""
    server = create(app, **kw)
    # Everything built at start-up (the resolved spec, validators, fixtures) lives as long as
    # the process: keep the cyclic GC from walking it again in every full collection. What
    # start-up built and dropped goes first, and the heap pages it freed back to the OS.
    gc.collect()
    _return_freed_heap_to_the_os()
    gc.freeze()
    logging.getLogger("mockserver").info("algorithmia-mock ready (1 process, %s threads)",
                                         server.adj.threads)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)      # docker stop: a clean exit, code 0
    try:
        server.run()                                     # returns on KeyboardInterrupt
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt


class BackgroundServer:
    """The same server in a background thread of this process (the pytest plugin, tests):
    ``start()``, ``port``, ``stop()``. The thread runs waitress's event loop in short turns so
    that ``stop()`` ends it within a turn and closes every connection."""

    TURN_S = 0.1

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int | None = None):
        import threading
        self.socket_map: dict = {}
        self.server = create(app, host=host, port=port, threads=threads, socket_map=self.socket_map)
        self.port = self.server.effective_port
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="mockserver-http", daemon=True)

    def start(self) -> "BackgroundServer":
        self.thread.start()
        return self

    def loop(self) -> None:
        from waitress import wasyncore
        while not self.stopping.is_set():
            wasyncore.loop(timeout=self.TURN_S, map=self.socket_map, count=1)
        wasyncore.close_all(self.socket_map)
        self.server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)


def _quiet_queue_warnings() -> None:
    # waitress warns "Task queue depth is N" whenever all threads are busy, which under load
    # is every few requests; it says nothing the metrics do not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _return_big_buffers_to_the_os() -> None:
    """Let glibc serve buffers >= 1 MiB (uploads, bodies) from mmap, so freeing them returns
    the memory: by default its mmap threshold climbs after big frees, and per-thread arenas
    then keep many freed 10 MiB bodies resident. Called before the server's threads start."""
    try:
        import ctypes
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
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to trim
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or ":" not in argv[0]:
        print("usage: python -m mockserver.serving.serve MODULE:APP", file=sys.stderr)
        return 2
    module, _, name = argv[0].partition(":")
    from mockserver.control.logs import configure_logging
    configure_logging(os.environ.get("MOCKSERVER_LOG_LEVEL", "info"))
    serve(getattr(importlib.import_module(module), name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

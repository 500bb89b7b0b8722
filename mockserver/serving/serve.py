"""Serve a WSGI app the one way this project does: waitress, one process, threads.

waitress reads every request (head and body) and buffers every response in its event-loop
thread, and hands a request to an app thread only once it has fully arrived. A client that
sends slowly or does not read costs a connection and a buffer, never one of the threads,
so slow or hostile clients cannot starve the others (measured in docs/settings.md and docs/speed.md).

ONE process: the state is in memory and process-local, so a second process would serve a
second, diverging state. There is no setting for more; ``serve`` refuses ``workers != 1``.

    python -m mockserver.serving.serve benchmarks.bare_app:app     # any WSGI app, same settings

Settings (``mockserver.settings.Settings``, from flags or MOCKSERVER_* variables): host, port,
threads (32), workers (only 1), idle_timeout (30 s: a connection that sends or accepts nothing
for that long is closed), request_deadline (60 s from a request's first byte to its last),
connection_limit (1000 open connections), url_prefix, max_request_bytes / max_upload_bytes.
"""
from __future__ import annotations

import email.utils
import gc
import importlib
import logging
import signal
import sys
import time

from mockserver.control.logs import configure_logging
from mockserver.web.jsonio import dumps_bytes
from mockserver.errors import INTERNAL, REQUEST_INVALID, ApiError
from mockserver.settings import Settings


def options(settings: Settings | None = None, *, host: str | None = None, port: int | None = None,
            threads: int | None = None) -> dict:
    """waitress's adjustments for the mock (documented options only): from ``settings`` (default:
    the environment's), ``host``/``port``/``threads`` winning when given."""
    s = settings or Settings.load()
    return {
        "host": host or s.host,
        "port": s.port if port is None else int(port),
        "threads": threads or s.threads,
        "connection_limit": s.connection_limit,
        "channel_timeout": int(s.idle_timeout),
        "cleanup_interval": 2,               # how often idle connections are looked for
        # The request size limit (the seeds: 10 MiB). waitress refuses a body past it before the
        # app runs: a declared Content-Length at once, unread; a chunked body as soon as it passes
        # the limit (a 413 error object from JsonErrorTask, connection closed).
        "max_request_body_size": max(s.max_request_bytes, s.max_upload_bytes),
        # Keep one request read ahead, so waitress watches the connection while the app runs and
        # environ["waitress.client_disconnected"] tells an invocation that its client went away.
        "channel_request_lookahead": 1,
        "ident": "algorithmia-mock",
        "expose_tracebacks": False,
        # A mount prefix (behind a path router): stripped from PATH_INFO into SCRIPT_NAME, so
        # every link the mock renders carries it.
        "url_prefix": s.url_prefix,
    }


def create(app, *, settings: Settings | None = None, workers: int | None = None, socket_map: dict | None = None,
           **kw):
    """A waitress server for ``app``, bound but not yet serving (``.run()`` serves;
    ``.effective_port`` is the bound port, useful with port 0). ``settings``: the server's
    (the app's own, for the mock); default, the environment's."""
    settings = settings or Settings.load()
    if (settings.workers if workers is None else workers) != 1:
        raise ValueError("the mock serves from ONE process: its state is in that process's memory")
    from waitress import create_server
    _quiet_queue_warnings()
    _return_big_buffers_to_the_os()
    server = create_server(app, map=socket_map, **options(settings, **kw))
    server.channel_class = json_error_channel(settings.request_deadline)    # a public class attribute
    return server


def json_error_channel(deadline: float):
    """waitress's connection class, with its own early errors (bad request line or chunking,
    headers too large, body over the limit) answered as Algorithmia error objects instead of
    text. They always close the connection, and say so."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask


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

    class JsonErrorChannel(HTTPChannel):
        """Also an overall deadline for a request's head and body: a client that keeps
        trickling bytes resets the idle timeout forever, so past the deadline since its
        request's first byte the connection is closed (no thread was ever held).
        And a body cut short, the client closing its side before the declared length (or the
        last chunk) arrived, is answered with a 400 error object before the connection closes:
        the request never reaches the app."""
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

        def handle_close(self):
            # Reached from the read that saw the client's end of stream, before anything is
            # closed; closes that waitress decided (timeouts, deadline, errors) set will_close
            # first and stay silent.
            request = self.request
            if (not self.will_close and not self.requests and request is not None
                    and request.headers_finished and not request.completed):
                self.answer_incomplete_body(request)
            super().handle_close()

        def answer_incomplete_body(self, request) -> None:
            declared = "the last chunk" if request.chunked else f"{request.content_length} bytes (Content-Length)"
            body = dumps_bytes(ApiError(REQUEST_INVALID, "Incomplete request body: the client closed the connection "
                                        f"before {declared} arrived", 400).body())
            head = (f"HTTP/1.1 400 Bad Request\r\nServer: {self.adj.ident}\r\n"
                    f"Date: {email.utils.formatdate(usegmt=True)}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            try:
                self.socket.send(head.encode("latin-1") + body)   # small: fits the socket's buffer
            except OSError:                 # the client is gone altogether: nobody to answer
                pass

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

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int | None = None,
                 settings: Settings | None = None):
        import threading
        self.socket_map: dict = {}
        self.server = create(app, settings=settings, host=host, port=port, threads=threads,
                             socket_map=self.socket_map)
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
    settings = Settings.load()
    configure_logging(settings.log_level)
    serve(getattr(importlib.import_module(module), name), settings=settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

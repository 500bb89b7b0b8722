"""Log lines: one structured (JSON) access line per request, written in batches.

An error answer's line carries its error code and message (:func:`explanation`), as does its
journal entry: clients such as ``algorithmia`` 2.0.5 show only ``<Response [404]>``, so the
log and the dashboard are where a user reads why. :class:`AccessLog` writes the line of the
answers made outside the Flask app (git's, an unknown sandbox's 404).

A ``StreamHandler`` writes and flushes every record, a system call per request on the
hot path; under the server's threads each one also hands the GIL to another thread.
So :func:`configure_logging` uses the standard library's pair: a ``QueueHandler`` on
the request's thread only queues the record, and a ``QueueListener`` thread hands the
records to a :class:`LineWriter`, which collects lines and writes them in one call
whenever the queue runs empty (warnings and errors at once; everything on exit).
Records still go through :mod:`logging`, so pytest's caplog and embedding apps see
them as usual.
"""
from __future__ import annotations

import atexit
import logging
import queue
import sys
import time
from logging.handlers import QueueHandler, QueueListener
from typing import Any, Callable, Iterable, Optional

import orjson

from mockserver.control.faults import InjectedDrop
from mockserver.web.jsonio import dumps_bytes

access_log = logging.getLogger("mockserver.access")


def log_request(method: str, path: str, status: int, duration_ms: float, request_id: str, **extra) -> None:
    """The access line of one request, at INFO on ``mockserver.access``."""
    if access_log.isEnabledFor(logging.INFO):
        fields = {"ts": round(time.time(), 3), "level": "info", "event": "request",
                  "method": method, "path": path, "status": status,
                  "duration_ms": round(duration_ms, 3), "request_id": request_id}
        fields.update((k, v) for k, v in extra.items() if v is not None)
        line = dumps_bytes(fields).decode("utf-8")
        # makeRecord + handle is what .info() does minus findCaller's stack walk.
        record = access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, line, None, None, "log_request")
        sink = _only_listener()
        if sink is not None:
            sink.enqueue(record)      # nobody else listens, and the line is final: skip prepare()'s copy
        else:
            access_log.handle(record)


MESSAGE_CHARS = 1000        # of an error message in a log line or journal entry
LOGGED_KEY = "mockserver.logged"     # environ: the Flask app wrote this request's access line


def explanation(body: bytes, content_type: str | None) -> dict[str, Any] | None:
    """``{"code", "message"}`` of an error answer's body: an Algorithmia error object (``code``
    None in the invocation and bare shapes), or a text answer (git's); None when it has neither."""
    code, message = None, None
    if (content_type or "").startswith("application/json"):
        try:
            error = orjson.loads(body).get("error")
        except (orjson.JSONDecodeError, AttributeError):
            error = None
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
        elif isinstance(error, str):
            message = error
    elif (content_type or "").startswith("text/plain"):
        message = body.decode("utf-8", errors="replace").strip()
    if not isinstance(message, str) or not message:
        return None
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + f"... [{len(message) - MESSAGE_CHARS} more characters]"
    return {"code": code if isinstance(code, int) else None, "message": message}


class AccessLog:
    """WSGI middleware: the access line of an answer the Flask app did not log itself (its
    after_request hook marks ``environ[LOGGED_KEY]``), with the explanation of an error.
    ``on_answer(environ, status, duration_ms, error)``, when given, is told of each such answer
    (the composition root journals git's there)."""

    def __init__(self, app: Callable, on_answer: Optional[Callable[[dict, int, float, Any], None]] = None):
        self.app = app
        self.on_answer = on_answer

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        answer: dict[str, Any] = {}

        def remember(status: str, headers: list, exc_info: Any = None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, remember)
        if environ.get(LOGGED_KEY) or "status" not in answer:
            return body
        status = int(answer["status"][:3])
        error = None
        if status >= 400:
            body = list(body)                    # an error answer made here is one short piece
            content_type = next((v for k, v in answer["headers"] if k.lower() == "content-type"), None)
            error = explanation(b"".join(body), content_type)
        duration_ms = (time.perf_counter() - started) * 1000
        log_request(environ.get("REQUEST_METHOD", ""), environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                    status, duration_ms, "",
                    operation="git" if environ.get("PATH_INFO", "").startswith("/git/") else "unmatched",
                    error_code=error and error["code"], error_message=error and error["message"])
        if self.on_answer is not None:
            self.on_answer(environ, status, duration_ms, error)
        return body


_installed: "QueueHandler | None" = None   # by configure_logging
_mockserver_log = logging.getLogger("mockserver")


def _only_listener() -> "QueueHandler | None":
    """The handler configure_logging installed, when it is the only place access lines go."""
    if (_installed is not None and not access_log.handlers and not access_log.filters
            and not _mockserver_log.propagate and _mockserver_log.handlers == [_installed]):
        return _installed
    return None


class LineWriter(logging.StreamHandler):
    """A stream handler that collects formatted lines and writes them on :meth:`flush`, in one
    call (at once for warnings and errors)."""

    def __init__(self, stream=None):
        super().__init__(stream)
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:   # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)
            return
        with self.lock:
            self._lines.append(line + self.terminator)
        if record.levelno >= logging.WARNING:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self._lines = self._lines, []
            if not lines:
                return
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):   # stream closed at exit, or a broken pipe: drop
                pass


class BatchingListener(QueueListener):
    """A ``QueueListener`` that flushes its handlers whenever the queue runs empty, so lines
    that arrive together are written together."""

    def dequeue(self, block: bool):
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            for handler in self.handlers:
                handler.flush()
        return self.queue.get(block)

    def stop(self) -> None:
        """Handle every queued record, write it, and end the thread."""
        super().stop()
        for handler in self.handlers:
            handler.flush()


def batching_handler(stream=None) -> tuple[QueueHandler, BatchingListener]:
    """A QueueHandler for the loggers and the started listener that writes its lines to ``stream``."""
    records: queue.SimpleQueue = queue.SimpleQueue()
    writer = LineWriter(stream if stream is not None else sys.stderr)
    writer.setFormatter(logging.Formatter("%(message)s"))
    listener = BatchingListener(records, writer, respect_handler_level=True)
    listener.start()
    return QueueHandler(records), listener


def configure_logging(level: str) -> None:
    """Send mockserver's log lines to stderr at ``level`` (the CLI, the WSGI entry).

    Leaves an already configured root logger alone (pytest, embedding apps), but
    always applies the level to the ``mockserver`` loggers.
    """
    global _installed
    logger = logging.getLogger("mockserver")
    logger.setLevel(level.upper())
    if not logging.getLogger().handlers and not logger.handlers:
        handler, listener = batching_handler()
        atexit.register(listener.stop)
        logger.addHandler(handler)
        # waitress.serve() configures the root logger (logging.basicConfig()) when it starts:
        # mockserver's lines stay on this handler only, not printed twice.
        logger.propagate = False
        _installed = handler


def _not_an_injected_drop(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, InjectedDrop)


def quiet_injected_drops() -> None:
    """waitress logs every answer an application aborts, with its traceback, on its documented
    ``waitress`` logger; an injected ``drop`` fault aborts on purpose (control/faults.py)."""
    waitress_log = logging.getLogger("waitress")
    if _not_an_injected_drop not in waitress_log.filters:
        waitress_log.addFilter(_not_an_injected_drop)

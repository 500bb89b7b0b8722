"""Log lines: one structured (JSON) access line per request, written in batches.

A ``StreamHandler`` writes and flushes every record, a system call per request on the
hot path; under gunicorn's threads each one also hands the GIL to another thread.
``BatchingStreamHandler`` queues formatted lines and a background thread writes them
every ``interval`` seconds (warnings and errors are written at once, and everything
queued is written on exit). Records still go through :mod:`logging`, so pytest's
caplog and embedding apps see them as usual.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from mockserver.edge.jsonio import dumps_bytes

access_log = logging.getLogger("mockserver.access")


def log_request(method: str, path: str, status: int, duration_ms: float, request_id: str, **extra) -> None:
    """The access line of one request, at INFO on ``mockserver.access``."""
    if access_log.isEnabledFor(logging.INFO):
        fields = {"ts": round(time.time(), 3), "level": "info", "event": "request",
                  "method": method, "path": path, "status": status,
                  "duration_ms": round(duration_ms, 3), "request_id": request_id}
        fields.update((k, v) for k, v in extra.items() if v is not None)
        line = dumps_bytes(fields).decode("utf-8")
        sink = _only_listener()
        if sink is not None:
            sink.enqueue(line)        # nobody else listens: skip building a LogRecord
        else:
            # makeRecord + handle is what .info() does minus findCaller's stack walk.
            access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, line, None, None,
                                                    "log_request"))


_installed: "BatchingStreamHandler | None" = None   # by configure_logging
_mockserver_log = logging.getLogger("mockserver")
_root_log = logging.getLogger()


def _only_listener() -> "BatchingStreamHandler | None":
    """The handler configure_logging installed, when it is the only place access lines go."""
    if (_installed is not None and not access_log.handlers and not access_log.filters
            and not _root_log.handlers and _mockserver_log.handlers == [_installed]):
        return _installed
    return None


class BatchingStreamHandler(logging.StreamHandler):
    """A stream handler that writes queued lines every ``interval`` seconds from its own thread."""

    def __init__(self, stream=None, interval: float = 0.1):
        super().__init__(stream)
        self.interval = interval
        self._pending: deque[str] = deque()   # append / popleft are atomic: no lock per line
        self._wake = threading.Event()
        self._flushing = False
        # The flusher thread does not survive gunicorn's fork: the child starts its own.
        os.register_at_fork(after_in_child=self._forget_flusher)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:   # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)
            return
        self.enqueue(line)
        if record.levelno >= logging.WARNING:
            self.flush()

    def enqueue(self, line: str) -> None:
        """Queue one line for the next write."""
        self._pending.append(line + self.terminator)
        if not self._flushing:
            self._start_flusher()

    def flush(self) -> None:
        with self.lock:
            lines, pending = [], self._pending
            while pending:
                lines.append(pending.popleft())
            if not lines:
                return
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):   # stream closed at exit, or a broken pipe: drop
                pass

    def _start_flusher(self) -> None:
        with self.lock:
            if self._flushing:
                return
            self._flushing = True
        threading.Thread(target=self._flush_forever, name="log-flusher", daemon=True).start()

    def _forget_flusher(self) -> None:
        self._flushing = False

    def _flush_forever(self) -> None:
        while not self._wake.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self.flush()
        self._wake.set()
        super().close()


def configure_logging(level: str) -> None:
    """Send mockserver's log lines to stderr at ``level`` (gunicorn / wsgi entry, CLI).

    Leaves an already configured root logger alone (pytest, embedding apps), but
    always applies the level to the ``mockserver`` loggers.
    """
    global _installed
    logger = logging.getLogger("mockserver")
    logger.setLevel(level.upper())
    if not logging.getLogger().handlers and not logger.handlers:
        handler = BatchingStreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        _installed = handler

"""Exceptions raised by :meth:`Engine.invoke` and the error types it reports.

``invoke()`` reports failures *of the callable* inside ``Outcome.error`` (a dict
``{"message", "error_type", "stacktrace"}``). It raises only for problems the
HTTP layer answers itself:

* :class:`BadInput`   -- the request body cannot be decoded for its Content-Type.
* :class:`QueueFull`  -- more than ``profile.queue_limit`` calls already wait for
  a slot of this algorithm version.
* :class:`EngineClosed` -- ``invoke()`` after ``shutdown()``.

Each carries a human-readable ``.message``.
"""
from __future__ import annotations

from enum import Enum

# error_type values, as the real platform names them (Algorithmia docs,
# "Algorithm Error Codes" and the admin "Errors" page; "LoadingError" is what
# the ADK reports when load() raised).
ALGORITHM_ERROR = "AlgorithmError"
SYSTEM_ERROR = "SystemError"
OUT_OF_MEMORY_ERROR = "OutOfMemoryError"
LOADING_ERROR = "LoadingError"


def call_error(message: str, error_type: str = SYSTEM_ERROR) -> dict:
    """An ``Outcome.error``: ``{"message", "error_type", "stacktrace"}`` without a stacktrace."""
    return {"message": message, "error_type": error_type, "stacktrace": ""}


class StopReason(str, Enum):
    """Why the engine stops a worker (``kill_reason``) or hands a queued call back (``_Waiter.error``)."""
    RETRY = "retry"              # the pool was replaced: the queued call tries again
    RESET = "reset"              # Engine.reset(): the server state was reset
    SHUTDOWN = "shutdown"        # Engine.shutdown()
    CANCELLED = "cancelled"      # the client went away
    TIMEOUT = "timeout"          # the call ran out of time
    STOPPED = "stopped"          # retired (idle, broken, or replaced)


def aborted_error(reason: StopReason) -> dict:
    """The error of a call aborted because the engine was reset or shut down."""
    why = "the server is shutting down" if reason == StopReason.SHUTDOWN else "the server state was reset"
    return call_error(f"Algorithm call aborted: {why}")


class RuntimeFailure(Exception):
    """Base class of the exceptions ``invoke()`` raises."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(RuntimeFailure):
    """The request body cannot be decoded (e.g. invalid JSON for application/json)."""


class QueueFull(RuntimeFailure):
    """Too many calls are already waiting for a slot of this algorithm version."""

    def __init__(self, message: str, key: str = "", queued: int = 0, limit: int = 0):
        super().__init__(message)
        self.key = key
        self.queued = queued
        self.limit = limit


class KeyBusy(QueueFull):
    """The calling API key already has as many calls running as it may (``invocations_per_key``)."""


class EngineClosed(RuntimeFailure):
    """The engine has been shut down."""


class BindingError(RuntimeFailure):
    """A binding cannot be resolved (missing file/module/function). Internal:
    ``check_binding`` turns it into a message, ``invoke`` into a LoadingError."""

"""What can go wrong in the runtime, as types.

A failure *of the callable* is a :class:`CallError` in ``Outcome.error`` (``message``,
``error_type``, ``stacktrace``). :meth:`Engine.invoke` raises only for calls that never ran:

* :class:`BadInput`     -- the request body cannot be decoded for its Content-Type.
* :class:`QueueFull`    -- more than ``profile.queue_limit`` calls already wait for a slot of
  this algorithm version; its subclasses :class:`KeyBusy` (the caller's API key has
  ``invocations_per_key`` calls in flight) and :class:`ServerBusy` (the server-wide call pool,
  or this sandbox's share of it, is full: :mod:`.admission`).
* :class:`EngineClosed` -- ``invoke()`` after ``shutdown()``.

:meth:`Engine.check_binding` raises :class:`ChecksBusy` when the server-wide pool of binding
checks (or this sandbox's share) is full; a build's slot refused is :class:`BuildsBusy`; a process
that cannot start because the server's process cap is reached is :class:`ProcessesBusy` (a
:class:`ServerBusy`). Each exception carries a human-readable ``.message``;
the refusals also ``.retry_after`` (seconds, for a ``Retry-After`` header).

Imported by every worker process: keep it light.
"""
from __future__ import annotations

from enum import Enum
from typing import NamedTuple

# error_type values, as the real platform names them (Algorithmia docs,
# "Algorithm Error Codes" and the admin "Errors" page; "LoadingError" is what
# the ADK reports when load() raised).
ALGORITHM_ERROR = "AlgorithmError"
SYSTEM_ERROR = "SystemError"
OUT_OF_MEMORY_ERROR = "OutOfMemoryError"
LOADING_ERROR = "LoadingError"

RETRY_AFTER_S = 1        # what a refused call or check is told to wait before trying again


class CallError(NamedTuple):
    """Why a call failed: what the invocation answer's ``error`` object reports. ``stacktrace``
    holds the algorithm's own frames only ("" when the failure was not an exception of its code).
    (A NamedTuple, not a dataclass: worker processes import this, and dataclasses imports inspect.)"""
    message: str
    error_type: str = ALGORITHM_ERROR
    stacktrace: str = ""


def call_error(message: str, error_type: str = SYSTEM_ERROR) -> CallError:
    """A :class:`CallError` without a stacktrace (a failure the runtime, not the code, saw)."""
    return CallError(message, error_type)


class StopReason(str, Enum):
    """Why the engine stops a worker (``kill_reason``) or hands a queued call back (``Waiter.error``)."""
    RETRY = "retry"              # the pool was replaced: the queued call tries again
    RESET = "reset"              # Engine.reset(): the server state was reset
    SHUTDOWN = "shutdown"        # Engine.shutdown()
    CANCELLED = "cancelled"      # the client went away
    TIMEOUT = "timeout"          # the call ran out of time
    STOPPED = "stopped"          # retired (idle, broken, or replaced)


def aborted_error(reason: StopReason) -> CallError:
    """The error of a call aborted because the engine was reset or shut down."""
    why = "the server is shutting down" if reason == StopReason.SHUTDOWN else "the server state was reset"
    return call_error(f"Algorithm call aborted: {why}")


def cancelled_error() -> CallError:
    return call_error("Algorithm call cancelled: the client went away")


class RuntimeFailure(Exception):
    """Base class of the exceptions the engine raises."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(RuntimeFailure):
    """The request body cannot be decoded (e.g. invalid JSON for application/json)."""


class QueueFull(RuntimeFailure):
    """Too many calls are already waiting for a slot of this algorithm version."""

    def __init__(self, message: str, key: str = "", queued: int = 0, limit: int = 0,
                 retry_after: float = RETRY_AFTER_S):
        super().__init__(message)
        self.key = key
        self.queued = queued
        self.limit = limit
        self.retry_after = retry_after


class KeyBusy(QueueFull):
    """The calling API key already has as many calls running as it may (``invocations_per_key``)."""


class ServerBusy(QueueFull):
    """The server-wide pool of calls, or this sandbox's share of it, is full."""


class ChecksBusy(RuntimeFailure):
    """The server-wide pool of binding checks, or this sandbox's share of it, is full."""

    def __init__(self, message: str, retry_after: float = RETRY_AFTER_S):
        super().__init__(message)
        self.retry_after = retry_after


class BuildsBusy(RuntimeFailure):
    """The server-wide pool of builds (pushes, compiles), or this sandbox's share of it, is full."""

    def __init__(self, message: str, retry_after: float = RETRY_AFTER_S):
        super().__init__(message)
        self.retry_after = retry_after


class ProcessesBusy(ServerBusy):
    """The server's cap on live worker and checker processes is reached and no idle one can be
    stopped to make room (every process serves a call, check or build right now)."""


class NoWorkerUid(RuntimeFailure):
    """As root: no uid of ``--worker-uids`` is free for a new commit (none could be recycled)."""


class EngineClosed(RuntimeFailure):
    """The engine has been shut down."""


class BindingError(RuntimeFailure):
    """A binding cannot be resolved (missing file/module/function). Internal:
    ``check_binding`` turns it into a message, ``invoke`` into a LoadingError."""


class WorkerDied(Exception):
    """A worker (process or in-process) can no longer answer: it crashed, timed out or was
    cancelled, killed or stopped; ``error`` is what the call reports."""

    def __init__(self, error: CallError, timed_out: bool = False):
        super().__init__(error.message)
        self.error = error
        self.timed_out = timed_out

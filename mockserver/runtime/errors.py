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

# error_type values, as the real platform names them (Algorithmia docs,
# "Algorithm Error Codes" and the admin "Errors" page; "LoadingError" is what
# the ADK reports when load() raised).
ALGORITHM_ERROR = "AlgorithmError"
SYSTEM_ERROR = "SystemError"
OUT_OF_MEMORY_ERROR = "OutOfMemoryError"
LOADING_ERROR = "LoadingError"


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

"""Why a call of /v1/algo did not run: the domain's typed answers, which api/invoke.py renders
in the invocation error shape (seed 004: ``{"error": {"message", "error_type"}}``)."""
from __future__ import annotations

from mockserver.errors import Kind


class CallRefused(Exception):
    """Too many calls in flight: for its API key, its algorithm version's queue or the server
    (all sandboxes, or this sandbox's share). Nothing ran and nothing is recorded; the caller
    may try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class CannotRun(Exception):
    """The algorithm's code cannot run here (its language) or is gone from its repository;
    ``kind`` gives the status."""

    def __init__(self, kind: Kind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

"""Handlers by OpenAPI operationId: each handler module of api/ and control/ has one
``Handlers`` registry; the composition root (``mockserver.app.all_handlers``) merges them and
turns each operation's path into a Flask rule, so the spec decides what routes exist."""
from __future__ import annotations

from typing import Callable


class Handlers:
    """operationId -> handler for one resource module."""

    def __init__(self) -> None:
        self.by_operation: dict[str, Callable] = {}

    def __call__(self, *operation_ids: str):
        def register(fn: Callable) -> Callable:
            for operation_id in operation_ids:
                self.by_operation[operation_id] = fn
            return fn
        return register

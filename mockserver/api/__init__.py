"""Thin HTTP handlers, one module per resource: parse, call the domain, serialize.

Handlers are registered by OpenAPI operationId; the app factory turns each
operation's path into a Flask rule, so the spec decides what routes exist.
"""
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


def all_handlers() -> dict[str, Callable]:
    from . import admin, algorithms, data, invoke, meta  # noqa: F401  (resource modules)
    merged: dict[str, Callable] = {}
    for module in (meta, admin, algorithms, invoke, data):
        for operation_id, fn in module.ops.by_operation.items():
            if operation_id in merged:
                raise ValueError(f"two handlers for {operation_id}")
            merged[operation_id] = fn
    return merged

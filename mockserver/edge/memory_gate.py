"""Writes refused past the server's memory budget (``--state-memory-mb``, mockserver/memory.py).

Every sandbox's state lives in the server's one process. A request that adds or changes
records (a ``POST``, ``PUT`` or ``PATCH`` under ``/v1``; a ``git push``) is refused with 507
and stores nothing once the process is past the budget, so a tenant who keeps adding records
meets an error object rather than taking every tenant's state down with the process. Reads,
deletes, resets and invocations (which store nothing that lasts) still work: they are how a
tenant makes room.
"""
from __future__ import annotations

from typing import Iterable, Optional

from mockserver.errors import STATE_MEMORY_FULL, ApiError
from mockserver.memory import MIB, MemoryBudget

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_INVOCATIONS = frozenset({"invokeAlgorithm", "invokeAlgorithmVersion"})


def write_operations(operations: Iterable) -> frozenset[str]:
    """The ids of the /v1 operations the budget applies to."""
    return frozenset(op.id for op in operations
                     if op.method in _WRITE_METHODS and op.path.startswith("/v1/") and op.id not in _INVOCATIONS)


def refusal(budget: MemoryBudget, what: str = "this request") -> Optional[ApiError]:
    """The 507 error object when the process is past its budget, else None."""
    rss = budget.over()
    if rss is None:
        return None
    return ApiError(STATE_MEMORY_FULL, f"The server is out of memory for {what}: it uses {rss / MIB:.1f} MB of "
                    f"its {budget.limit_mb} MB budget (MOCKSERVER_STATE_MEMORY_MB), so nothing more is stored; "
                    "delete what you no longer need, or reset your sandbox (POST /_mock/reset)")


def check(budget: MemoryBudget) -> None:
    """Raise :func:`refusal`'s error object, if any."""
    refused = refusal(budget)
    if refused is not None:
        raise refused

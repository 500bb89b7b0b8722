"""Waiting for a condition by polling it (never by sleeping a fixed margin)."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def until(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll ``condition`` until it answers something true or ``timeout`` seconds pass; its last
    answer (so ``assert until(...)`` fails on a timeout, and a found value comes back)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(interval)
    return condition()

"""Waiting for a condition by polling it (never by sleeping a fixed margin)."""
from __future__ import annotations

import time
from typing import Callable


def until(condition: Callable[[], object], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds pass; its last answer, as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())

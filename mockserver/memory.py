"""The server process's memory (Linux /proc): what its memory budgets compare.

Sandboxes keep their state in this one process, so one tenant who keeps adding records (or
sandboxes) could otherwise grow it until the operating system kills it, and every tenant's
state with it. Two budgets stop that early, with an error object instead:
``--sandbox-memory-mb`` (no new sandbox, control/sandboxes.py) and ``--state-memory-mb`` (no
request that adds or changes records, :class:`MemoryBudget`).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

MIB = 1 << 20


def rss_bytes() -> Optional[int]:
    """This process's resident set size, or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class MemoryBudget:
    """Whether the process is past ``limit_mb`` of RSS (0: no budget). The RSS is read at most
    once per ``interval`` seconds, so a check costs a clock reading on most requests; a burst of
    writes can pass the limit by what it adds within one interval. Threads may race to refresh
    the reading: each stores a whole reading, and either is recent."""

    def __init__(self, limit_mb: int, *, interval: float = 0.1,
                 read: Callable[[], Optional[int]] = rss_bytes, clock: Callable[[], float] = time.monotonic):
        self.limit_mb = max(0, int(limit_mb))
        self._limit = self.limit_mb * MIB
        self._interval, self._read, self._clock = interval, read, clock
        self._reading: tuple[float, Optional[int]] = (float("-inf"), None)     # (when, rss)

    def over(self) -> Optional[int]:
        """The RSS in bytes when it is past the limit, else None (also with no budget, or where
        the RSS cannot be read)."""
        if not self._limit:
            return None
        now = self._clock()
        when, rss = self._reading
        if now - when >= self._interval:
            rss = self._read()
            self._reading = (now, rss)
        return rss if rss is not None and rss > self._limit else None

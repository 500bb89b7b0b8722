"""The server's cap on live processes that run user code: warm workers and checker processes.

Each engine (one per sandbox) caps its own workers (``max_workers``), but idle warm workers of
many sandboxes add up: every one is a Python process holding its algorithm's memory. So the
root server owns one :class:`ProcessBudget` (``--worker-processes-max``), shared by every
sandbox's engine, and every worker and checker process is counted against it from its start
until it is reaped (:class:`~.managed.ManagedWorker`).

When the budget is full, a process about to start first stops the least recently used idle
process of any sandbox (an idle warm worker, or an idle checker): the "holders" that keep idle
processes register here and offer their oldest one. Only when nothing is idle (every counted
process serves a call, a check or a build) is the start refused, at once, with
:class:`ProcessesBusy` (429 with ``Retry-After`` on the wire): never a wait.

Lock order: a holder's lock may be held while it calls :meth:`ProcessBudget.release` (through
stopping a worker); the budget never calls a holder while holding its own lock.
"""
from __future__ import annotations

import logging
import threading
import weakref
from typing import Optional, Protocol

from mockserver.runtime.errors import ProcessesBusy
from mockserver.runtime.reaper import stop_workers

log = logging.getLogger("mockserver.runtime")


class IdleHolder(Protocol):
    """Something that keeps idle processes the budget may stop (an engine's pools, a checker)."""

    def oldest_idle(self) -> Optional[float]:
        """The ``last_used`` time (monotonic) of its least recently used idle process, or None."""

    def evict_oldest_idle(self) -> Optional[object]:
        """Take its least recently used idle process out of service and return it (the caller
        stops it), or None when it has none."""


class ProcessBudget:
    def __init__(self, size: int):
        self.size = max(1, int(size))
        self._lock = threading.Lock()
        self._live: set = set()                    # the counted workers (ManagedWorker)
        self._holders: "weakref.WeakSet[IdleHolder]" = weakref.WeakSet()
        self.evicted = 0
        self.refused = 0

    def register(self, holder: IdleHolder) -> None:
        with self._lock:
            self._holders.add(holder)

    def admit(self, worker, what: str = "a worker process") -> None:
        """Count ``worker`` (about to start). At the cap, stop idle processes of any sandbox,
        least recently used first, until it fits; raises :class:`ProcessesBusy` when none is idle."""
        while True:
            with self._lock:
                if len(self._live) >= self.size:
                    self._prune_locked()
                if len(self._live) < self.size:
                    self._live.add(worker)
                    return
            victim = self._evict_oldest()
            if victim is None:
                with self._lock:
                    self.refused += 1
                    live = len(self._live)
                raise ProcessesBusy(f"the server runs {live} worker and checker processes (limit {self.size}, "
                                    f"--worker-processes-max) and none is idle: {what} cannot start; try again later")
            with self._lock:
                self.evicted += 1
            stop_workers([victim], "an idle process stopped for another's start (--worker-processes-max)")

    def release(self, worker) -> None:
        """``worker`` is gone (reaped, or never started): it no longer counts."""
        with self._lock:
            self._live.discard(worker)

    def live(self) -> int:
        with self._lock:
            return len(self._live)

    def stats(self) -> dict:
        with self._lock:
            return {"limit": self.size, "live": len(self._live), "evicted": self.evicted, "refused": self.refused}

    # -- internals ------------------------------------------------------------------------
    def _prune_locked(self) -> None:
        """Forget counted processes that exited without being closed yet (a crash between
        calls): their owners close them later, and a second release changes nothing."""
        for worker in [w for w in self._live if _exited(w)]:
            self._live.discard(worker)

    def _evict_oldest(self):
        """The least recently used idle process across all holders, taken out of its holder
        (None: nothing is idle). Holders are asked without the budget's lock held."""
        with self._lock:
            holders = list(self._holders)
        for _ in range(len(holders) + 1):
            ages = [(age, index) for index, holder in enumerate(holders)
                    if (age := holder.oldest_idle()) is not None]
            if not ages:
                return None
            _, index = min(ages)
            victim = holders[index].evict_oldest_idle()
            if victim is not None:
                return victim
            # it went busy meanwhile: ask again
        return None


def _exited(worker) -> bool:
    proc = getattr(worker, "proc", None)
    return proc is not None and proc.poll() is not None

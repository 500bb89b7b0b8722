"""Lifecycle: stopping workers, and the idle reaper that lets warm pools go cold.

A warm worker idle for ``profile.idle_s * scale`` seconds is stopped (with ``scale == 0``
never). The reaper is one thread per engine, started on the first call; it sleeps until the
next worker is due and is woken only when a worker going idle is due before that (waking it
on every call would cost a thread switch per invocation).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Iterable, Optional

from mockserver.runtime.profiles import Profile

log = logging.getLogger("mockserver.runtime")


def stop_workers(workers: Iterable, what: str = "a worker") -> None:
    """Stop each worker (and its process tree). A failure to stop one is logged, never raised,
    and never keeps the others from being stopped."""
    for worker in workers:
        try:
            worker.stop()
        except Exception:                 # noqa: BLE001 - logged; the next worker must still be stopped
            log.exception("stopping %s (pid %s) failed; its process may be left running",
                          what, getattr(worker, "pid", None))


class IdleReaper:
    """Stops the idle workers of ``pools`` (a :class:`~mockserver.runtime.pools.Pools`) when due."""

    def __init__(self, pools, scale: float):
        self.pools = pools
        self.scale = scale
        self._thread: Optional[threading.Thread] = None
        self._wake = threading.Event()
        # When the reaper wakes next on its own (monotonic time; None: only when woken).
        self._due: Optional[float] = None

    def idle_timeout(self, profile: Profile) -> Optional[float]:
        if self.scale <= 0:
            return None
        return profile.idle_s * self.scale

    def ensure_started(self) -> None:
        if self._thread is not None or self.scale <= 0:
            return
        with self.pools.lock:
            if self._thread is None and not self.pools.closed:
                self._thread = threading.Thread(target=self._loop, name="mockserver-runtime-reaper", daemon=True)
                self._thread.start()

    def went_idle_locked(self, profile: Profile) -> None:
        """A worker of ``profile`` just went idle (pools lock held): wake the reaper if it is due
        before the reaper's next round."""
        if self.scale <= 0:                # workers never go cold: nothing to wake the reaper for
            return
        limit = self.idle_timeout(profile)
        if limit is not None and not self._wake.is_set() and (
                self._due is None or time.monotonic() + limit < self._due):
            self._wake.set()

    def stop(self) -> None:
        """End the thread (the pools are closed)."""
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)

    def _loop(self) -> None:
        pools = self.pools
        while not pools.closed:
            to_stop: list = []
            next_due: Optional[float] = None
            with pools.lock:
                now = time.monotonic()
                for pool in list(pools.by_key.values()):
                    limit = self.idle_timeout(pool.profile)
                    if limit is None:
                        continue
                    keep = []
                    for w in pool.idle:
                        due = w.last_used + limit
                        if due <= now or not w.alive():
                            pools.forget_locked(w)
                            to_stop.append(w)
                        else:
                            keep.append(w)
                            next_due = due if next_due is None else min(next_due, due)
                    pool.idle = keep
                    if pool.active:
                        # A busy worker goes idle later, due no sooner than now + limit: being
                        # awake by then means releases need not wake the reaper.
                        due = now + limit
                        next_due = due if next_due is None else min(next_due, due)
                    if not keep and not pool.active and not pool.waiters:
                        pools.drop_shared_locked(pool)        # inprocess: the key goes cold
                self._wake.clear()
                self._due = next_due
            stop_workers(to_stop, "an idle worker")
            wait = None if next_due is None else max(0.0, next_due - time.monotonic()) + 0.001
            self._wake.wait(wait)

"""Warm pools: one per ``Invocation.key`` (one algorithm version) in an engine.

A pool has up to ``profile.warm_slots`` workers, each running one call at a time; further calls
wait in a FIFO queue of at most ``profile.queue_limit`` entries (past it: :class:`QueueFull`).
Workers are reused across calls, replaced when broken, and handed straight from a finishing
call to the next queued one. :class:`Pools` also counts worker processes across all pools:
at most ``max_workers``, idle workers of other keys evicted least recently used first.

Everything here runs under ``Pools.lock`` (methods named ``*_locked`` expect it held); the
workers a method takes out of the pools are returned for the caller to stop outside the lock.
"""
from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import EngineClosed, QueueFull, StopReason
from mockserver.runtime.inproc import InprocShared
from mockserver.runtime.profiles import Profile


class Waiter:
    """A call queued for a slot. ``wake()`` is called once, under the pools lock, by whoever
    hands it a worker or cancels it."""

    __slots__ = ("_signal", "worker", "done", "error", "ahead", "sent")

    def __init__(self):
        # A bare lock as a one-shot signal: Event.set() runs Condition.notify, several
        # lock operations in Python, for every call that queued (py-spy: ~4 % of the GIL
        # time of worker-process invocations).
        self._signal = threading.Lock()
        self._signal.acquire()
        self.worker = None
        self.done = False
        self.error: Optional[StopReason] = None
        # (value, want_stdout, env) of a call whose message the finishing call may send ahead
        # to the worker it hands over (ProcessWorker.send_ahead); ``sent`` once it took that on.
        self.ahead: Optional[tuple] = None
        self.sent = False

    def wait(self, timeout: float) -> None:
        self._signal.acquire(timeout=min(timeout, threading.TIMEOUT_MAX))

    def wait_for_turn(self, timeout: float, cancelled: Optional[threading.Event] = None) -> None:
        """Wait until woken, at most ``timeout``, and no longer once ``cancelled`` is set."""
        if cancelled is None:
            self.wait(timeout)
            return
        deadline = time.monotonic() + timeout
        while not self.done and not cancelled.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.wait(min(remaining, 0.2))

    def wake(self) -> None:
        self._signal.release()


class Pool:
    def __init__(self, key: str, binding: Binding, profile: Profile, mode: str, blob: Optional[bytes] = None):
        self.key = key
        self.binding = binding
        self.profile = profile
        self.sig = (binding, profile)
        self.mode = mode                    # "process" | "inprocess" (Engine decides)
        self.blob = blob                    # a callable binding pickled by reference (process mode)
        self.idle: list = []
        self.active: set = set()
        self.busy = 0                       # slots in use (incl. starting workers)
        self.waiters: collections.deque = collections.deque()
        self.retired = False
        self.shared: Optional[InprocShared] = None
        self.calls = self.cold_starts = self.errors = self.timeouts = 0
        self.load_env: dict = {}            # Invocation.load_env of the call that made the pool


class Pools:
    def __init__(self, max_workers: int):
        self.max_workers = max(1, int(max_workers))
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.by_key: dict[str, Pool] = {}
        self.nprocs = 0
        self.closed = False

    # ------------------------------------------------------------ taking a slot

    def enter_locked(self, key: str, binding: Binding, profile: Profile, make_pool,
                     inv) -> tuple[Pool, object, Optional[Waiter], list]:
        """A slot of ``key``'s pool (made by ``make_pool(inv)`` when missing or its binding/profile
        changed): ``(pool, idle worker or None, None, to_stop)``, or a place in its queue:
        ``(pool, None, waiter, to_stop)``. Raises QueueFull past ``queue_limit``."""
        if self.closed:
            raise EngineClosed("the invocation engine has been shut down")
        to_stop: list = []
        pool = self.by_key.get(key)
        if pool is None or pool.sig != (binding, profile):
            if pool is not None:           # binding/profile changed under this key
                to_stop = self.retire_locked(pool, StopReason.RETRY)
            pool = self.by_key[key] = make_pool(inv)
        pool.calls += 1
        if pool.busy < pool.profile.warm_slots and not pool.waiters:
            pool.busy += 1
            return pool, self._pop_idle_locked(pool, to_stop), None, to_stop
        if len(pool.waiters) >= pool.profile.queue_limit:
            pool.calls -= 1
            raise QueueFull(f"Too many requests for algorithm {key}: {len(pool.waiters)} calls already "
                            f"queued (limit {pool.profile.queue_limit})",
                            key=key, queued=len(pool.waiters), limit=pool.profile.queue_limit)
        waiter = Waiter()
        pool.waiters.append(waiter)
        return pool, None, waiter, to_stop

    def leave_queue_locked(self, pool: Pool, waiter: Waiter) -> None:
        try:
            pool.waiters.remove(waiter)
        except ValueError:
            pass                           # retired meanwhile: the pool's queue is gone

    def give_up_locked(self, pool: Pool, waiter: Waiter, timed_out: bool) -> None:
        """A queued call stops waiting (timeout or cancel) without a worker: a failed call."""
        self.leave_queue_locked(pool, waiter)
        pool.errors += 1
        if timed_out:
            pool.timeouts += 1

    def _pop_idle_locked(self, pool: Pool, dead: list):
        """The most recently used idle worker not known to be dead (the caller asks the process
        itself, outside the lock: :meth:`replace_dead_locked`), or None."""
        while pool.idle:
            w = pool.idle.pop()            # most recently used first
            if w.alive(probe=False):
                pool.active.add(w)
                return w
            self.forget_locked(w)
            dead.append(w)
        return None

    def replace_dead_locked(self, pool: Pool, worker, dead: list):
        """``worker`` (handed out idle) turned out dead: out of the pool's accounting, into
        ``dead`` to stop; the next idle worker in its place, or None (start one)."""
        self.discard_locked(pool, worker)
        dead.append(worker)
        return self._pop_idle_locked(pool, dead)

    # ------------------------------------------------------------ processes

    def reserve_process(self, timeout: float) -> tuple[bool, list]:
        """Count one more worker process (evicting idle ones of any pool, LRU, when at
        ``max_workers``), waiting at most ``timeout``: ``(reserved, evicted workers to stop)``."""
        deadline = time.monotonic() + timeout
        victims = []
        with self.cond:
            while self.nprocs >= self.max_workers:
                victim = self.take_lru_idle_process_locked()
                if victim is not None:
                    victims.append(victim)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    return False, victims
                self.cond.wait(remaining)
            self.nprocs += 1
            return True, victims

    def take_lru_idle_process_locked(self):
        """The least recently used idle worker process of any pool, taken out of its pool and
        forgotten (the caller stops it), or None. Called with the lock held."""
        best = best_pool = None
        for p in self.by_key.values():
            for w in p.idle:
                if w.mode == "process" and (best is None or w.last_used < best.last_used):
                    best, best_pool = w, p
        if best is None:
            return None
        best_pool.idle.remove(best)
        self.forget_locked(best)
        return best

    def forget_locked(self, worker) -> None:
        """``worker`` no longer counts against ``max_workers``."""
        if getattr(worker, "counted", False):
            worker.counted = False
            self.nprocs -= 1
            self.cond.notify()

    # ------------------------------------------------------------ giving a slot back

    def discard_locked(self, pool: Pool, worker) -> None:
        """Remove a failed worker (not yet released) from its pool's accounting."""
        pool.active.discard(worker)
        self.forget_locked(worker)
        if worker.mode == "inprocess" and pool.shared is worker.shared:
            self.drop_shared_locked(pool)

    def release_locked(self, pool: Pool, worker, healthy: bool, on_idle) -> tuple[list, Optional[tuple]]:
        """The call on ``worker`` (None: it never got one) ended: hand the worker (if still
        usable) to the next queued call, or back to the idle list. Returns the workers to stop
        and, when the queued call handed a worker process may have its message sent ahead,
        ``(worker, message)`` for the caller to send once it has let go of the lock
        (``ProcessWorker.send_ahead``), else None."""
        to_stop, outgoing = [], None
        if worker is not None:
            known = worker in pool.active
            pool.active.discard(worker)
            if not known:
                worker = None            # already discarded (failed start)
            elif not healthy or not worker.alive(probe=False) or pool.retired or self.closed:
                self.forget_locked(worker)
                if not healthy and worker.mode == "inprocess" and pool.shared is worker.shared:
                    self.drop_shared_locked(pool)
                to_stop.append(worker)
                worker = None
            else:
                worker.last_used = time.monotonic()
        if pool.waiters and not pool.retired:
            w = pool.waiters.popleft()
            if worker is not None:
                pool.active.add(worker)
                if w.ahead is not None and worker.mode == "process":
                    message = worker.message_ahead(*w.ahead)
                    if message is not None:
                        w.sent, outgoing = True, (worker, message)
            w.worker = worker
            w.done = True
            w.wake()
        else:
            pool.busy -= 1
            if worker is not None:
                pool.idle.append(worker)
                on_idle(pool.profile)
        return to_stop, outgoing

    # ------------------------------------------------------------ retiring

    def retire_locked(self, pool: Pool, waiter_error: StopReason) -> list:
        """Take ``pool`` out of service: its queued calls get ``waiter_error``; returns its idle
        workers to stop (active ones stop when their calls return)."""
        pool.retired = True
        if self.by_key.get(pool.key) is pool:
            del self.by_key[pool.key]
        victims = list(pool.idle)
        pool.idle.clear()
        for w in victims:
            self.forget_locked(w)
        for w in pool.waiters:
            w.error = waiter_error
            w.done = True
            w.wake()
        pool.waiters.clear()
        self.drop_shared_locked(pool)
        return victims

    def retire_all(self, reason: StopReason) -> tuple[list, list]:
        """Retire every pool: ``(idle workers to stop, active workers to kill)``."""
        idle, active = [], []
        with self.lock:
            for pool in list(self.by_key.values()):
                active.extend(pool.active)
                idle.extend(self.retire_locked(pool, reason))
            self.by_key.clear()
            self.cond.notify_all()
        return idle, active

    def drop_shared_locked(self, pool: Pool) -> None:
        """Inprocess mode: forget the key's loaded module and state (the next call loads again)."""
        shared, pool.shared = pool.shared, None
        if shared is None:
            return
        shared.discarded = True
        mod = getattr(getattr(shared.loaded, "resolved", None), "module", None)
        name = getattr(mod, "__name__", "")
        if name.startswith("_mock_algo_"):
            sys.modules.pop(name, None)

"""The invocation engine: warm worker pools, slots/queueing, cold starts,
timeouts, simulated delays. Thread-safe; ``invoke()`` blocks.

One pool per ``Invocation.key`` (one algorithm version). A pool has up to
``profile.warm_slots`` workers, each running one call at a time; further calls
wait in a FIFO queue of at most ``profile.queue_limit`` entries (past it:
:class:`QueueFull`). Workers are reused across calls (load() runs once per
worker), replaced after a crash / timeout / sys.exit / MemoryError, stopped
after ``profile.idle_s * scale`` without calls (the pool goes cold), and on
``reset()`` / ``shutdown()``.

Timing (``Outcome.duration``), all simulated delays multiplied by ``scale``:

    duration = cold_start_s*scale (only if the call started a worker)
             + overhead_s*scale
             + real run time of apply() (measured where it runs)

The engine really sleeps for these delays. For a cold call it sleeps
``cold_start_s*scale`` minus the time the real worker start took (so the wall
time is max(simulated, real)); queueing time is not part of ``duration``.
With ``scale == 0`` there are no simulated delays and idle workers never go
cold (only reset/shutdown stop them); with ``scale > 0`` and ``idle_s == 0``
every call is cold.
"""
from __future__ import annotations

import atexit
import collections
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from mockserver.runtime.binding import Binding, callable_blob, load_binding
from mockserver.runtime.codec import decode_input, decode_payload
from mockserver.runtime.context import DEFAULT_STDOUT_CAP, InvocationContext
from mockserver.runtime.errors import (LOADING_ERROR, BadInput, BindingError, EngineClosed, KeyBusy, QueueFull,
                                       StopReason, aborted_error, call_error)
from mockserver.runtime.importcheck import ImportChecks
from mockserver.runtime.inproc import InprocShared, InprocWorker
from mockserver.runtime.isolation import Isolation
from mockserver.runtime.policy import CodePolicy
from mockserver.runtime.profiles import GPU_ENV_VARS, Profile
from mockserver.runtime.worker import ProcessWorker, WorkerDied, cancelled_error

DEFAULT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 3000.0


@dataclass
class Invocation:
    key: str
    binding: Binding
    profile: Profile
    body: bytes
    content_type: Optional[str] = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    want_stdout: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    caller: Optional[str] = None     # the API key calling: at most invocations_per_key at once
    # What a worker started for this call imports the code with (the owner's key, the API's
    # address): set in its process environment, under the call's own ``env``.
    load_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    result: Any
    content_type: str            # "json" | "text" | "binary" | "void"
    duration: float
    stdout: Optional[str] = None
    error: Optional[dict] = None
    cold: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class _Aborted(Exception):
    def __init__(self, error: dict):
        super().__init__(error["message"])
        self.error = error


class _Waiter:
    """A call queued for a slot. ``wake()`` is called once, under the engine lock, by whoever
    hands it a worker or cancels it."""

    __slots__ = ("_signal", "worker", "done", "error")

    def __init__(self):
        # A bare lock as a one-shot signal: Event.set() runs Condition.notify, several
        # lock operations in Python, for every call that queued (py-spy: ~4 % of the GIL
        # time of worker-process invocations).
        self._signal = threading.Lock()
        self._signal.acquire()
        self.worker = None
        self.done = False
        self.error: Optional[StopReason] = None

    def wait(self, timeout: float) -> None:
        self._signal.acquire(timeout=min(timeout, threading.TIMEOUT_MAX))

    def wake(self) -> None:
        self._signal.release()


class _Pool:
    def __init__(self, key: str, binding: Binding, profile: Profile, inprocess_ok: bool = True):
        self.key = key
        self.binding = binding
        self.profile = profile
        self.sig = (binding, profile)
        self.idle: list = []
        self.active: set = set()
        self.busy = 0                       # slots in use (incl. starting workers)
        self.waiters: collections.deque = collections.deque()
        self.retired = False
        self.shared: Optional[InprocShared] = None
        # In the server's own threads only what a test or the operator put there (see
        # Engine.inprocess_allowed); anything else runs in worker processes whatever the profile says.
        self.mode = profile.mode if inprocess_ok else "process"
        self.blob: Optional[bytes] = None
        if binding.is_callable and self.mode == "process":
            self.blob = callable_blob(binding)
            if self.blob is None:          # not picklable by reference: run in a thread
                self.mode = "inprocess"
        self.calls = self.cold_starts = self.errors = self.timeouts = 0
        self.load_env: dict = {}             # Invocation.load_env of the call that made the pool


def _clamp_timeout(t) -> float:
    try:
        t = float(t)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_S
    if t != t or t <= 0:
        return DEFAULT_TIMEOUT_S
    return min(t, MAX_TIMEOUT_S)


def _atexit_shutdown(ref) -> None:
    eng = ref()
    if eng is not None:
        eng.shutdown()


class Engine:
    def __init__(self, scale: float = 1.0, max_workers: int = 64, *,
                 stdout_cap: int = DEFAULT_STDOUT_CAP, policy: Optional[CodePolicy] = None,
                 invocations_per_key: int = 0, check_timeout_s: float = 10.0,
                 isolation: Optional[Isolation] = None):
        """``policy``: which code untrusted bindings may name (None: any, for library use);
        ``invocations_per_key``: concurrent calls per ``Invocation.caller`` (0: no cap);
        ``check_timeout_s``: how long :meth:`check_binding` waits for an import;
        ``isolation``: the users and environment workers get (default: the server's user)."""
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = float(scale)
        self.max_workers = max(1, int(max_workers))
        self.stdout_cap = int(stdout_cap)
        self.policy = policy
        self.invocations_per_key = max(0, int(invocations_per_key))
        self.check_timeout_s = float(check_timeout_s)
        self.isolation = isolation or Isolation()
        self._per_key: dict[str, int] = {}
        self._check_cache: dict[tuple, Optional[str]] = {}
        self.imports = ImportChecks(self.isolation)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pools: dict[str, _Pool] = {}
        self._nprocs = 0
        self._closed = False
        self._reaper: Optional[threading.Thread] = None
        self._wake = threading.Event()
        # When the reaper wakes next on its own (monotonic time; None: only when woken).
        # It needs waking only when a worker going idle is due before that: waking it
        # on every call would cost a thread switch per invocation.
        self._reaper_due: Optional[float] = None
        self._atexit = (_atexit_shutdown, weakref.ref(self))
        atexit.register(*self._atexit)

    # ------------------------------------------------------------------ public

    def invoke(self, inv: Invocation, cancelled: Optional[threading.Event] = None) -> Outcome:
        """Run one call (blocking). Raises BadInput, QueueFull (KeyBusy), EngineClosed;
        every failure of the callable is reported in ``Outcome.error``. Setting
        ``cancelled`` stops the call (waiting or running) and frees its slot."""
        if self._closed:
            raise EngineClosed("the invocation engine has been shut down")
        value = decode_input(inv.body, inv.content_type)
        denied = self.binding_denial(inv.binding)
        if denied:
            err = call_error(f"This algorithm's binding is not allowed: {denied}", LOADING_ERROR)
            return Outcome(None, "void", 0.0, "" if inv.want_stdout else None, err, False)
        caller = inv.caller if self.invocations_per_key else None
        if caller is not None:
            self._enter_key(caller)
        try:
            return self._invoke(inv, value, cancelled)
        finally:
            if caller is not None:
                self._leave_key(caller)

    def _invoke(self, inv: Invocation, value: Any, cancelled: Optional[threading.Event]) -> Outcome:
        timeout = _clamp_timeout(inv.timeout_s)
        profile = inv.profile
        self._ensure_reaper()
        try:
            pool, worker = self._acquire(inv, timeout, cancelled)
        except _Aborted as ab:
            return Outcome(None, "void", 0.0, "" if inv.want_stdout else None, ab.error, False)

        healthy = False
        cold = False
        cold_cost = 0.0
        overhead = profile.overhead_s * self.scale
        try:
            if worker is None:
                cold = True
                worker, cold_cost = self._start_worker(pool, timeout, cancelled)
            if overhead > 0:
                time.sleep(overhead)
            try:
                ok, ctype, payload, run_time, restart, out = worker.call(
                    value, inv.want_stdout, self._call_env(inv), timeout, cancelled)
            except RecursionError:       # pickling an input nested too deeply; nothing was sent
                healthy = True
                raise BadInput("Input is nested too deeply") from None
            healthy = not restart
            duration = cold_cost + overhead + run_time
            if ok:
                return Outcome(decode_payload(ctype, payload), ctype, duration, out, None, cold)
            with self._lock:
                pool.errors += 1
            return Outcome(None, "void", duration, out, payload, cold)
        except WorkerDied as died:
            with self._lock:
                pool.errors += 1
                if died.timed_out:
                    pool.timeouts += 1
            duration = cold_cost + overhead + (timeout if died.timed_out else 0.0)
            return Outcome(None, "void", duration, "" if inv.want_stdout else None, died.error, cold)
        finally:
            self._release(pool, worker, healthy)

    def check_binding(self, binding: Binding) -> Optional[str]:
        """None if the binding imports and has a callable ``apply`` (or the named
        function); else an error message. Files and modules are imported in a throw-away
        worker process (a crash, exit or hang there is reported, not felt; at most
        ``check_timeout_s``); results for an unchanged file are remembered. Does not run
        load(). Callables registered in this process are resolved here."""
        if binding.is_template:
            return None
        try:
            kind, location, _ = binding.parse()
        except BindingError as exc:
            return exc.message
        if kind == "callable":
            try:
                load_binding(binding)
            except BindingError as exc:
                return exc.message
            return None
        cache_key = None
        if kind == "file":
            try:
                st = os.stat(location)
            except OSError:
                return f"algorithm file not found: {location}"
            cache_key = (binding, location, st.st_mtime_ns, st.st_size)
            if cache_key in self._check_cache:
                return self._check_cache[cache_key]
        problem = self.imports.check(binding, self.check_timeout_s)
        if cache_key is not None:
            if len(self._check_cache) > 1024:
                self._check_cache.clear()
            self._check_cache[cache_key] = problem
        return problem

    def binding_denial(self, binding: Binding) -> Optional[str]:
        """Why the policy refuses this binding, or None. The template, callables registered
        in this process, trusted bindings (the plugin's, checked fixtures') and checkouts of
        built commits are never refused."""
        if self.policy is None or binding.is_template or binding.is_callable or binding.trusted or binding.checkout:
            return None
        return self.policy.denial(binding)

    def inprocess_allowed(self, binding: Binding) -> bool:
        """May this binding run in the server's threads (``mode: inprocess``)? By provenance:
        only what the pytest plugin or the operator bound (``Binding.trusted``: plugin ``bind``,
        start-up fixtures), callables of this process and the template; a checkout of a pushed
        commit never, wherever its folder is. Without a policy (library use) any but checkouts."""
        if binding.checkout:
            return False
        return self.policy is None or Isolation.trusted(binding)

    def _enter_key(self, caller: str) -> None:
        with self._lock:
            n = self._per_key.get(caller, 0)
            if n >= self.invocations_per_key:
                raise KeyBusy(f"this API key already has {n} calls running (limit {self.invocations_per_key})",
                              key=caller, queued=n, limit=self.invocations_per_key)
            self._per_key[caller] = n + 1

    def _leave_key(self, caller: str) -> None:
        with self._lock:
            n = self._per_key.get(caller, 1) - 1
            if n > 0:
                self._per_key[caller] = n
            else:
                self._per_key.pop(caller, None)

    def reset(self) -> None:
        """Stop every worker (in-flight calls fail with a SystemError, queued
        calls are cancelled). The engine stays usable."""
        self._stop_all(StopReason.RESET)

    def shutdown(self) -> None:
        """Stop everything; further invoke() raises EngineClosed. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop_all(StopReason.SHUTDOWN)
        self._wake.set()
        reaper = self._reaper
        if reaper is not None and reaper is not threading.current_thread():
            reaper.join(2)
        try:
            atexit.unregister(self._atexit[0])
        except Exception:
            pass

    def stats(self) -> dict:
        with self._lock:
            pools = {}
            busy = queued = workers = 0
            for key, p in self._pools.items():
                n_active = len(p.active)
                pools[key] = {
                    "profile": p.profile.name,
                    "mode": p.mode,
                    "warm": len(p.idle) + n_active,
                    "idle": len(p.idle),
                    "busy": p.busy,
                    "queued": len(p.waiters),
                    "slots": p.profile.warm_slots,
                    "calls": p.calls,
                    "cold_starts": p.cold_starts,
                    "errors": p.errors,
                    "timeouts": p.timeouts,
                    "pids": sorted(w.pid for w in list(p.idle) + list(p.active) if w.pid),
                }
                busy += p.busy
                queued += len(p.waiters)
                workers += len(p.idle) + n_active
            return {"scale": self.scale, "workers": workers, "processes": self._nprocs,
                    "max_workers": self.max_workers, "busy": busy, "queued": queued,
                    "closed": self._closed, "pools": pools}

    # --------------------------------------------------------------- internals

    def _call_env(self, inv: Invocation) -> dict:
        return {k: str(v) for k, v in inv.env.items()} if inv.env else {}

    def _base_env(self, profile: Profile) -> dict:
        return {**profile.env, "ALGORITHMIA_PROFILE": profile.name,
                "ALGORITHMIA_PROCESSOR": profile.processor}

    def _acquire(self, inv: Invocation, timeout: float, cancelled: Optional[threading.Event] = None):
        key = inv.key
        while True:
            to_stop: list = []
            with self._lock:
                if self._closed:
                    raise EngineClosed("the invocation engine has been shut down")
                pool = self._pools.get(key)
                if pool is None or pool.sig != (inv.binding, inv.profile):
                    if pool is not None:   # binding/profile changed under this key
                        to_stop = self._retire_locked(pool, StopReason.RETRY)
                    pool = self._pools[key] = _Pool(key, inv.binding, inv.profile,
                                                    self.inprocess_allowed(inv.binding))
                    pool.load_env = dict(inv.load_env)
                pool.calls += 1
                if pool.busy < pool.profile.warm_slots and not pool.waiters:
                    pool.busy += 1
                    worker, dead = self._pop_idle_locked(pool)
                    to_stop.extend(dead)
                    waiter = None
                else:
                    if len(pool.waiters) >= pool.profile.queue_limit:
                        pool.calls -= 1
                        raise QueueFull(
                            f"Too many requests for algorithm {key}: {len(pool.waiters)} calls already "
                            f"queued (limit {pool.profile.queue_limit})",
                            key=key, queued=len(pool.waiters), limit=pool.profile.queue_limit)
                    waiter = _Waiter()
                    pool.waiters.append(waiter)
            self._stop_workers(to_stop)
            if waiter is None:
                return pool, worker
            if cancelled is None:
                waiter.wait(timeout)
            else:
                deadline = time.monotonic() + timeout
                while not waiter.done and not cancelled.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    waiter.wait(min(remaining, 0.2))
            with self._lock:
                if not waiter.done:
                    try:
                        pool.waiters.remove(waiter)
                    except ValueError:
                        pass
                    pool.errors += 1
                    if cancelled is not None and cancelled.is_set():
                        raise _Aborted(cancelled_error())
                    pool.timeouts += 1
                    raise _Aborted(call_error(f"Algorithm timed out after {timeout:g} seconds "
                                        "(waiting for a free worker)"))
            if waiter.error == StopReason.RETRY:
                continue
            if waiter.error is not None:
                raise _Aborted(aborted_error(waiter.error))
            return pool, waiter.worker

    def _pop_idle_locked(self, pool: _Pool):
        dead = []
        while pool.idle:
            w = pool.idle.pop()            # most recently used first
            if w.alive():
                pool.active.add(w)
                return w, dead
            self._forget_locked(w)
            dead.append(w)
        return None, dead

    def _start_worker(self, pool: _Pool, timeout: float, cancelled: Optional[threading.Event] = None):
        profile = pool.profile
        t0 = time.perf_counter()
        if pool.mode == "inprocess":
            with self._lock:
                if pool.shared is None or pool.shared.discarded:
                    ctx = InvocationContext(pool.key, profile.name, profile.processor, "inprocess",
                                            self._base_env(profile))
                    pool.shared = InprocShared(pool.binding, ctx)
                worker = InprocWorker(pool.shared, pool.key, self.stdout_cap)
                pool.active.add(worker)
                pool.cold_starts += 1
        else:
            if not self._reserve_process(timeout):
                raise WorkerDied(call_error(f"No capacity to start a worker for {pool.key} "
                                      f"(max_workers={self.max_workers} reached)"))
            identity = self.isolation.identity(pool.binding)
            worker = ProcessWorker(self._worker_spec(pool), self._process_env({**pool.load_env, **pool.profile.env},
                                                                              pool.profile, pool.binding, identity),
                                   os.getcwd(), identity)
            worker.counted = True
            with self._lock:
                pool.active.add(worker)
                pool.cold_starts += 1
        try:
            worker.start(timeout, cancelled)
        except BaseException:
            self._discard(pool, worker)
            raise
        real = time.perf_counter() - t0
        simulated = profile.cold_start_s * self.scale
        if simulated > real:
            time.sleep(simulated - real)
        return worker, simulated

    def _process_env(self, extra: Mapping[str, str], profile: Optional[Profile] = None,
                     binding: Binding = Binding.template(), identity=None) -> dict:
        """A worker process's environment (:mod:`.childenv`): never the server's MOCKSERVER_* and
        ALGORITHMIA_* variables, GPU variables only where the profile sets them, plus ``extra``."""
        env = dict(self._base_env(profile)) if profile is not None else {}
        env.update(extra)
        return self.isolation.environment(binding, env, drop=GPU_ENV_VARS, identity=identity)

    def _worker_spec(self, pool: _Pool) -> dict:
        profile = pool.profile
        kind, location, func = pool.binding.parse()
        target = f"{location}:{func}" if kind == "file" else pool.binding.target
        return {
            "key": pool.key,
            "target": target,
            "callable_blob": pool.blob,
            "base_dir": None,
            "profile": profile.name,
            "processor": profile.processor,
            "memory_mb": profile.memory_mb,
            "env": self._base_env(profile),
            "sys_path": [p for p in sys.path if p],
            "stdout_cap": self.stdout_cap,
        }

    def _reserve_process(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        victims = []
        try:
            with self._cond:
                while self._nprocs >= self.max_workers:
                    victim = self._lru_idle_process_locked()
                    if victim is not None:
                        victims.append(victim)
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closed:
                        return False
                    self._cond.wait(remaining)
                self._nprocs += 1
                return True
        finally:
            self._stop_workers(victims)

    def _lru_idle_process_locked(self):
        best = best_pool = None
        for p in self._pools.values():
            for w in p.idle:
                if w.mode == "process" and (best is None or w.last_used < best.last_used):
                    best, best_pool = w, p
        if best is None:
            return None
        best_pool.idle.remove(best)
        self._forget_locked(best)
        return best

    def _forget_locked(self, worker) -> None:
        if getattr(worker, "counted", False):
            worker.counted = False
            self._nprocs -= 1
            self._cond.notify()

    def _discard(self, pool: _Pool, worker) -> None:
        """Remove a failed worker (not yet released) from its pool's accounting."""
        with self._lock:
            pool.active.discard(worker)
            self._forget_locked(worker)
            self._drop_shared_locked(pool, worker)
        worker.stop()

    def _drop_shared_locked(self, pool: _Pool, worker) -> None:
        if worker.mode == "inprocess" and pool.shared is worker.shared:
            shared = pool.shared
            shared.discarded = True
            pool.shared = None
            _unregister_module(shared)

    def _release(self, pool: _Pool, worker, healthy: bool) -> None:
        to_stop = []
        with self._lock:
            if worker is not None:
                known = worker in pool.active
                pool.active.discard(worker)
                if not known:
                    worker = None            # already discarded (failed start)
                elif not healthy or not worker.alive(probe=False) or pool.retired or self._closed:
                    self._forget_locked(worker)
                    if not healthy:
                        self._drop_shared_locked(pool, worker)
                    to_stop.append(worker)
                    worker = None
                else:
                    worker.last_used = time.monotonic()
            if pool.waiters and not pool.retired:
                w = pool.waiters.popleft()
                if worker is not None:
                    pool.active.add(worker)
                w.worker = worker
                w.done = True
                w.wake()
            else:
                pool.busy -= 1
                if worker is not None:
                    pool.idle.append(worker)
                    limit = self._idle_timeout(pool.profile)
                    due = self._reaper_due
                    if limit is not None and (due is None or time.monotonic() + limit < due):
                        self._wake.set()
        self._stop_workers(to_stop)

    def _retire_locked(self, pool: _Pool, waiter_error: StopReason) -> list:
        pool.retired = True
        if self._pools.get(pool.key) is pool:
            del self._pools[pool.key]
        victims = list(pool.idle)
        pool.idle.clear()
        for w in victims:
            self._forget_locked(w)
        for w in pool.waiters:
            w.error = waiter_error
            w.done = True
            w.wake()
        pool.waiters.clear()
        if pool.shared is not None:
            pool.shared.discarded = True
            _unregister_module(pool.shared)
            pool.shared = None
        return victims

    def _stop_all(self, reason: StopReason) -> None:
        self.imports.stop()
        idle, active = [], []
        with self._lock:
            for pool in list(self._pools.values()):
                active.extend(pool.active)
                idle.extend(self._retire_locked(pool, reason))
            self._pools.clear()
        for w in active:
            w.kill(reason)                  # owners reap them when their call returns
        self._stop_workers(idle)

    @staticmethod
    def _stop_workers(workers) -> None:
        for w in workers:
            try:
                w.stop()
            except Exception:
                pass

    # ------------------------------------------------------------ idle reaper

    def _idle_timeout(self, profile: Profile) -> Optional[float]:
        if self.scale <= 0:
            return None
        return profile.idle_s * self.scale

    def _ensure_reaper(self) -> None:
        if self._reaper is not None or self.scale <= 0:
            return
        with self._lock:
            if self._reaper is None and not self._closed:
                self._reaper = threading.Thread(target=self._reap_loop, name="mockserver-runtime-reaper",
                                                daemon=True)
                self._reaper.start()

    def _reap_loop(self) -> None:
        while not self._closed:
            to_stop = []
            next_due: Optional[float] = None
            with self._lock:
                now = time.monotonic()
                for pool in list(self._pools.values()):
                    limit = self._idle_timeout(pool.profile)
                    if limit is None:
                        continue
                    keep = []
                    for w in pool.idle:
                        due = w.last_used + limit
                        if due <= now or not w.alive():
                            self._forget_locked(w)
                            to_stop.append(w)
                        else:
                            keep.append(w)
                            next_due = due if next_due is None else min(next_due, due)
                    pool.idle = keep
                    if pool.active:
                        # A busy worker goes idle later, due no sooner than now + limit: being
                        # awake by then means releases need not wake the reaper (see _release).
                        due = now + limit
                        next_due = due if next_due is None else min(next_due, due)
                    if not keep and not pool.active and not pool.waiters and pool.shared is not None:
                        pool.shared.discarded = True      # inprocess: the key goes cold
                        _unregister_module(pool.shared)
                        pool.shared = None
                self._wake.clear()
                self._reaper_due = next_due
            self._stop_workers(to_stop)
            wait = None if next_due is None else max(0.0, next_due - time.monotonic()) + 0.001
            self._wake.wait(wait)


def _unregister_module(shared: InprocShared) -> None:
    loaded = shared.loaded
    mod = getattr(getattr(loaded, "resolved", None), "module", None)
    name = getattr(mod, "__name__", "")
    if name.startswith("_mock_algo_"):
        sys.modules.pop(name, None)

"""The invocation engine: admits a call, runs it on a warm worker, answers an :class:`Outcome`.

Thread-safe; ``invoke()`` blocks. The parts, each in its own module: :mod:`.admission` (the
per-key cap, and the server-wide pools of calls and binding checks every sandbox's engine
shares through a :class:`~.admission.Tenant`), :mod:`.pools` (a warm pool per
``Invocation.key``: slots, FIFO queue, ``queue_limit``; the ``max_workers`` process count),
:mod:`.launch` (starting workers; the simulated cold start), :mod:`.reaper` (stopping
workers; the idle reaper), :mod:`.checks` (binding checks), :mod:`.stats`.

``Outcome.duration`` = ``cold_start_s*scale`` (only if the call started a worker) +
``overhead_s*scale`` + the real run time of apply(); queueing time is not part of it. The
engine really sleeps for the simulated delays. With ``scale == 0`` there are none and idle
workers never go cold (only reset/shutdown stop them); with ``scale > 0`` and ``idle_s == 0``
every call is cold.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import threading
import time
import weakref
from typing import Callable, Optional

from mockserver.runtime.admission import KeyCaps, Tenant
from mockserver.runtime.binding import Binding, callable_blob
from mockserver.runtime.calls import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, Admitted, Invocation, Outcome, clamp_timeout
from mockserver.runtime.checks import BindingChecks
from mockserver.runtime.codec import decode_payload
from mockserver.runtime.context import DEFAULT_STDOUT_CAP
from mockserver.runtime.errors import (LOADING_ERROR, BadInput, CallError, EngineClosed, StopReason, WorkerDied,
                                       aborted_error, call_error, cancelled_error)
from mockserver.runtime.importcheck import ImportChecks
from mockserver.runtime.inputs import decode_input
from mockserver.runtime.isolation import Isolation
from mockserver.runtime.launch import Launcher
from mockserver.runtime.policy import CodePolicy
from mockserver.runtime.pools import Pool, Pools
from mockserver.runtime.reaper import IdleReaper, stop_workers
from mockserver.runtime.stats import snapshot
from mockserver.runtime.worker import SEND_AHEAD_MAX

__all__ = ["Engine", "Invocation", "Outcome", "Admitted", "DEFAULT_TIMEOUT_S", "MAX_TIMEOUT_S"]
log = logging.getLogger("mockserver.runtime")


class _Aborted(Exception):
    def __init__(self, error: CallError):
        super().__init__(error.message)
        self.error = error


def _atexit_shutdown(ref) -> None:
    eng = ref()
    if eng is not None:
        eng.shutdown()


class Engine:
    def __init__(self, scale: float = 1.0, max_workers: int = 64, *,
                 stdout_cap: int = DEFAULT_STDOUT_CAP, policy: Optional[CodePolicy] = None,
                 invocations_per_key: int = 0, check_timeout_s: float = 10.0,
                 admission: Optional[Tenant] = None, isolation: Optional[Isolation] = None):
        """``policy``: which code untrusted bindings may name (None: any, for library use);
        ``invocations_per_key``: calls in flight per ``Invocation.caller`` (0: no cap);
        ``check_timeout_s``: how long :meth:`check_binding` waits for an import;
        ``admission``: this engine's share of the server-wide pools (None: unbounded);
        ``isolation``: the users and environment workers get (default: the server's user)."""
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = float(scale)
        self.stdout_cap = int(stdout_cap)
        self.policy = policy
        self.tenant = admission
        self._keys = KeyCaps(invocations_per_key)
        self.isolation = isolation or Isolation()
        self._pools = Pools(max_workers)
        self._reaper = IdleReaper(self._pools, self.scale)
        self._went_idle = self._reaper.went_idle_locked
        budget = admission.admission.processes if admission is not None else None   # all sandboxes' processes
        self._launcher = Launcher(self._pools, self.scale, self.stdout_cap, self.isolation, budget)
        self._checks = BindingChecks(admission, check_timeout_s, ImportChecks(self.isolation, budget))
        # One registration per engine (a partial compares by identity): unregistering it on
        # shutdown leaves the other engines' (other sandboxes') registrations in place.
        self._atexit = functools.partial(_atexit_shutdown, weakref.ref(self))
        atexit.register(self._atexit)

    @property
    def imports(self) -> ImportChecks:
        """The import check builds use too (``ImportChecks.check_traced`` with their environment)."""
        return self._checks.imports

    @property
    def max_workers(self) -> int:
        return self._pools.max_workers

    @property
    def invocations_per_key(self) -> int:
        return self._keys.limit

    @property
    def check_timeout_s(self) -> float:
        return self._checks.timeout_s

    @check_timeout_s.setter
    def check_timeout_s(self, seconds: float) -> None:
        self._checks.timeout_s = float(seconds)

    # ------------------------------------------------------------ calls

    def invoke(self, inv: Invocation, cancelled: Optional[threading.Event] = None) -> Outcome:
        """Run one call (blocking): :meth:`admit` then :meth:`run`. Raises BadInput, QueueFull
        (KeyBusy, ServerBusy), EngineClosed; every failure of the callable is reported in
        ``Outcome.error``. Setting ``cancelled`` stops the call (waiting or running)."""
        return self.run(self.admit(inv), cancelled)

    def admit(self, inv: Invocation) -> Admitted:
        """Decide at once whether the call may run: raises BadInput, KeyBusy (its API key has
        ``invocations_per_key`` calls in flight), ServerBusy (the server's call pool or this
        sandbox's share is full), QueueFull (its algorithm version's queue is full), EngineClosed.
        Never waits for a worker: that is :meth:`run`'s."""
        if self._pools.closed:
            raise EngineClosed("the invocation engine has been shut down")
        value = decode_input(inv.body, inv.content_type)
        if self.policy is not None and not inv.binding.trusted:     # a trusted binding is never refused
            denied = self.binding_denial(inv.binding)
            if denied:
                err = call_error(f"This algorithm's binding is not allowed: {denied}", LOADING_ERROR)
                return Admitted(inv, outcome=Outcome.failed(inv, err))
        key_counted = self._keys.enter(inv.caller) if self._keys.limit else False
        try:
            if self.tenant is not None:
                self.tenant.enter_call()
            try:
                self._reaper.ensure_started()
                admitted = Admitted(inv, value, key_counted=key_counted)
                self._enter_pool(admitted)
                return admitted
            except BaseException:
                if self.tenant is not None:
                    self.tenant.leave_call()
                raise
        except BaseException:
            if key_counted:
                self._keys.leave(inv.caller)
            raise

    def run(self, admitted: Admitted, cancelled: Optional[threading.Event] = None) -> Outcome:
        """Run an admitted call to its end (waiting for its turn in the queue first)."""
        if admitted.outcome is not None:
            return admitted.outcome
        inv = admitted.inv
        timeout = clamp_timeout(inv.timeout_s)
        try:
            if admitted.waiter is not None:
                try:
                    self._wait_turn(admitted, timeout, cancelled)
                except _Aborted as ab:
                    return Outcome.failed(inv, ab.error)
            return self._call(admitted, timeout, cancelled)
        finally:
            self._end(admitted)

    def abandon(self, admitted: Admitted) -> None:
        """Give back what an admitted call holds without running it."""
        pool, waiter, to_stop, outgoing = admitted.pool, admitted.waiter, [], None
        if admitted.outcome is None and pool is not None:
            with self._pools.lock:
                if waiter is None:
                    to_stop, outgoing = self._release_locked(pool, admitted.worker, True)
                elif not waiter.done:
                    self._pools.leave_queue_locked(pool, waiter)
                elif waiter.error is None:           # handed a slot (and maybe a worker) already
                    to_stop, outgoing = self._release_locked(pool, waiter.worker, True)
            if outgoing is not None:
                outgoing[0].send_ahead(outgoing[1])
            stop_workers(to_stop)
        self._end(admitted)

    def _end(self, admitted: Admitted) -> None:
        if admitted.ended or admitted.outcome is not None:
            return
        admitted.ended = True
        if self.tenant is not None:
            self.tenant.leave_call()
        if admitted.key_counted:
            self._keys.leave(admitted.inv.caller)

    def _enter_pool(self, admitted: Admitted) -> None:
        inv = admitted.inv
        with self._pools.lock:
            pool, worker, waiter, to_stop = self._pools.enter_locked(inv.key, inv.binding, inv.profile,
                                                                     self._new_pool, inv)
            # A queued call's message may be sent ahead by the call that hands it a worker (under
            # this lock): only small bodies, so that no big input is ever pickled while it is held.
            if waiter is not None and pool.mode == "process" and not inv.profile.overhead_s * self.scale \
                    and len(inv.body or b"") <= SEND_AHEAD_MAX:
                waiter.ahead = (admitted.value, inv.want_stdout, _call_env(inv))
        if to_stop:
            stop_workers(to_stop, "a worker of a replaced pool")
        if worker is not None and worker.mode == "process" and worker.kill_reason is None and not worker.alive():
            worker = self._replace_dead(pool, worker)      # it exited while idle: the next, or a new one
        admitted.pool, admitted.worker, admitted.waiter = pool, worker, waiter

    def _new_pool(self, inv: Invocation) -> Pool:
        """The pool of ``inv.key`` (Pools.enter_locked makes it with this, under the pools' lock)."""
        binding, profile = inv.binding, inv.profile
        # In the server's own threads only what a test or the operator put there (see
        # inprocess_allowed); anything else runs in worker processes whatever the profile says.
        mode = profile.mode if self.inprocess_allowed(binding) else "process"
        blob = None
        if binding.is_callable and mode == "process":
            blob, why = callable_blob(binding)
            if blob is None:
                mode = "inprocess"
                log.warning("%s: the callable bound to it cannot be sent to a worker process (%s); its calls run "
                            "in the server's threads instead (no memory limit, no crash isolation). Bind a "
                            "module-level function to run it in a worker process.", inv.key, why)
        pool = Pool(inv.key, binding, profile, mode, blob)
        pool.load_env = dict(inv.load_env)
        return pool

    def _wait_turn(self, admitted: Admitted, timeout: float, cancelled: Optional[threading.Event]) -> None:
        """Wait until a finishing call hands its slot (and worker) over, or the pool is replaced
        (then enter the new one), at most ``timeout``. Raises _Aborted."""
        while admitted.waiter is not None:
            waiter, pool = admitted.waiter, admitted.pool
            waiter.wait_for_turn(timeout, cancelled)
            with self._pools.lock:
                if not waiter.done:
                    gone = cancelled is not None and cancelled.is_set()
                    self._pools.give_up_locked(pool, waiter, timed_out=not gone)
                    admitted.waiter = None
                    if gone:
                        raise _Aborted(cancelled_error())
                    raise _Aborted(call_error(f"Algorithm timed out after {timeout:g} seconds "
                                              "(waiting for a free worker)"))
            admitted.waiter = None
            admitted.sent_ahead = waiter.sent
            if waiter.error == StopReason.RETRY:
                self._enter_pool(admitted)
                continue
            if waiter.error is not None:
                admitted.pool = None
                raise _Aborted(aborted_error(waiter.error))
            admitted.worker = waiter.worker

    def _call(self, admitted: Admitted, timeout: float, cancelled: Optional[threading.Event]) -> Outcome:
        inv, pool, worker = admitted.inv, admitted.pool, admitted.worker
        healthy = cold = False
        cold_cost = 0.0
        overhead = inv.profile.overhead_s * self.scale
        try:
            if worker is None:
                cold = True
                worker, cold_cost = self._launcher.start(pool, timeout, cancelled)
            if overhead > 0:
                time.sleep(overhead)
            try:
                if admitted.sent_ahead:
                    done = worker.reply(timeout, cancelled)
                else:
                    done = worker.call(admitted.value, inv.want_stdout, _call_env(inv), timeout, cancelled)
            except RecursionError:       # pickling an input nested too deeply; nothing was sent
                healthy = True
                raise BadInput("Input is nested too deeply") from None
            healthy = not done.restart
            duration = cold_cost + overhead + done.run_time
            if done.ok:
                content_type, payload = done.content_type, done.payload
                if content_type == "json":
                    payload = decode_payload(content_type, payload)
                return Outcome(payload, content_type, duration, done.stdout, None, cold)
            with self._pools.lock:
                pool.errors += 1
            return Outcome.failed(inv, done.payload, duration, done.stdout, cold)
        except WorkerDied as died:
            with self._pools.lock:
                pool.errors += 1
                if died.timed_out:
                    pool.timeouts += 1
            duration = cold_cost + overhead + (timeout if died.timed_out else 0.0)
            return Outcome.failed(inv, died.error, duration, cold=cold)
        finally:
            with self._pools.lock:
                to_stop, outgoing = self._pools.release_locked(pool, worker, healthy, self._went_idle)
            if outgoing is not None:               # the next queued call's message, first
                outgoing[0].send_ahead(outgoing[1])
            if to_stop:
                stop_workers(to_stop)

    def _release_locked(self, pool: Pool, worker, healthy: bool) -> tuple[list, Optional[tuple]]:
        return self._pools.release_locked(pool, worker, healthy, self._went_idle)

    def _replace_dead(self, pool: Pool, worker):
        """An idle worker process handed to a call has exited (the process is asked outside the
        pools' lock: the system call lets go of the GIL): it is stopped, and the pool's next
        live idle worker takes its place, or None (the call starts one)."""
        dead: list = []
        while worker is not None and worker.kill_reason is None and not worker.alive():
            with self._pools.lock:
                worker = self._pools.replace_dead_locked(pool, worker, dead)
        stop_workers(dead, "an idle worker that exited")
        return worker

    # ------------------------------------------------------------ bindings

    def check_binding(self, binding: Binding) -> Optional[str]:
        """None if the binding imports and has a callable ``apply`` (or the named function);
        else why not. Files and modules are imported in a checker process (a crash, exit or
        hang there is reported, not felt; at most ``check_timeout_s``), holding a slot of the
        server's binding-check pool: raises ChecksBusy when none is free. Does not run load()."""
        return self._checks.check(binding)

    def prefetch_checks(self, bindings: list[Binding]) -> None:
        """Check these file bindings now, for the :meth:`check_binding` calls of them soon after
        (which wait for these answers): the ``mockserver`` command's fixture checks, started
        before the app's modules load."""
        self._checks.prefetch(bindings)

    def building(self):
        """A slot of the server's build pool (this sandbox's share) for a ``with`` block: a push
        or compile holds one while it builds. Raises BuildsBusy when none is free."""
        return self.tenant.building() if self.tenant is not None else contextlib.nullcontext()

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

    # ------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Stop every worker (in-flight calls fail with a SystemError, queued
        calls are cancelled). The engine stays usable."""
        self._stop_all(StopReason.RESET)

    def retire_pools(self, gone: Callable[[str], bool]) -> None:
        """Stop the idle workers of every pool whose key ``gone`` names (its algorithm was
        deleted): they hold its code and, as root, its commit's uid. Busy workers stop when their
        calls end; queued calls start a new pool."""
        with self._pools.lock:
            idle = []
            for pool in [p for key, p in self._pools.by_key.items() if gone(key)]:
                idle.extend(self._pools.retire_locked(pool, StopReason.RETRY))
        stop_workers(idle, "an idle worker of a deleted algorithm")

    def shutdown(self) -> None:
        """Stop everything; further invoke() raises EngineClosed. Idempotent."""
        with self._pools.lock:
            if self._pools.closed:
                return
            self._pools.closed = True
        self._stop_all(StopReason.SHUTDOWN)
        self._reaper.stop()
        atexit.unregister(self._atexit)

    def _stop_all(self, reason: StopReason) -> None:
        self._checks.stop()
        idle, active = self._pools.retire_all(reason)
        for w in active:
            w.kill(reason)                  # owners reap them when their call returns
        stop_workers(idle)

    def stats(self) -> dict:
        return snapshot(self._pools, self.scale, self.tenant, self._checks.imports.count())


def _call_env(inv: Invocation) -> dict:
    """The variables a call's code sees (as strings), sent with its message."""
    return {k: str(v) for k, v in inv.env.items()} if inv.env else {}

""""inprocess" mode: run the callable in a thread of the server process.

Cheaper than worker processes, but with documented limitations:

* No isolation: ``os._exit``, segfaults or a runaway allocation in the
  callable affect the whole server. There is **no memory limit** in this mode
  (a MemoryError is still reported as OutOfMemoryError).
* Timeouts: each virtual worker runs its calls on its own daemon thread (kept
  between calls: starting a thread per call costs more than a no-op call). When a
  call exceeds its timeout the caller gets the timeout error at once, but the
  thread cannot be killed. It is *abandoned* with its worker and keeps running
  until the callable returns (its result is dropped). The key's loaded state is
  discarded so the next call is cold and runs load() again.
* ``os.environ`` is not changed per call; use ``mockserver.runtime.context``
  (``current().env`` / ``getenv``) to read the call's variables.
* Stdout is captured per thread via a ``sys.stdout`` proxy and a context
  variable; output of threads started by the callable is not captured.
* Warm/cold bookkeeping is simulated like process mode, except that load()
  runs once per *key* (all virtual workers of a key share the loaded module
  and state; with warm_slots > 1 calls run concurrently on that shared state).
  File bindings are executed as a fresh private module each time the key is
  loaded; import-path bindings use the normal (cached) import.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Optional

from mockserver.runtime import context as _context
from mockserver.runtime.context import Capture, InvocationContext
from mockserver.runtime.errors import StopReason, WorkerDied, call_error, cancelled_error
from mockserver.runtime.executor import Executed, Loaded, execute, prepare


CANCEL_POLL_S = 0.2                  # how often a call that can be cancelled looks at its event
_DISCARD = Capture(keep=False)       # the stdout of calls that did not ask for it: keeps nothing, shared


class _Runner:
    """A daemon thread that runs one virtual worker's calls, one at a time. A runner whose call
    timed out or was cancelled is abandoned (:meth:`stop`), never used again: its signal and
    result slot belong to that call alone.

    The caller wakes the runner by writing to a pipe the runner reads: the write lets go of the
    GIL before it wakes the runner, so the runner can take the GIL at once. (A queue's put wakes
    it while the caller still holds the GIL: it woke, found the GIL taken and slept again, about
    two more context switches per call under load.) The runner answers by releasing a lock; the
    caller waits on it with the call's timeout."""

    def __init__(self, name: str):
        self._wake_r, self._wake_w = os.pipe()
        self._job: Optional[tuple] = None
        # A bare lock as the one-shot "done" signal of the current call: released by the runner,
        # taken by the caller. Made once per runner, not per call.
        self._done = threading.Lock()
        self._done.acquire()
        self._result: Any = None
        try:
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        except BaseException:
            os.close(self._wake_r)
            os.close(self._wake_w)
            raise

    def run(self, fn, args: tuple, timeout: float, cancelled: Optional[threading.Event] = None):
        """``(finished, result)`` of ``fn(*args)``, waiting at most ``timeout`` seconds (less
        if ``cancelled`` is set)."""
        done = self._done
        self._job = (fn, args)
        os.write(self._wake_w, _RUN)
        if cancelled is None:
            finished = done.acquire(timeout=timeout)
        else:                              # in slices, looking at ``cancelled`` between them
            deadline = time.monotonic() + timeout
            finished = not cancelled.is_set() and done.acquire(timeout=min(timeout, CANCEL_POLL_S))
            while not finished and not cancelled.is_set() and (left := deadline - time.monotonic()) > 0:
                finished = done.acquire(timeout=min(left, CANCEL_POLL_S))
        if not finished:
            return False, None
        result, self._result = self._result, None
        return True, result

    def stop(self) -> None:
        """Exit after the current call (if any). The owner calls it once, never during :meth:`run`."""
        fd, self._wake_w = self._wake_w, -1
        if fd >= 0:
            try:
                os.write(fd, _EXIT)
            finally:
                os.close(fd)

    def _serve(self) -> None:
        done = self._done
        try:
            while os.read(self._wake_r, 1) == _RUN:
                fn, args = self._job
                self._job = None
                try:
                    self._result = fn(*args)
                except BaseException as exc:  # pragma: no cover - fn catches everything
                    self._result = exc
                done.release()
        finally:
            os.close(self._wake_r)


_RUN, _EXIT = b"\x01", b"\x00"


def _run_in_thread(fn, timeout: float, name: str):
    """``(finished, result)`` of ``fn()`` on a thread of its own (one call, then it exits)."""
    runner = _Runner(name)
    try:
        return runner.run(fn, (), timeout)
    finally:
        runner.stop()


def _run_call(loaded: Loaded, value: Any, ctx: InvocationContext, sink: Capture) -> Executed:
    """One call on a runner thread: its context and stdout sink set for the callable."""
    token = _context.set_current(ctx)
    sink_token = _context.set_stdout_target(sink)
    try:
        return execute(loaded, value)
    finally:
        _context.reset_stdout_target(sink_token)
        _context.reset_current(token)


class InprocShared:
    """The loaded module/state of one key, shared by its virtual workers."""

    def __init__(self, binding, ctx_base: InvocationContext):
        self.binding = binding
        self.ctx_base = ctx_base
        self.loaded: Optional[Loaded] = None
        self.lock = threading.Lock()
        self.discarded = False

    def ensure_loaded(self, timeout: float) -> Loaded:
        with self.lock:
            if self.loaded is not None:
                return self.loaded

            def do_load():
                token = _context.set_current(self.ctx_base)
                sink_token = _context.set_stdout_target(Capture(keep=False))
                try:
                    return prepare(self.binding, register=True)
                finally:
                    _context.reset_stdout_target(sink_token)
                    _context.reset_current(token)

            _context.ensure_stdout_proxy()
            done, loaded = _run_in_thread(do_load, timeout, "algo-load")
            if not done:
                raise WorkerDied(call_error(f"Algorithm timed out after {timeout:g} seconds (while starting)"),
                                 timed_out=True)
            self.loaded = loaded
            return loaded


class InprocWorker:
    """A virtual warm worker (for slots and cold/warm bookkeeping)."""

    mode = "inprocess"

    def __init__(self, shared: InprocShared, key: str, stdout_cap: int):
        self.shared = shared
        self.key = key
        self.stdout_cap = stdout_cap
        self.kill_reason: Optional[StopReason] = None
        self.last_used = time.monotonic()
        self.calls = 0
        self.pid = None
        self.load_error = None
        self._runner: Optional[_Runner] = None

    def start(self, timeout: float, cancelled: Optional[threading.Event] = None) -> None:
        loaded = self.shared.ensure_loaded(timeout)
        self.load_error = loaded.load_error
        self.last_used = time.monotonic()

    def alive(self, probe: bool = True) -> bool:
        return self.kill_reason is None and not self.shared.discarded

    def kill(self, reason: StopReason = StopReason.STOPPED) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason

    def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def stop(self) -> None:
        self.kill(StopReason.STOPPED)
        self.close()

    def call(self, value: Any, want_stdout: bool, env: dict, timeout: float,
             cancelled: Optional[threading.Event] = None) -> Executed:
        shared = self.shared
        base = shared.ctx_base
        ctx = InvocationContext(base.key, base.profile, base.processor, "inprocess", {**base.env, **env})
        sink = Capture(self.stdout_cap) if want_stdout else _DISCARD
        _context.ensure_stdout_proxy()
        if self._runner is None:
            self._runner = _Runner(f"algo-call:{self.key}")
        done, res = self._runner.run(_run_call, (shared.loaded, value, ctx, sink), timeout, cancelled)
        if not done and cancelled is not None and cancelled.is_set():
            self.kill(StopReason.CANCELLED)
            self.close()                   # the abandoned call's result is dropped
            raise WorkerDied(cancelled_error())
        if not done:
            self.kill(StopReason.TIMEOUT)
            self.close()                   # the runner exits when the abandoned call returns
            raise WorkerDied(call_error(f"Algorithm timed out after {timeout:g} seconds"), timed_out=True)
        self.calls += 1
        return res._replace(stdout=sink.getvalue()) if want_stdout else res    # execute() sets no stdout

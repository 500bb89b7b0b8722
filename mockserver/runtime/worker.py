"""Warm worker processes ("process" mode), seen from the server.

One worker = one OS process started with ``subprocess.Popen([sys.executable, "-c", ...])`` in
its own session (``start_new_session``), holding one end of a socket pair (``pass_fds``); what
runs in it is :mod:`.worker_main`. Messages are pickled and framed by :mod:`.framing` (one send
per message, one receive for a small reply, the reply timeout in the kernel): no per-call
process creation. No multiprocessing: the child is a fresh interpreter that imports only the
runtime, never the server's ``__main__``.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Optional

from mockserver.runtime import placement, procs
from mockserver.runtime.errors import (LOADING_ERROR, CallError, StopReason, WorkerDied, aborted_error, call_error,
                                       cancelled_error)
from mockserver.runtime.executor import Executed
from mockserver.runtime.framing import PROTOCOL, FramedSocket, Timeout

log = logging.getLogger("mockserver.runtime")
_dumps = pickle.dumps
_loads = pickle.loads
CANCEL_POLL_S = 0.2          # how often a call that can be cancelled looks at its event
SEND_AHEAD_MAX = 64 * 1024   # the largest call message sent ahead under the pools' lock (a socket buffer takes it at once)
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOT = ("import sys; sys.path.insert(0, sys.argv[2]); "
         "from mockserver.runtime.worker_main import child_main; child_main(int(sys.argv[1]))")
_reported: set = set()       # set-up problems of workers, logged once each per server process
_reported_lock = threading.Lock()


def report_setup_problems(pid: Optional[int], problems) -> None:
    """Log what a worker could not set up (no subreaper, no memory limit): once per problem."""
    for problem in problems or ():
        with _reported_lock:
            if problem in _reported:
                continue
            _reported.add(problem)
        log.warning("worker process %s: %s (logged once; later workers with the same problem are not)",
                    pid, problem)


def describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "exited unexpectedly"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited unexpectedly with code {code}"


class ProcessWorker:
    """Parent-side handle of one worker process. Not thread-safe: one call at a
    time (the engine's slots guarantee it); ``kill()`` may come from any thread."""

    mode = "process"

    def __init__(self, spec: dict, env: dict, cwd: Optional[str] = None, identity=None):
        """``identity``: the user to run as (``isolation.Identity``; None: the server's)."""
        self.spec = spec
        self.env = env
        self.cwd = cwd
        self.identity = identity
        self.proc = None                  # subprocess.Popen
        self.conn: Optional[FramedSocket] = None
        self.pid: Optional[int] = None
        self.kill_reason: Optional[StopReason] = None
        self.last_used = time.monotonic()
        self.calls = 0
        self._env_sent: Optional[dict] = None
        self.load_error: Optional[CallError] = None
        self._kill_lock = threading.Lock()

    # -- lifecycle
    def spawn(self) -> None:
        """Start the process and send it the spec (does not wait for it)."""
        cwd, code_fds = (self.cwd if self.cwd and os.path.isdir(self.cwd) else None), []
        if self.identity is not None:        # becomes that user at boot (isolation.Identity)
            problem = self.identity.cannot_read(self.spec["target"])
            if problem:
                raise WorkerDied(call_error(problem, LOADING_ERROR))
            run_as, code_fds = self.identity.run_as(self.spec["target"])
            self.spec, cwd = {**self.spec, "run_as": run_as}, self.identity.home
        cpus = placement.worker_cpus()
        if cpus:                             # off the pinned server's CPU (placement.py)
            self.spec = {**self.spec, "cpus": cpus}
        parent_sock, child_sock = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child_sock.fileno()), _PACKAGE_ROOT],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(child_sock.fileno(), *code_fds), start_new_session=True, env=self.env, cwd=cwd)
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
            for fd in code_fds:
                os.close(fd)
        self.proc, self.conn, self.pid = proc, FramedSocket(parent_sock), proc.pid
        if self.kill_reason is not None:      # reset() while we were starting
            self.kill(self.kill_reason)
        try:
            self.conn.send(_dumps(self.spec, PROTOCOL))
        except OSError:
            pass                              # it died: the first receive says so

    def start(self, timeout: float, cancelled: Optional[threading.Event] = None) -> None:
        """Start the process and wait until load() finished. Raises WorkerDied."""
        self.spawn()
        msg = self.receive(timeout, cancelled, "while starting")
        if msg is None:
            raise WorkerDied(self._death_error("while starting"))
        _, pid, _, self.load_error, problems = msg
        report_setup_problems(pid, problems)
        self.last_used = time.monotonic()

    def alive(self, probe: bool = True) -> bool:
        """Usable for calls; ``probe=False`` skips asking whether the process still runs
        (for a worker that has just answered a call)."""
        if self.proc is None or self.kill_reason is not None:
            return False
        return not probe or self.proc.poll() is None

    def kill(self, reason: StopReason = StopReason.STOPPED) -> None:
        """Kill the process and everything it started, now (any thread). Does not wait."""
        if self.kill_reason is None:
            self.kill_reason = reason
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with self._kill_lock:
                procs.kill_tree(proc.pid)

    def close(self) -> None:
        """Reap the process and close the socket (owner thread)."""
        proc, conn = self.proc, self.conn
        if proc is not None:
            if proc.poll() is None:
                self.kill(self.kill_reason or StopReason.STOPPED)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                log.error("worker process %s did not exit within 5 s of SIGKILL (uninterruptible sleep?); "
                          "it is left to the operating system", proc.pid)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.kill(StopReason.STOPPED)
        self.close()

    # -- calls
    def call(self, value: Any, want_stdout: bool, env: dict, timeout: float,
             cancelled: Optional[threading.Event] = None) -> Executed:
        """One call, with its stdout when ``want_stdout``. Raises WorkerDied on crash /
        timeout / cancel (the worker is then dead)."""
        message = self._call_message(value, want_stdout, env)
        try:
            self.conn.send(message)
        except OSError:
            raise WorkerDied(self._death_error()) from None
        self._env_sent = env
        return self.reply(timeout, cancelled)

    def message_ahead(self, value: Any, want_stdout: bool, env: dict) -> Optional[bytes]:
        """A queued call's message, made by the thread whose call on this worker has just ended
        (under the pools' lock, hence the size bound), for it to :meth:`send_ahead` once it has
        let go of that lock: the worker then starts at once instead of when the queued call's
        thread gets to run, and that thread only reads the :meth:`reply`. None (nothing to send)
        for a message over ``SEND_AHEAD_MAX`` bytes or one that does not pickle: the queued call
        sends it itself, and meets the same error. The queued call's timeout counts from its
        first read, a thread wake-up after the worker started on it."""
        try:
            message = self._call_message(value, want_stdout, env)
        except Exception:       # noqa: BLE001 - e.g. RecursionError: the call itself raises it again
            return None
        if len(message) > SEND_AHEAD_MAX:
            return None
        self._env_sent = env
        return message

    def send_ahead(self, message: bytes) -> None:
        """Send what :meth:`message_ahead` made (outside the pools' lock: a send lets go of the GIL)."""
        try:
            self.conn.send(message)
        except OSError:
            pass                # a dead worker: the reply's read reports its death, as call() would

    def reply(self, timeout: float, cancelled: Optional[threading.Event] = None) -> Executed:
        """The answer to the call sent last (by :meth:`call` or :meth:`send_ahead`; a reply read
        before a message sent ahead has gone out waits for it)."""
        reply = self.receive(timeout, cancelled)
        if reply is None:
            raise WorkerDied(self._death_error())
        self.calls += 1
        return Executed._make(reply)          # its fields as a plain tuple (worker_main._serve_calls)

    def _call_message(self, value: Any, want_stdout: bool, env: dict) -> bytes:
        return _dumps(("call", want_stdout, None if env == self._env_sent else env, value), PROTOCOL)

    def receive(self, timeout: float, cancelled: Optional[threading.Event], when: str = ""):
        """The next message, or None if the worker died. Kills it and raises WorkerDied on
        timeout or when ``cancelled`` is set."""
        conn = self.conn
        suffix = f" ({when})" if when else ""
        try:
            if cancelled is None:
                return _loads(conn.recv(timeout))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout()
                try:
                    return _loads(conn.recv(min(CANCEL_POLL_S, remaining)))
                except Timeout:
                    if cancelled.is_set():
                        self.kill(StopReason.CANCELLED)
                        raise WorkerDied(cancelled_error()) from None
        except Timeout:
            self.kill(StopReason.TIMEOUT)
            raise WorkerDied(call_error(f"Algorithm timed out after {_fmt(timeout)} seconds{suffix}"),
                             timed_out=True) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            return None

    def _death_error(self, when: str = "") -> CallError:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(2)
            except subprocess.TimeoutExpired:
                code = None               # still running (its socket broke): "exited unexpectedly"
        if self.kill_reason in (StopReason.RESET, StopReason.SHUTDOWN):
            return aborted_error(self.kill_reason)
        if self.kill_reason == StopReason.CANCELLED:
            return cancelled_error()
        msg = f"Algorithm process {describe_exit(code)}" + (f" {when}" if when else "")
        if code == -signal.SIGKILL and self.kill_reason is None:
            msg += " (possibly out of memory)"
        return call_error(msg)


def _fmt(seconds: float) -> str:
    return f"{seconds:g}"

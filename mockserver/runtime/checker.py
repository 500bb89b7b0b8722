"""Binding checks: import a target in a checker process, never in the server.

A checker process (:mod:`.worker_main` with ``check_only``) imports and resolves one target
after another. It is reused from one check to the next while it stays healthy; a check that
crashes it, exits or outlasts its timeout is reported and that process replaced. Checks that
run at once each get a process of their own (how many may run is :mod:`.admission`'s to say).
Idle checkers stop after :attr:`BindingChecker.IDLE_S`. Every checker process counts against the
server's process budget (an idle one may be stopped for another's start: it is an
:class:`~.capacity.IdleHolder`), and one of untrusted code writes into its own bounded folder.
"""
from __future__ import annotations

import pickle
import subprocess
import threading
import time
from typing import Optional

from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.errors import StopReason, WorkerDied
from mockserver.runtime.framing import PROTOCOL
from mockserver.runtime.managed import ManagedWorker
from mockserver.runtime.reaper import stop_workers
from mockserver.runtime.workdirs import WorkDir
from mockserver.runtime.worker import describe_exit


class BindingChecker:
    IDLE_S = 5.0

    def __init__(self, budget: Optional[ProcessBudget] = None, workdir: Optional[WorkDir] = None):
        """``budget``: the server's process cap (None: none); ``workdir``: the folder of the one
        process of a checker made for one untrusted check (its HOME and TMPDIR, already in the
        environment it is given)."""
        self.budget = budget
        self.workdir = workdir
        self._lock = threading.Lock()
        self._idle: list[tuple[ManagedWorker, tuple, float]] = []    # (checker, started_for, idle since)
        self._busy: set[ManagedWorker] = set()
        self._timer: Optional[threading.Timer] = None

    def check(self, target: str, env: dict, cwd: Optional[str], sys_path: list, timeout: float,
              identity=None) -> Optional[str]:
        """None if ``target`` imports and has its function, else why not."""
        return self.check_traced(target, env, cwd, sys_path, timeout, identity)[0]

    def check_traced(self, target: str, env: dict, cwd: Optional[str], sys_path: list, timeout: float,
                     identity=None) -> tuple[Optional[str], Optional[str]]:
        """``(problem, traceback)``: both None when ``target`` imports and has its function.
        ``identity``: the user the checker runs as (``isolation.Identity``; None: the server's)."""
        problem = identity.cannot_read(target) if identity is not None else None
        if problem:
            return problem, None
        started_for = (cwd, tuple(sys_path), tuple(sorted(env.items())), identity)
        worker = self._take(started_for)
        if worker is None:
            worker = ManagedWorker({"target": target, "memory_mb": 4096, "sys_path": sys_path, "check_only": True},
                                   env, cwd, identity, budget=self.budget, workdir=self.workdir,
                                   what="a binding check")
            with self._lock:
                self._busy.add(worker)
            try:
                worker.spawn()                # raises ProcessesBusy at the server's process cap
            except BaseException:
                self._drop(worker)
                raise
        else:
            try:
                worker.conn.send(pickle.dumps(("check", target), PROTOCOL))
            except OSError:
                pass                      # it died: the receive says so
        try:
            msg = worker.receive(timeout, None)
        except WorkerDied:
            self._drop(worker)
            return worker.disk_overrun() or f"importing it took longer than {timeout:g} seconds", None
        if msg is None:
            try:
                code = worker.proc.wait(2) if worker.proc else None
            except subprocess.TimeoutExpired:
                code = None
            self._drop(worker)
            return worker.disk_overrun() or f"the process importing it {describe_exit(code)}", None
        overrun = worker.disk_overrun(measure=True)
        if overrun:
            self._drop(worker)
            return overrun, None
        self._give_back(worker, started_for)
        return msg[1], msg[2]

    def _take(self, started_for: tuple) -> Optional[ManagedWorker]:
        """An idle checker started for this environment, or None; idle ones started for
        another environment or dead are stopped."""
        stale, found = [], None
        with self._lock:
            keep = []
            for entry in self._idle:
                worker, made_for, _ = entry
                if found is None and made_for == started_for and worker.alive():
                    found = worker
                elif made_for != started_for or not worker.alive():
                    stale.append(worker)
                else:
                    keep.append(entry)
            self._idle = keep
            if found is not None:
                self._busy.add(found)
        stop_workers(stale, "a stale binding checker")
        return found

    def _drop(self, worker: ManagedWorker) -> None:
        with self._lock:
            self._busy.discard(worker)
        stop_workers([worker], "a failed binding checker")

    def _give_back(self, worker: ManagedWorker, started_for: tuple) -> None:
        with self._lock:
            self._busy.discard(worker)
            if worker.alive(probe=False):      # else stop() killed it mid-check
                self._idle.append((worker, started_for, time.monotonic()))
                self._schedule_locked(self.IDLE_S)

    def _schedule_locked(self, delay: float) -> None:
        if self._timer is None:
            self._timer = threading.Timer(delay, self._stop_idle)
            self._timer.daemon = True
            self._timer.start()

    def _stop_idle(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._timer = None
            due = [e for e in self._idle if now - e[2] >= self.IDLE_S]
            self._idle = [e for e in self._idle if now - e[2] < self.IDLE_S]
            if self._idle:
                self._schedule_locked(max(0.05, min(e[2] for e in self._idle) + self.IDLE_S - now))
        stop_workers([e[0] for e in due], "an idle binding checker")

    def stop(self) -> None:
        """Kill every checker now, even mid-check (that check then reports the kill)."""
        with self._lock:
            busy, idle = list(self._busy), [e[0] for e in self._idle]
            self._idle = []
        for worker in busy:
            worker.kill(StopReason.STOPPED)
        stop_workers(idle, "an idle binding checker")

    # -- what the server's process budget may evict (capacity.IdleHolder) ---------------------
    def oldest_idle(self) -> Optional[float]:
        with self._lock:
            return min((since for _, _, since in self._idle), default=None)

    def evict_oldest_idle(self) -> Optional[ManagedWorker]:
        with self._lock:
            if not self._idle:
                return None
            entry = min(self._idle, key=lambda e: e[2])
            self._idle.remove(entry)
            return entry[0]

    def count(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._busy)

"""A worker or checker process with the server's bounds on it: counted against the server-wide
:class:`~.capacity.ProcessBudget` from its start until it is reaped, and, for untrusted code,
holding a private :class:`~.workdirs.WorkDir` whose size is checked after each call (removed
with the process)."""
from __future__ import annotations

from typing import Any, Optional

from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.errors import StopReason, WorkerDied, call_error
from mockserver.runtime.workdirs import WorkDir
from mockserver.runtime.worker import ProcessWorker


class ManagedWorker(ProcessWorker):
    def __init__(self, spec: dict, env: dict, cwd: Optional[str] = None, identity=None, *,
                 budget: Optional[ProcessBudget] = None, workdir: Optional[WorkDir] = None, what: str = "a worker"):
        """``budget``: the server's process cap (None: none); ``workdir``: the process's own folder
        (its HOME and TMPDIR, already in ``env``; None: trusted code, unbounded)."""
        if workdir is not None and workdir.quota:
            spec = {**spec, "max_file_bytes": workdir.quota}
        super().__init__(spec, env, cwd, identity)
        self.budget = budget
        self.workdir = workdir
        self.what = what
        self._released = False
        if workdir is not None:
            workdir.attach(self)

    def spawn(self) -> None:
        """Count the process against the budget (raises ProcessesBusy), then start it."""
        if self.budget is not None:
            self.budget.admit(self, self.what)
        try:
            super().spawn()
        except BaseException:
            self._release()
            raise

    def call(self, value: Any, want_stdout: bool, env: dict, timeout: float, cancelled=None):
        """One call; past its folder's bound (measured now, or by the watcher mid-call) the call
        fails with that reason and the worker is replaced."""
        try:
            done = super().call(value, want_stdout, env, timeout, cancelled)
        except WorkerDied:
            overrun = self.disk_overrun()
            if overrun:
                raise WorkerDied(call_error(overrun)) from None
            raise
        overrun = self.disk_overrun(measure=True)
        if overrun:
            self.kill(StopReason.STOPPED)
            raise WorkerDied(call_error(overrun))
        return done

    def disk_overrun(self, measure: bool = False) -> Optional[str]:
        """Why the process went past its folder's bound, or None (``measure``: look now)."""
        workdir = self.workdir
        if workdir is None or not workdir.quota:
            return None
        return workdir.check() if measure else workdir.overrun

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        if self.workdir is not None:
            self.workdir.remove()
        if self.budget is not None:
            self.budget.release(self)

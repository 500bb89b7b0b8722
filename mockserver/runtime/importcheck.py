"""The one import check, shared by binding checks and builds.

Both import the target in a checker process (``worker_main.py``'s ``check_only`` mode: the
same loader a worker uses, so what passes the check loads in a call), started by
:class:`~.checker.BindingChecker` with the environment and user a worker of that code gets
(:class:`~.isolation.Isolation`). Binding checks share one checker process, reused while its
environment stays the same. A build's check gets one of its own: its environment carries the
build's ``ALGORITHMIA_API`` and a key of the algorithm's owner, and a slow import of one build
must not hold up another's. So does a check of untrusted code (bound over HTTP, or a pushed
commit): that process gets a bounded folder of its own (:mod:`.workdirs`) and, as root, runs as
another user that may read the folder of the one binding it checks, no other. Every checker
process counts against the server's process budget (:mod:`.capacity`).
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Mapping, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.isolation import Isolation
from mockserver.runtime.profiles import GPU_ENV_VARS
from mockserver.runtime.checker import BindingChecker


class ImportChecks:
    def __init__(self, isolation: Isolation, budget: Optional[ProcessBudget] = None):
        self.isolation = isolation
        self.budget = budget
        self.shared = BindingChecker(budget)
        if budget is not None:
            budget.register(self.shared)          # its idle checkers may be stopped for other starts
        self._lock = threading.Lock()
        self._own: set[BindingChecker] = set()       # checkers of builds, running now

    def check(self, binding: Binding, timeout: float) -> Optional[str]:
        """None if a file or module binding imports and has its function, else why not."""
        return self.check_traced(binding, timeout)[0]

    def check_traced(self, binding: Binding, timeout: float, env: Optional[Mapping[str, str]] = None
                     ) -> tuple[Optional[str], Optional[str]]:
        """``(problem, traceback)``, both None when the import succeeds. ``env``: variables of
        a build (then the check runs in a process of its own). Raises ProcessesBusy when the
        server's process cap is reached and no idle process can be stopped."""
        kind, location, function = binding.parse()
        target = f"{location}:{function}" if kind == "file" else binding.target
        identity = self.isolation.identity(binding)
        sys_path = [p for p in sys.path if p]
        if env is None and self.isolation.trusted(binding):
            child_env = self.isolation.environment(binding, env, drop=GPU_ENV_VARS)
            return self.shared.check_traced(target, child_env, os.getcwd(), sys_path, timeout)
        workdir = self.isolation.workdir(binding, identity)      # untrusted: a folder of its own
        if workdir is not None and identity is not None:
            identity = identity._replace(home=workdir.path)
        child_env = self.isolation.environment(binding, env, drop=GPU_ENV_VARS, identity=identity,
                                               home=workdir.path if workdir is not None else None)
        cwd = identity.home if identity is not None and identity.home else os.getcwd()
        checker = BindingChecker(self.budget, workdir)
        with self._lock:
            self._own.add(checker)
        try:
            return checker.check_traced(target, child_env, cwd, sys_path, timeout, identity)
        finally:
            with self._lock:
                self._own.discard(checker)
            checker.stop()
            if workdir is not None:
                workdir.remove()                      # never started (refused), or gone with its process

    def count(self) -> int:
        """Checker processes alive now (the shared checker's and those of single checks)."""
        with self._lock:
            own = list(self._own)
        return self.shared.count() + sum(checker.count() for checker in own)

    def stop(self) -> None:
        """Kill every checker now (a check in flight reports the kill)."""
        with self._lock:
            own = list(self._own)
        for checker in [self.shared, *own]:
            checker.stop()

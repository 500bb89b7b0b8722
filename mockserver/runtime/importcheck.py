"""The one import check, shared by binding checks and builds.

Both import the target in a checker process (``worker_main.py``'s ``check_only`` mode: the
same loader a worker uses, so what passes the check loads in a call), started by
:class:`~.checker.BindingChecker` with the environment and user a worker of that code gets
(:class:`~.isolation.Isolation`). Binding checks share one checker process, reused while its
environment stays the same. A build's check gets one of its own: its environment carries the
build's ``ALGORITHMIA_API`` and a key of the algorithm's owner, and a slow import of one build
must not hold up another's. So does a check that runs as another user: that process may read
the folder of the one binding it checks, no other.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Mapping, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.isolation import Isolation
from mockserver.runtime.profiles import GPU_ENV_VARS
from mockserver.runtime.checker import BindingChecker


class ImportChecks:
    def __init__(self, isolation: Isolation):
        self.isolation = isolation
        self.shared = BindingChecker()
        self._lock = threading.Lock()
        self._own: set[BindingChecker] = set()       # checkers of builds, running now

    def check(self, binding: Binding, timeout: float) -> Optional[str]:
        """None if a file or module binding imports and has its function, else why not."""
        return self.check_traced(binding, timeout)[0]

    def check_traced(self, binding: Binding, timeout: float, env: Optional[Mapping[str, str]] = None
                     ) -> tuple[Optional[str], Optional[str]]:
        """``(problem, traceback)``, both None when the import succeeds. ``env``: variables of
        a build (then the check runs in a process of its own)."""
        kind, location, function = binding.parse()
        target = f"{location}:{function}" if kind == "file" else binding.target
        identity = self.isolation.identity(binding)
        child_env = self.isolation.environment(binding, env, drop=GPU_ENV_VARS, identity=identity)
        cwd = identity.home if identity is not None else os.getcwd()
        sys_path = [p for p in sys.path if p]
        if env is None and identity is None:
            return self.shared.check_traced(target, child_env, cwd, sys_path, timeout)
        checker = BindingChecker()
        with self._lock:
            self._own.add(checker)
        try:
            return checker.check_traced(target, child_env, cwd, sys_path, timeout, identity)
        finally:
            with self._lock:
                self._own.discard(checker)
            checker.stop()

    def stop(self) -> None:
        """Kill every checker now (a check in flight reports the kill)."""
        with self._lock:
            own = list(self._own)
        for checker in [self.shared, *own]:
            checker.stop()

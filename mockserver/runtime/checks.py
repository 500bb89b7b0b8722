"""Does a binding import? (``Engine.check_binding``): resolved here for the template and
callables of this process, imported in a checker process for files and modules (the one import
check builds use too, :mod:`.importcheck`, with the environment and user a worker of that code
gets), each such import holding a slot of the server's binding-check pool (:mod:`.admission`).
Answers for an unchanged file are remembered. The ``mockserver`` command starts its fixtures'
checks early (:meth:`BindingChecks.prefetch`), while the app's modules load; the fixtures' own
checks then wait for those answers instead of importing the files again (docs/speed.md, "Start-up")."""
from __future__ import annotations

import os
import threading
from typing import Optional

from mockserver.runtime.admission import Tenant
from mockserver.runtime.binding import Binding, load_binding
from mockserver.runtime.errors import BindingError, ChecksBusy, ProcessesBusy
from mockserver.runtime.importcheck import ImportChecks

_CACHE_MAX = 1024


class BindingChecks:
    def __init__(self, tenant: Optional[Tenant], timeout_s: float, imports: ImportChecks):
        self.tenant = tenant
        self.timeout_s = float(timeout_s)
        self.imports = imports
        self.checker = imports.shared
        self._cache: dict[tuple, Optional[str]] = {}
        self._prefetching: dict[tuple, threading.Event] = {}     # start-up's early file checks in flight
        self._lock = threading.Lock()

    def check(self, binding: Binding) -> Optional[str]:
        """None if the binding imports and has a callable ``apply`` (or the named function);
        else why not. Raises ChecksBusy when no check slot is free (or no process may start:
        the server's process cap). Does not run load()."""
        if binding.is_template:
            return None
        try:
            kind, location, func = binding.parse()
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
            with self._lock:
                prefetch = self._prefetching.get(cache_key)
            if prefetch is not None:          # start-up's early check of this file: its answer is this one
                prefetch.wait(self.timeout_s + 5)
            with self._lock:
                if cache_key in self._cache:
                    return self._cache[cache_key]
        problem = self._import(binding)
        if cache_key is not None:
            self._remember(cache_key, problem)
        return problem

    def prefetch(self, bindings: list[Binding]) -> None:
        """Check these file bindings now, one after another in one checker process, and remember
        the answers, for the ``check`` calls that will ask for them: each such call waits for its
        answer meanwhile (all of them are announced before the first import). The ``mockserver``
        command's fixture checks, started before the fixtures load. Only start-up prefetches: a
        check of a file that an HTTP request is checking still takes a slot of its own (or is
        refused), as before. A prefetch refused a slot leaves that check to its caller."""
        todo: list[tuple[Binding, tuple, threading.Event]] = []
        with self._lock:
            for binding in bindings:
                try:
                    kind, location, _func = binding.parse()
                    st = os.stat(location) if kind == "file" else None
                except (BindingError, OSError):
                    continue                      # the check itself says why
                cache_key = st and (binding, location, st.st_mtime_ns, st.st_size)
                if cache_key and cache_key not in self._cache and cache_key not in self._prefetching:
                    todo.append((binding, cache_key, self._prefetching.setdefault(cache_key, threading.Event())))
        try:
            for binding, cache_key, done in todo:
                try:
                    self._remember(cache_key, self._import(binding))
                except Exception:                 # noqa: BLE001 -- e.g. no free slot: the caller's check says why
                    pass
                finally:
                    with self._lock:
                        del self._prefetching[cache_key]
                    done.set()
        finally:                                  # interrupted (shut down): nobody waits for the rest
            with self._lock:
                for _binding, cache_key, done in todo:
                    if self._prefetching.get(cache_key) is done:
                        del self._prefetching[cache_key]
                    done.set()

    def _remember(self, cache_key: tuple, problem: Optional[str]) -> None:
        with self._lock:
            if len(self._cache) > _CACHE_MAX:
                self._cache.clear()
            self._cache[cache_key] = problem

    def _import(self, binding: Binding) -> Optional[str]:
        if self.tenant is not None:
            self.tenant.enter_check()
        try:
            return self.imports.check(binding, self.timeout_s)
        except ProcessesBusy as busy:     # the server's process cap, every process busy
            raise ChecksBusy(busy.message, busy.retry_after) from None
        finally:
            if self.tenant is not None:
                self.tenant.leave_check()

    def stop(self) -> None:
        self.imports.stop()

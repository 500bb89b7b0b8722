"""Admission: how many calls, binding checks and builds may be in flight, server-wide and per sandbox.

Every algorithm call (running, waiting for a warm slot, or an ``output=void`` call on its own
thread), every binding check (an import in a checker process, up to its timeout) and every build
(a ``git push`` or ``POST .../compile``: checkout, requirements, an import check of up to 60 s)
holds a thread until it ends. A server runs a fixed number of request threads, shared by all its
sandboxes, each of which has its own :class:`~mockserver.runtime.engine.Engine`. So the bounds
live above the engines: the root server owns one :class:`Admission` and hands each engine a
:class:`Tenant` of it (one per sandbox).

Each :class:`Quota` (one for calls, one for checks, one for builds) has a size and a share: at most ``size`` in
flight across all tenants, at most ``share`` for any one tenant, so one sandbox's load always
leaves ``size - share`` to the others. Past either bound the answer is an immediate refusal
(:class:`ServerBusy`, :class:`ChecksBusy`, :class:`BuildsBusy`: 429 with ``Retry-After`` on the
wire, or a refused push), never a wait. The same root server also owns the
:class:`~.capacity.ProcessBudget`, the cap on live worker and checker processes of all sandboxes.

:class:`KeyCaps` is the per-API-key cap within one engine (``invocations_per_key``).
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Iterator, Optional

from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.errors import BuildsBusy, ChecksBusy, KeyBusy, ServerBusy

log = logging.getLogger("mockserver.runtime")


class Quota:
    """Slots shared by tenants: ``size`` in all (None: no bound), ``share`` per tenant."""

    def __init__(self, what: str, size: Optional[int], share: Optional[int] = None):
        self.what = what
        self.size = None if size is None else max(1, int(size))
        share = self.size if share is None else max(1, int(share))
        self.share = share if self.size is None or share is None else min(share, self.size)
        self._lock = threading.Lock()
        self._held: dict[object, int] = {}
        self.in_use = 0
        self.refused = 0

    def take(self, tenant: object) -> Optional[str]:
        """Take a slot for ``tenant``: None, or why not (the slot is not taken)."""
        with self._lock:
            held = self._held.get(tenant, 0)
            if self.size is not None and self.in_use >= self.size:
                why = f"the server has {self.in_use} {self.what} in flight (limit {self.size}, all sandboxes)"
            elif self.share is not None and held >= self.share:
                why = f"this sandbox has {held} {self.what} in flight (limit {self.share} per sandbox)"
            else:
                self._held[tenant] = held + 1
                self.in_use += 1
                return None
            self.refused += 1
            return why

    def give(self, tenant: object) -> None:
        with self._lock:
            held = self._held.get(tenant, 0)
            if held <= 0:
                log.error("admission: %s slot given back by a tenant holding none", self.what)
                return
            if held == 1:
                del self._held[tenant]
            else:
                self._held[tenant] = held - 1
            self.in_use -= 1

    def held_by(self, tenant: object) -> int:
        return self._held.get(tenant, 0)

    def stats(self) -> dict:
        return {"limit": self.size, "per_sandbox": self.share, "in_flight": self.in_use,
                "sandboxes": len(self._held), "refused": self.refused}


class Admission:
    """The server-wide pools of calls, binding checks and builds (None: unbounded, for library
    use), and the server's :class:`~.capacity.ProcessBudget` (None: no server-wide cap)."""

    def __init__(self, calls: Optional[int] = None, calls_per_tenant: Optional[int] = None,
                 checks: Optional[int] = None, checks_per_tenant: Optional[int] = None,
                 builds: Optional[int] = None, builds_per_tenant: Optional[int] = None,
                 processes: Optional[ProcessBudget] = None):
        self.calls = Quota("calls", calls, calls_per_tenant)
        self.checks = Quota("binding checks", checks, checks_per_tenant)
        self.builds = Quota("builds", builds, builds_per_tenant)
        self.processes = processes

    @classmethod
    def for_threads(cls, threads: int, calls: int, calls_per_tenant: int, checks: int,
                    checks_per_tenant: int, builds: Optional[int] = None, builds_per_tenant: Optional[int] = None,
                    processes: Optional[ProcessBudget] = None) -> "Admission":
        """The pools for a server of ``threads`` request threads: as configured, shrunk when
        they would leave fewer than ``headroom(threads)`` threads to every other request
        (``builds`` None: builds unbounded, as before they had a pool)."""
        calls, checks = max(1, calls), max(1, checks)
        budget = max(2, threads - headroom(threads))
        eff_calls, eff_checks = calls, checks
        eff_builds = None if builds is None else max(1, builds)
        if calls + checks + (eff_builds or 0) > budget:
            eff_checks = max(1, min(checks, budget // 5))
            if eff_builds is not None:
                eff_builds = max(1, min(eff_builds, budget // 5))
            eff_calls = max(1, min(calls, budget - eff_checks - (eff_builds or 0)))
            if eff_builds is None:
                admitted, configured = f"{eff_calls} calls and {eff_checks} binding checks", f"{calls} and {checks}"
            else:
                admitted = f"{eff_calls} calls, {eff_checks} binding checks and {eff_builds} builds"
                configured = f"{calls}, {checks} and {builds}"
            log.info("with %d request threads, at most %s are admitted at once (configured %s), leaving %d threads "
                     "to other requests", threads, admitted, configured,
                     threads - eff_calls - eff_checks - (eff_builds or 0))
        per_build = None if eff_builds is None else min(builds_per_tenant or eff_builds, eff_builds)
        return cls(eff_calls, min(calls_per_tenant, eff_calls), eff_checks, min(checks_per_tenant, eff_checks),
                   eff_builds, per_build, processes)

    def tenant(self, name: str = "") -> "Tenant":
        return Tenant(self, name)

    def stats(self) -> dict:
        out = {"calls": self.calls.stats(), "binding_checks": self.checks.stats(), "builds": self.builds.stats()}
        if self.processes is not None:
            out["processes"] = self.processes.stats()
        return out


def headroom(threads: int) -> int:
    """Request threads the pools never take: a quarter, and at least 4."""
    return max(4, threads // 4)


class Tenant:
    """One engine's (one sandbox's) handle on the server's :class:`Admission`."""

    def __init__(self, admission: Admission, name: str = ""):
        self.admission = admission
        self.name = name

    def enter_call(self) -> None:
        """Take a call slot or raise :class:`ServerBusy`; :meth:`leave_call` gives it back."""
        why = self.admission.calls.take(self)
        if why is not None:
            raise ServerBusy(f"{why}; try again later")

    def leave_call(self) -> None:
        self.admission.calls.give(self)

    def enter_check(self) -> None:
        """Take a binding-check slot or raise :class:`ChecksBusy`; :meth:`leave_check` gives it back."""
        why = self.admission.checks.take(self)
        if why is not None:
            raise ChecksBusy(f"{why}; try again later")

    def leave_check(self) -> None:
        self.admission.checks.give(self)

    def enter_build(self) -> None:
        """Take a build slot or raise :class:`BuildsBusy`; :meth:`leave_build` gives it back."""
        why = self.admission.builds.take(self)
        if why is not None:
            raise BuildsBusy(f"{why}; try again later")

    def leave_build(self) -> None:
        self.admission.builds.give(self)

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """A build slot for the ``with`` block (raises :class:`BuildsBusy` when none is free)."""
        self.enter_build()
        try:
            yield
        finally:
            self.leave_build()

    def stats(self) -> dict:
        return {"calls": self.admission.calls.held_by(self), "binding_checks": self.admission.checks.held_by(self),
                "builds": self.admission.builds.held_by(self)}


class KeyCaps:
    """At most ``limit`` calls in flight per API key (0: no cap), within one engine."""

    def __init__(self, limit: int):
        self.limit = max(0, int(limit))
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def enter(self, key: Optional[str]) -> bool:
        """Count a call of ``key``; raises :class:`KeyBusy` past the cap. False: not counted
        (no cap, or no key), so :meth:`leave` must not be called."""
        if not self.limit or key is None:
            return False
        with self._lock:
            n = self._in_flight.get(key, 0)
            if n >= self.limit:
                raise KeyBusy(f"this API key already has {n} calls running (limit {self.limit})",
                              key=key, queued=n, limit=self.limit)
            self._in_flight[key] = n + 1
        return True

    def leave(self, key: str) -> None:
        with self._lock:
            n = self._in_flight.get(key, 1) - 1
            if n > 0:
                self._in_flight[key] = n
            else:
                self._in_flight.pop(key, None)

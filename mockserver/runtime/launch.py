"""Starting a worker for a pool: a worker process (its spec, environment, user and private
folder; counted against the server's process budget) or an in-process virtual worker, and the
simulated cold start (``cold_start_s * scale``, of which the real start-up time is already
spent). The launcher is also how the server's :class:`~.capacity.ProcessBudget` reaches this
engine's idle workers to evict them for another sandbox's start."""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Mapping, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.context import InvocationContext
from mockserver.runtime.errors import WorkerDied, call_error
from mockserver.runtime.inproc import InprocShared, InprocWorker
from mockserver.runtime.isolation import Identity, Isolation
from mockserver.runtime.managed import ManagedWorker
from mockserver.runtime.pools import Pool, Pools
from mockserver.runtime.profiles import GPU_ENV_VARS, Profile
from mockserver.runtime.reaper import stop_workers


def base_env(profile: Profile) -> dict:
    """The variables every call of ``profile`` sees (its own, its name and processor)."""
    return {**profile.env, "ALGORITHMIA_PROFILE": profile.name, "ALGORITHMIA_PROCESSOR": profile.processor}


def process_env(isolation: Isolation, binding: Binding, extra: Mapping[str, str], profile: Optional[Profile] = None,
                identity: Optional[Identity] = None, home: Optional[str] = None) -> dict:
    """A worker process's environment (:mod:`.childenv`, through ``isolation``): never the
    server's MOCKSERVER_* and ALGORITHMIA_* variables, GPU variables only where the profile
    sets them, then the profile's base variables and ``extra``; ``home``: its own folder."""
    env = dict(base_env(profile)) if profile is not None else {}
    env.update(extra)
    return isolation.environment(binding, env, drop=GPU_ENV_VARS, identity=identity, home=home)


def child_sys_path() -> list:
    return [p for p in sys.path if p]


class Launcher:
    def __init__(self, pools: Pools, scale: float, stdout_cap: int, isolation: Optional[Isolation] = None,
                 budget: Optional[ProcessBudget] = None):
        """``budget``: the server's cap on live processes, shared with other sandboxes (None: none)."""
        self.pools = pools
        self.scale = scale
        self.stdout_cap = stdout_cap
        self.isolation = isolation or Isolation()
        self.budget = budget
        if budget is not None:
            budget.register(self)

    def start(self, pool: Pool, timeout: float, cancelled: Optional[threading.Event] = None):
        """A started worker for ``pool`` (counted in its ``active``) and the simulated cold
        start it cost: ``(worker, seconds)``. Raises WorkerDied."""
        profile = pool.profile
        t0 = time.perf_counter()
        if pool.mode == "inprocess":
            worker = self._inprocess(pool)
        else:
            worker = self._process(pool, timeout)
        try:
            worker.start(timeout, cancelled)
        except BaseException:
            with self.pools.lock:
                self.pools.discard_locked(pool, worker)
            stop_workers([worker], "a worker that failed to start")
            raise
        real = time.perf_counter() - t0
        simulated = profile.cold_start_s * self.scale
        if simulated > real:
            time.sleep(simulated - real)
        return worker, simulated

    def _inprocess(self, pool: Pool) -> InprocWorker:
        profile = pool.profile
        with self.pools.lock:
            if pool.shared is None or pool.shared.discarded:
                ctx = InvocationContext(pool.key, profile.name, profile.processor, "inprocess", base_env(profile))
                pool.shared = InprocShared(pool.binding, ctx)
            worker = InprocWorker(pool.shared, pool.key, self.stdout_cap)
            pool.active.add(worker)
            pool.cold_starts += 1
        return worker

    def _process(self, pool: Pool, timeout: float) -> ManagedWorker:
        identity = self.isolation.identity(pool.binding)     # its own user, when the server is root
        workdir = self.isolation.workdir(pool.binding, identity)     # HOME, TMPDIR: untrusted code only
        reserved, evicted = self.pools.reserve_process(timeout)
        stop_workers(evicted, "an evicted idle worker")
        if not reserved:
            if workdir is not None:
                workdir.remove()
            raise WorkerDied(call_error(f"No capacity to start a worker for {pool.key} "
                                        f"(max_workers={self.pools.max_workers} reached)"))
        if workdir is not None and identity is not None:
            identity = identity._replace(home=workdir.path)
        env = process_env(self.isolation, pool.binding, {**pool.load_env, **pool.profile.env}, pool.profile, identity,
                          home=workdir.path if workdir is not None else None)
        worker = ManagedWorker(self._spec(pool), env, os.getcwd(), identity, budget=self.budget, workdir=workdir,
                               what=f"a worker for {pool.key}")
        worker.counted = True
        with self.pools.lock:
            pool.active.add(worker)
            pool.cold_starts += 1
        return worker

    # -- what the server's process budget may evict (capacity.IdleHolder) ---------------------
    def oldest_idle(self) -> Optional[float]:
        with self.pools.lock:
            return min((w.last_used for p in self.pools.by_key.values() for w in p.idle if w.mode == "process"),
                       default=None)

    def evict_oldest_idle(self):
        with self.pools.lock:
            return self.pools.take_lru_idle_process_locked()

    def _spec(self, pool: Pool) -> dict:
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
            "env": base_env(profile),
            "sys_path": child_sys_path(),
            "stdout_cap": self.stdout_cap,
        }


"""``Engine.stats()``: a snapshot of an engine's pools, processes and admission."""
from __future__ import annotations

from typing import Optional

from mockserver.runtime.admission import Tenant
from mockserver.runtime.pools import Pools


def snapshot(pools: Pools, scale: float, tenant: Optional[Tenant], checkers: int) -> dict:
    with pools.lock:
        by_key = {}
        busy = queued = workers = 0
        for key, p in pools.by_key.items():
            n_active = len(p.active)
            by_key[key] = {
                "profile": p.profile.name,
                "mode": p.mode,
                "warm": len(p.idle) + n_active,
                "idle": len(p.idle),
                "busy": p.busy,
                "queued": len(p.waiters),
                "slots": p.profile.warm_slots,
                "calls": p.calls,
                "cold_starts": p.cold_starts,
                "errors": p.errors,
                "timeouts": p.timeouts,
                "pids": sorted(w.pid for w in list(p.idle) + list(p.active) if w.pid),
            }
            busy += p.busy
            queued += len(p.waiters)
            workers += len(p.idle) + n_active
        out = {"scale": scale, "workers": workers, "processes": pools.nprocs, "max_workers": pools.max_workers,
               "busy": busy, "queued": queued, "closed": pools.closed, "pools": by_key, "checkers": checkers}
    if tenant is not None:
        out["admission"] = {"held": tenant.stats(), "server": tenant.admission.stats()}
    return out

"""What every domain function is handed: the store and the generators."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from mockserver.settings import Settings
from mockserver.ids import Clock, Ids
from mockserver.domain.locks import NamedLocks
from mockserver.domain.storage import Storage
from mockserver.domain.store import Store
from mockserver.runtime.checkouts import CheckoutCache
from mockserver.runtime.isolation import Isolation


@dataclass
class Ctx:
    store: Store
    ids: Ids
    clock: Clock
    settings: Settings
    engine: Any = None          # runtime.Engine, once the runtime is wired in
    profiles: dict[str, Any] | None = None   # name -> runtime.Profile, from fixtures
    # Where built commits are checked out: the server's (shared with its sandboxes); a bare Ctx
    # (domain tests) gets its own, made on first use, workers as this process's user.
    checkouts: CheckoutCache = field(default_factory=lambda: CheckoutCache(Isolation()))
    # Large git blobs on disk, shared by the servers of one process (app.py hands the root's to
    # every sandbox; without one, a Ctx makes its own from its settings, on first use); a
    # server's checkouts are its own ``scope`` in the cache.
    storage: Storage | None = None
    scope: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    # Per-algorithm critical sections: compiles and pushes of one algorithm take turns.
    locks: NamedLocks = field(default_factory=NamedLocks)

    def __post_init__(self) -> None:
        if self.storage is None:
            self.storage = Storage(self.settings)

    def algorithm_lock(self, full_name: str):
        return self.locks.hold(("algorithm", full_name.casefold()))

    def restart_generators(self) -> None:
        self.ids.restart()
        self.clock.restart()

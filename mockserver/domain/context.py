"""What every domain function is handed: the store and the generators."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.settings import Settings
from mockserver.ids import Clock, Ids
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

    def restart_generators(self) -> None:
        self.ids.restart()
        self.clock.restart()

"""What every domain function is handed: the store and the generators."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.settings import Settings
from mockserver.ids import Clock, Ids
from mockserver.domain.store import Store


@dataclass
class Ctx:
    store: Store
    ids: Ids
    clock: Clock
    settings: Settings
    engine: Any = None          # runtime.Engine, once the runtime is wired in
    profiles: dict[str, Any] | None = None   # name -> runtime.Profile, from fixtures

    def restart_generators(self) -> None:
        self.ids.restart()
        self.clock.restart()

"""Records of the hosted data store and simulated connectors (see domain.data)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DataStore:
    # Placeholder shape until the data API lands: connector id -> tree.
    trees: dict[str, Any] = field(default_factory=dict)

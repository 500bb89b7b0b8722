"""The request journal: the most recent requests with their outcome, bounded."""
from __future__ import annotations

import threading
from collections import deque
from typing import Any


class Journal:
    def __init__(self, size: int = 500, body_bytes: int = 4096):
        self.body_bytes = body_bytes
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def excerpt(self, body: bytes | None) -> str | None:
        """A body as text for the journal, cut to the cap so memory stays bounded."""
        if not body:
            return None
        cut = body[: self.body_bytes]
        text = cut.decode("utf-8", errors="replace")
        return text + (f"... [{len(body) - len(cut)} more bytes]" if len(body) > len(cut) else "")

    def entries(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._entries if e["seq"] > since]
        return found[-limit:] if limit else found

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

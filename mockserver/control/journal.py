"""The request journal: the most recent requests with their outcome, bounded.

Recording is on every request's path, so entries keep raw values (epoch time,
body bytes cut to the cap) and are formatted only when someone reads them.
"""
from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timezone
from typing import Any

from mockserver.ids import iso

_RAW_BODIES = ("request_body", "response_body")


class Journal:
    def __init__(self, size: int = 500, body_bytes: int = 4096):
        self.body_bytes = body_bytes
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        """Keep ``entry``; its ``time`` is epoch seconds and its bodies raw bytes (cut here)."""
        for name in _RAW_BODIES:
            body = entry.get(name)
            if body:
                entry[name] = (body[: self.body_bytes], len(body))   # bounded memory
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def entries(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._entries if e["seq"] > since]
        return [self._readable(e) for e in (found[-limit:] if limit else found)]

    @staticmethod
    def _readable(entry: dict[str, Any]) -> dict[str, Any]:
        out = dict(entry)
        if isinstance(out.get("time"), float):
            out["time"] = iso(datetime.fromtimestamp(out["time"], timezone.utc))
        for name in _RAW_BODIES:
            raw = out.get(name)
            if isinstance(raw, tuple):
                cut, size = raw
                text = cut.decode("utf-8", errors="replace")
                out[name] = text + (f"... [{size - len(cut)} more bytes]" if size > len(cut) else "")
            elif not raw:
                out[name] = None
        return out

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

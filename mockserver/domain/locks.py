"""Locks by name, made on first use and dropped once nobody holds or waits for them."""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Hashable, Iterator


class _NamedLock:
    __slots__ = ("lock", "__weakref__")

    def __init__(self):
        self.lock = threading.RLock()


class NamedLocks:
    """``with locks.hold(name):`` serializes everything done under one name (re-entrant)."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: "weakref.WeakValueDictionary[Hashable, _NamedLock]" = weakref.WeakValueDictionary()

    @contextmanager
    def hold(self, name: Hashable) -> Iterator[None]:
        with self._guard:
            named = self._locks.get(name)
            if named is None:
                named = self._locks[name] = _NamedLock()
        with named.lock:           # ``named`` stays referenced here, so waiters share it
            yield

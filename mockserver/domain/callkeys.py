"""Keys that live as long as one call: the ``ALGORITHMIA_API_KEY`` a running algorithm gets.

Every call gets a key of its own, made when the call is prepared and live only while it runs
(:func:`live`): registered when the engine takes the call, removed when it ends, however it
ends (answer, error, timeout, cancel, crash, reset). Calls the algorithm makes with it run
inside its call, each with a key of its own. A build's import check gets one the same way, of
the algorithm's owner, for the check's duration. Afterwards the key answers 401 like any
unknown key.

Call keys are not part of the state: never exported, never in a reset baseline or a sandbox's
copy, and a key from one sandbox is unknown to every other. Each :class:`~.store.Store` holds
its :class:`CallKeys`; authentication (``edge/auth.py``) looks there after the state's keys. A
call key stops working early when its algorithm or its owner is deleted.
"""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from mockserver.domain.models import ApiKey
from mockserver.ids import secret_api_key


class CallKeys:
    """The live call keys of one store (dict operations are atomic; the lock orders clear())."""

    def __init__(self) -> None:
        self._live: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def get(self, state: Any, secret: str) -> ApiKey | None:
        """The live key, if its algorithm and owner still exist in ``state`` (read under the store's lock)."""
        key = self._live.get(secret)
        if key is None or key.algorithm not in state.algorithms:
            return None
        if key.owner is not None and not state.owner_exists(key.owner):
            return None
        return key

    def add(self, key: ApiKey) -> None:
        with self._lock:
            self._live[key.api_key] = key

    def remove(self, secret: str) -> None:
        with self._lock:
            self._live.pop(secret, None)

    def clear(self) -> None:
        """Every call key dies (reset: the calls they belong to are stopped)."""
        with self._lock:
            self._live.clear()

    def __len__(self) -> int:
        return len(self._live)


def new_key(owner: str | None, algorithm: str, permissions: dict[str, Any], label: str = "") -> ApiKey:
    """A key for one call of ``algorithm`` acting for ``owner`` (not live until :func:`live`).
    Drawn from the operating system's randomness, never from the seeded ids: under ``--seed``
    a predictable key would be a usable one, and drawing it would shift every later id."""
    return ApiKey(api_key=secret_api_key(), id=str(uuid.uuid4()), owner=owner,
                  key_label=label or f"algo://{algorithm}", key_type="AlgorithmKey", permissions=permissions,
                  algorithm=algorithm)


@contextmanager
def live(keys: CallKeys, key: ApiKey) -> Iterator[str]:
    """``key`` works for the duration of the block, and never after it."""
    keys.add(key)
    try:
        yield key.api_key
    finally:
        keys.remove(key.api_key)

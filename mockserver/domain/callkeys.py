"""Keys that live as long as a call: the ``ALGORITHMIA_API_KEY`` a running algorithm gets.

Every call gets a key of its own, made when the call is prepared and live only while it runs
(:func:`live`): registered when the engine takes the call, removed when it ends, however it
ends (answer, error, timeout, cancel, crash, reset). Calls the algorithm makes with it run
inside its call, each with a key of its own. It acts for the caller.

The code's import and ``load()`` run once per worker, before the call that started it: they
get a key of the algorithm's owner (its "load key", the same for every worker of that version,
:meth:`CallKeys.load_key`), so a model read from ``data://.my/...`` at import time is the
owner's, as in the build's import check, which gets such a key for the build's duration. A
load key is live while a call of that version runs (a client made at import time keeps working
in ``apply``), never between calls. Afterwards any of these keys answers 401 like any unknown key.

Call keys are not part of the state: never exported, never in a reset baseline or a sandbox's
copy, and a key from one sandbox is unknown to every other. Each :class:`~.store.Store` holds
its :class:`CallKeys`; authentication (``edge/auth.py``) looks there after the state's keys. A
call key stops working early when its algorithm or its owner is deleted.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from mockserver.domain.models import ApiKey
from mockserver.ids import secret_api_key, secret_uuid


class CallKeys:
    """The live call keys of one store. A key may be live for several calls at once (a load
    key): it stays live until the last of them ends."""

    def __init__(self) -> None:
        self._live: dict[str, tuple[ApiKey, int]] = {}
        self._lock = threading.Lock()
        self._secret = os.urandom(32)          # load keys of this store, until it resets

    def get(self, state: Any, secret: str) -> ApiKey | None:
        """The live key, if its algorithm and owner still exist in ``state`` (read under the store's lock)."""
        entry = self._live.get(secret)
        if entry is None or entry[0].algorithm not in state.algorithms:
            return None
        key = entry[0]
        if key.owner is not None and not state.owner_exists(key.owner):
            return None
        return key

    def add(self, key: ApiKey) -> None:
        with self._lock:
            held = self._live.get(key.api_key)
            self._live[key.api_key] = (key, held[1] + 1 if held else 1)

    def remove(self, secret: str) -> None:
        with self._lock:
            held = self._live.pop(secret, None)
            if held is not None and held[1] > 1:
                self._live[secret] = (held[0], held[1] - 1)

    def clear(self) -> None:
        """Every call key dies (reset: the calls they belong to are stopped); load keys change."""
        with self._lock:
            self._live.clear()
            self._secret = os.urandom(32)

    def load_key(self, owner: str | None, algorithm: str, version: str, permissions: dict[str, Any]) -> ApiKey:
        """The owner's key the workers of ``algorithm`` at ``version`` import their code with:
        the same for every call of that version (warm workers keep it), never guessable."""
        digest = hmac.new(self._secret, f"{algorithm}\0{version}".encode(), hashlib.sha512).digest()
        return new_key(owner, algorithm, permissions, label=f"load of {algorithm}", secret=secret_api_key(digest))

    def __len__(self) -> int:
        return len(self._live)


def new_key(owner: str | None, algorithm: str, permissions: dict[str, Any], label: str = "",
            secret: str | None = None) -> ApiKey:
    """A key for one call of ``algorithm`` acting for ``owner`` (not live until :func:`live`).
    Drawn from unguessable bytes (seeded once by the operating system), never from the seeded ids: under ``--seed``
    a predictable key would be a usable one, and drawing it would shift every later id."""
    return ApiKey(api_key=secret or secret_api_key(), id=secret_uuid(), owner=owner,
                  key_label=label or f"algo://{algorithm}", key_type="AlgorithmKey", permissions=permissions,
                  algorithm=algorithm)


@contextmanager
def live(keys: CallKeys, *held: ApiKey) -> Iterator[None]:
    """The ``held`` keys work for the duration of the block, and (unless another block holds
    one too) never after it."""
    taken = []
    try:
        for key in held:
            keys.add(key)
            taken.append(key)
        yield
    finally:
        for key in taken:
            keys.remove(key.api_key)

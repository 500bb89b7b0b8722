"""Keys that live as long as a call: the ``ALGORITHMIA_API_KEY`` a running algorithm gets.

Every call gets a key of its own, made when the call is prepared and live only while it runs
(:func:`live`): registered when the engine takes the call, removed when it ends, however it
ends (answer, error, timeout, cancel, crash, reset). Calls the algorithm makes with it run
inside its call, each with a key of its own. It acts for the caller. Its secret is drawn when
the call is prepared (:func:`call_key`); its :class:`~.models.ApiKey` record (with an id of its
own) is made when a request first authenticates with it: most calls never call the API back.

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
from typing import Any, Iterator, NamedTuple

from mockserver.domain.models import ApiKey
from mockserver.ids import secret_api_key, secret_api_key_and_uuid, secret_uuid

_LOAD_KEYS_MAX = 4096       # remembered load keys; past it they are made again (the same secrets)


class PendingKey(NamedTuple):
    """A call's key as :func:`call_key` makes it: its secret and what its ApiKey will say."""
    api_key: str
    owner: str | None
    algorithm: str
    permissions: dict[str, Any]


class CallKeys:
    """The live call keys of one store. A key may be live for several calls at once (a load
    key): it stays live until the last of them ends."""

    def __init__(self) -> None:
        self._live: dict[str, tuple[ApiKey | PendingKey, int]] = {}
        self._lock = threading.Lock()
        self._secret = os.urandom(32)          # load keys of this store, until it resets
        self._load_keys: dict[tuple, ApiKey] = {}   # per owner and version (each call asks), with their permissions

    def get(self, state: Any, secret: str) -> ApiKey | None:
        """The live key, if its algorithm and owner still exist in ``state`` (read under the store's lock)."""
        entry = self._live.get(secret)
        if entry is None or entry[0].algorithm not in state.algorithms:
            return None
        key = entry[0]
        if key.owner is not None and not state.owner_exists(key.owner):
            return None
        return key if type(key) is ApiKey else self._record(key)

    def _record(self, pending: PendingKey) -> ApiKey | None:
        """The ApiKey of a live call key, made at its first lookup (then the same every time)."""
        made = new_key(pending.owner, pending.algorithm, pending.permissions, secret=pending.api_key)
        with self._lock:
            entry = self._live.get(pending.api_key)
            if entry is None:                   # its call ended meanwhile
                return None
            if type(entry[0]) is ApiKey:        # another lookup made it first
                return entry[0]
            self._live[pending.api_key] = (made, entry[1])
        return made

    def add(self, key: ApiKey) -> None:
        self.hold((key,))

    def remove(self, secret: str) -> None:
        with self._lock:
            self._drop(secret)

    def hold(self, keys: tuple[ApiKey | PendingKey, ...]) -> None:
        """Make ``keys`` live (each once more), under one acquisition of the lock."""
        with self._lock:
            live = self._live
            for key in keys:
                secret = key.api_key
                held = live.get(secret)
                live[secret] = (key, held[1] + 1) if held else (key, 1)

    def release(self, keys: tuple[ApiKey | PendingKey, ...]) -> None:
        """Undo one :meth:`hold` of ``keys``."""
        with self._lock:
            live = self._live
            for key in keys:
                held = live.pop(key.api_key, None)
                if held is not None and held[1] > 1:
                    live[key.api_key] = (held[0], held[1] - 1)

    def _drop(self, secret: str) -> None:
        held = self._live.pop(secret, None)
        if held is not None and held[1] > 1:
            self._live[secret] = (held[0], held[1] - 1)

    def clear(self) -> None:
        """Every call key dies (reset: the calls they belong to are stopped); load keys change."""
        with self._lock:
            self._live.clear()
            self._secret = os.urandom(32)
            self._load_keys = {}

    def load_key(self, owner: str | None, algorithm: str, version: str, permissions: dict[str, Any]) -> ApiKey:
        """The owner's key the workers of ``algorithm`` at ``version`` import their code with:
        the same for every call of that version (warm workers keep it), never guessable."""
        cache_key = (owner, algorithm, version)
        secret, made = self._secret, self._load_keys.get(cache_key)
        if made is None or made.permissions != permissions:
            digest = hmac.new(secret, f"{algorithm}\0{version}".encode(), hashlib.sha512).digest()
            made = new_key(owner, algorithm, dict(permissions), label=f"load of {algorithm}",
                           secret=secret_api_key(digest))
            with self._lock:
                if len(self._load_keys) >= _LOAD_KEYS_MAX:
                    self._load_keys = {}
                if secret is self._secret:          # not reset meanwhile
                    self._load_keys[cache_key] = made
        return made

    def __len__(self) -> int:
        return len(self._live)


def call_key(owner: str | None, algorithm: str, permissions: dict[str, Any]) -> PendingKey:
    """The key of one call of ``algorithm`` acting for ``owner`` (not live until held): its
    secret now, from unguessable bytes as :func:`new_key`'s; its ApiKey when it is first used."""
    return PendingKey(secret_api_key(), owner, algorithm, permissions)


def new_key(owner: str | None, algorithm: str, permissions: dict[str, Any], label: str = "",
            secret: str | None = None) -> ApiKey:
    """A key for one call of ``algorithm`` acting for ``owner`` (not live until :func:`live`).
    Drawn from unguessable bytes (seeded once by the operating system), never from the seeded ids: under ``--seed``
    a predictable key would be a usable one, and drawing it would shift every later id."""
    if not secret:
        secret, key_id = secret_api_key_and_uuid()
    else:
        key_id = secret_uuid()
    # Positional (api_key, id, owner, key_label, key_type, permissions, created_at, seq, algorithm):
    # a call makes one, and keywords cost a dataclass nearly twice as much.
    return ApiKey(secret, key_id, owner, label or f"algo://{algorithm}", "AlgorithmKey", permissions, "", 0, algorithm)


@contextmanager
def live(keys: CallKeys, *held: ApiKey | PendingKey) -> Iterator[None]:
    """The ``held`` keys work for the duration of the block, and (unless another block holds
    one too) never after it. (An invocation calls :meth:`CallKeys.hold` and
    :meth:`CallKeys.release` itself: a generator's set-up per call costs more than both.)"""
    keys.hold(held)
    try:
        yield
    finally:
        keys.release(held)

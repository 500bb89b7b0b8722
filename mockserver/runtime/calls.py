"""What the engine is asked to run (:class:`Invocation`) and what it answers (:class:`Outcome`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import CallError
from mockserver.runtime.profiles import Profile

DEFAULT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 3000.0


@dataclass(slots=True)
class Invocation:
    key: str
    binding: Binding
    profile: Profile
    body: bytes
    content_type: Optional[str] = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    want_stdout: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    caller: Optional[str] = None     # the API key calling: at most invocations_per_key at once
    # What a worker started for this call imports the code with (the owner's key, the API's
    # address): set in its process environment, under the call's own ``env``.
    load_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    result: Any
    content_type: str            # "json" | "text" | "binary" | "void"
    duration: float
    stdout: Optional[str] = None
    error: Optional[CallError] = None
    cold: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, inv: Invocation, error: CallError, duration: float = 0.0, stdout: Optional[str] = None,
               cold: bool = False) -> "Outcome":
        """A failed call: no result, ``content_type`` "void"; stdout "" when it was asked for."""
        if stdout is None and inv.want_stdout:
            stdout = ""
        return cls(None, "void", duration, stdout, error, cold)


def clamp_timeout(t) -> float:
    """A call's timeout in seconds: the default when missing or not a positive number, at most 3000."""
    if type(t) is float and 0.0 < t <= MAX_TIMEOUT_S:     # the usual: already one (the domain's)
        return t
    try:
        t = float(t)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_S
    if t != t or t <= 0:
        return DEFAULT_TIMEOUT_S
    return min(t, MAX_TIMEOUT_S)


class Admitted:
    """A call that passed admission (:meth:`Engine.admit`): until :meth:`Engine.run` or
    :meth:`Engine.abandon` ends it, it holds a slot of its API key, of the server's call pool
    and of its algorithm version's pool (or a place in that pool's queue)."""

    __slots__ = ("inv", "value", "key_counted", "pool", "worker", "waiter", "outcome", "ended", "sent_ahead")

    def __init__(self, inv: Invocation, value: Any = None, *, key_counted: bool = False, pool=None,
                 worker=None, waiter=None, outcome: Optional[Outcome] = None):
        self.inv, self.value, self.key_counted = inv, value, key_counted
        self.pool, self.worker, self.waiter = pool, worker, waiter
        self.outcome = outcome           # already decided (a refused binding): run() answers it
        self.ended = False
        self.sent_ahead = False          # the worker handed over already has this call's message

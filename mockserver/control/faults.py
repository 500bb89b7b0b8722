"""Fault injection: answer matching requests with an error, add latency, or drop them.

A fault matches a method (or ``*``) and a path pattern: a glob (``*`` matches
across ``/``; ``/v1/algorithms/*/compile``) or a regular expression when the
pattern starts with ``^`` or ``re:``. It fires ``times`` times (default: until
cleared) and/or with a ``probability`` drawn from its own RNG seeded by ``seed``
(reproducible). When it fires it waits ``delay_ms``, then:

- ``drop``: the client gets no usable answer and sees a broken connection: under waitress
  (the mock's server) the answer breaks off after its head and first byte (a 502 head with a
  longer Content-Length, then the connection closes; see :func:`broken_answer`); under
  werkzeug's server the connection is reset before any answer;
- ``status``: answers an Algorithmia error object ``code``/``message``;
- neither: the request goes on to the normal handler (pure latency).

Requests under ``/_mock/`` are never faulted (so faults can always be cleared).
No state besides the :class:`FaultSet`.
"""
from __future__ import annotations

import fnmatch
import itertools
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Response

from mockserver.web.current import SERVER_KEY
from mockserver.web.jsonio import dumps_bytes
from mockserver.errors import DROP_NEEDS_A_SOCKET, DROPPED_BY_FAULT, REQUEST_INVALID, ApiError, Code, Kind



@dataclass
class Fault:
    id: str
    method: str
    path: str
    status: int | None = None
    code: int | None = None
    message: str | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None          # None: until cleared
    probability: float | None = None
    seed: int | None = None
    hits: int = 0
    matched: int = 0
    _regex: re.Pattern = field(default=None, repr=False)
    _rng: random.Random = field(default=None, repr=False)
    # The error it answers (status >= 400): a kind outside the table, its author chose code and status.
    kind: Kind | None = field(default=None, repr=False)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.hits, 0)

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method != method:
            return False
        return self._regex.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "path": self.path, "status": self.status,
                "code": self.code, "message": self.message, "delay_ms": self.delay_ms, "drop": self.drop,
                "times": self.times, "remaining": self.remaining, "probability": self.probability,
                "seed": self.seed, "hits": self.hits, "matched": self.matched}


def _compile(pattern: str) -> re.Pattern:
    try:
        if pattern.startswith("re:"):
            return re.compile(pattern[3:])
        if pattern.startswith("^"):
            return re.compile(pattern)
    except re.error as exc:
        raise ApiError(REQUEST_INVALID, f"path: not a valid regular expression: {exc}") from None
    # Glob: '*' and '?' match any character including '/'; anchored at both ends.
    return re.compile(fnmatch.translate(pattern))


def parse(body: dict[str, Any], fault_id: str) -> Fault:
    """A fault from a body that passed the control spec's ``FaultRequest`` schema
    (``openapi/control.yaml``); only the rules across fields are checked here."""
    status, drop, delay_ms = body.get("status"), bool(body.get("drop", False)), body.get("delay_ms") or 0
    code = body.get("code")
    if status is None and not drop and not delay_ms:
        raise ApiError(REQUEST_INVALID, "A fault needs at least one effect: status, drop or delay_ms")
    if status is not None and drop:
        raise ApiError(REQUEST_INVALID, "status and drop exclude each other (a dropped connection has no status)")
    if status is not None and status >= 400 and code is None:
        code = Code.INTERNAL if status >= 500 else Code.REQUEST_INVALID
    path = body["path"]
    fault = Fault(id=fault_id, method=(body.get("method") or "*").upper(), path=path, status=status, code=code,
                  message=body.get("message"), delay_ms=delay_ms, drop=drop, times=body.get("times"),
                  probability=body.get("probability"), seed=body.get("seed"))
    fault._regex = _compile(path)
    fault._rng = random.Random(fault.seed)
    if status is not None and status >= 400:
        fault.kind = Kind(code, status)
    return fault


class FaultSet:
    """The active faults of one server; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, body: dict[str, Any]) -> Fault:
        with self._lock:
            fault = parse(body, f"fault-{next(self._ids)}")
            self._faults.append(fault)
            return fault

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults = []
            self._ids = itertools.count(1)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def pick(self, method: str, path: str) -> Fault | None:
        """The first active fault that fires for this request (counts it)."""
        if not self._faults:          # fast path: no lock when nothing is injected
            return None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                fault.matched += 1
                if fault.probability is not None and fault._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None


class InjectedDrop(Exception):
    """Raised by a dropped answer's body: the WSGI server aborts the answer and closes the connection."""


def broken_answer(fault_id: str):
    """An answer that breaks off: the server sends its head and first byte, then the body raises.

    PEP 3333 (which waitress implements) has the server abort a response whose application
    fails after the response began, and waitress then closes the connection; the client sees
    the connection break before the declared Content-Length arrived. waitress documents no way
    for an application to close a connection before answering, so this is the closest to a
    dropped connection it allows. waitress's log line for the abort is filtered out
    (control/logs.py: quiet_injected_drops).
    """
    body = ApiError(DROPPED_BY_FAULT, f"Injected fault {fault_id}: the connection was dropped").body()
    whole = dumps_bytes(body)

    def first_byte_then_break():
        yield whole[:1]
        raise InjectedDrop(fault_id)
    return Response(first_byte_then_break(), status=DROPPED_BY_FAULT.status, direct_passthrough=True,
                    headers={"Content-Type": "application/json", "Content-Length": str(len(whole))})


def drop_connection(environ: dict) -> bool:
    """Shut the client socket down so the client gets no answer at all.

    For werkzeug's development server, which puts the socket in ``werkzeug.socket``
    (under waitress the answer breaks off instead: :func:`broken_answer`). After the shutdown the server's
    attempt to write the response fails with EPIPE, which it treats as a client that
    went away (no 500 page, nothing sent). Returns False when there is no socket
    (e.g. the Flask test client).
    """
    sock = environ.get("werkzeug.socket")
    if not (hasattr(sock, "setsockopt") and hasattr(sock, "shutdown")):
        return False
    try:
        # RST instead of FIN: the client's read fails at once, as a dropped connection does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


def injection_hook(server):
    """The before-view step ``inject(request, g)`` (after the control guard, before the spec gate)."""

    def inject(request, g):
        mock = request.environ.get(SERVER_KEY) or server     # the request's sandbox
        faults: FaultSet = mock.faults
        if not faults or request.path.startswith("/_mock"):
            return None
        fault = faults.pick(request.method, request.path)
        if fault is None:
            return None
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if not fault.drop and fault.status is None:
            return None                       # latency only: on to the real handler
        g.started = time.perf_counter()
        g.request_id = mock.ctx.ids.request_id()
        g.fault = fault.id
        if fault.drop:
            if "waitress.client_disconnected" in request.environ:
                return broken_answer(fault.id)
            if drop_connection(request.environ):
                return Response(b"", status=499)      # never reaches the client
            raise ApiError(DROP_NEEDS_A_SOCKET, f"Injected fault {fault.id}: drop requested, but this server "
                           "exposes no socket (Flask test client); use a live server")
        if fault.kind is not None:
            raise ApiError(fault.kind, fault.message or f"Injected fault {fault.id}")
        return Response(fault.message or "", status=fault.status)
    return inject

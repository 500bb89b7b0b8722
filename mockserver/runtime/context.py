"""What a running callable can know about its invocation.

Inside ``apply()`` (and ``load()``), in both modes::

    from mockserver.runtime import context
    ctx = context.current()          # InvocationContext, or None outside a call
    ctx.profile, ctx.processor, ctx.key, ctx.env["ALGORITHMIA_API"]
    context.getenv("ALGORITHMIA_API_KEY")   # the call's env, else os.environ

* ``mode == "process"``: the worker process really sets the variables in
  ``os.environ`` as well (profile env, ALGORITHMIA_API, ALGORITHMIA_API_KEY,
  ALGORITHMIA_PROFILE, ...), so unmodified algorithms just read ``os.environ``.
* ``mode == "inprocess"``: the callable runs in a thread of the server, whose
  ``os.environ`` is shared by all threads and is NOT changed. Read the call's
  variables through ``context.current().env`` / ``context.getenv(name)``; both
  are thread-safe (a ``contextvars.ContextVar`` set in the thread running the
  call). Threads the callable starts itself do not inherit the context.

Stdout capture (``want_stdout``) uses :class:`Capture`; in inprocess mode a
process-wide :class:`StdoutProxy` on ``sys.stdout`` routes ``print`` of the
calling thread to that call's capture (writes to fd 1 from C code or
subprocesses are not captured in either mode).
"""
from __future__ import annotations

import contextvars
import io
import os
import sys
import threading
from types import MappingProxyType
from typing import Mapping, NamedTuple, Optional

DEFAULT_STDOUT_CAP = 1 << 20   # characters kept per call


class InvocationContext(NamedTuple):      # immutable; not a dataclass (see runtime/binding.py)
    key: str                        # worker pool key, e.g. "demo/Hello/<hash>"
    profile: str                    # profile name, e.g. "python3-gpu"
    processor: str                  # "cpu" | "gpu"
    mode: str                       # "process" | "inprocess"
    env: Mapping[str, str] = MappingProxyType({})

    def getenv(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.env.get(name, default)


_current: contextvars.ContextVar[Optional[InvocationContext]] = contextvars.ContextVar(
    "mockserver_invocation", default=None)
_stdout_target: contextvars.ContextVar[Optional[io.TextIOBase]] = contextvars.ContextVar(
    "mockserver_stdout", default=None)


def current() -> Optional[InvocationContext]:
    """The context of the call running in this thread, or None."""
    return _current.get()


def getenv(name: str, default: Optional[str] = None) -> Optional[str]:
    """The call's env var if set (thread-safe, both modes), else ``os.environ``."""
    ctx = _current.get()
    if ctx is not None and name in ctx.env:
        return ctx.env[name]
    return os.environ.get(name, default)


def set_current(ctx: Optional[InvocationContext]) -> contextvars.Token:
    return _current.set(ctx)


def reset_current(token: contextvars.Token) -> None:
    _current.reset(token)


class Capture(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = DEFAULT_STDOUT_CAP, keep: bool = True):
        super().__init__()
        self.cap = cap
        self.keep = keep
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        if not isinstance(s, str):
            s = str(s)
        n = len(s)
        if not self.keep:
            return n
        with self._lock:
            room = self.cap - self._size
            if room >= n:
                self._parts.append(s)
                self._size += n
            else:
                if room > 0:
                    self._parts.append(s[:room])
                    self._size += room
                self._dropped += n - max(room, 0)
        return n

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self):  # some code inspects sys.stdout.encoding
        return "utf-8"

    def getvalue(self) -> str:
        with self._lock:
            text = "".join(self._parts)
            if self._dropped:
                text += f"\n[stdout truncated: {self._dropped} more characters not shown]\n"
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:        # a lone surrogate printed: no response could carry it
            return text.encode("utf-8", "replace").decode("utf-8")


class StdoutProxy(io.TextIOBase):
    """``sys.stdout`` replacement: writes go to the current thread's call capture
    (a context variable) if there is one, else to the wrapped stream."""

    def __init__(self, fallback):
        super().__init__()
        self._fallback = fallback

    def _target(self):
        t = _stdout_target.get()
        return t if t is not None else self._fallback

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        return self._target().write(s)

    def writelines(self, lines) -> None:
        t = self._target()
        for line in lines:
            t.write(line)

    def flush(self) -> None:
        t = self._target()
        try:
            t.flush()
        except Exception:
            pass

    def isatty(self) -> bool:
        t = _stdout_target.get()
        return False if t is not None else bool(getattr(self._fallback, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._fallback.fileno()

    @property
    def encoding(self):
        return getattr(self._fallback, "encoding", "utf-8")

    @property
    def buffer(self):
        return getattr(self._fallback, "buffer")

    def __getattr__(self, name):
        return getattr(self._fallback, name)


_proxy_lock = threading.Lock()


def ensure_stdout_proxy() -> None:
    """Install (or re-install, if someone replaced sys.stdout since) the proxy."""
    if isinstance(sys.stdout, StdoutProxy):
        return
    with _proxy_lock:
        if not isinstance(sys.stdout, StdoutProxy):
            sys.stdout = StdoutProxy(sys.stdout)


def set_stdout_target(sink) -> contextvars.Token:
    return _stdout_target.set(sink)


def reset_stdout_target(token: contextvars.Token) -> None:
    _stdout_target.reset(token)

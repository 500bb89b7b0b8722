"""Load a binding and run one call of the algorithm's code: shared by worker processes and
inprocess mode. What an exception becomes is :mod:`.tracebacks`' job.

Keep it light (imported by every worker process).
"""
from __future__ import annotations

import time
from typing import Any, NamedTuple, Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime.codec import OutputError, encode_output
from mockserver.runtime.errors import (ALGORITHM_ERROR, LOADING_ERROR, OUT_OF_MEMORY_ERROR, BindingError, CallError,
                                       call_error)
from mockserver.runtime.adk import AdkAlgorithm, is_adk_file
from mockserver.runtime.traces import Paths
from mockserver.runtime.tracebacks import error_of


class Executed(NamedTuple):
    """One run of apply(): ``payload`` as :func:`codec.encode_output` returns it when ``ok``,
    else a :class:`CallError`. ``restart`` asks the caller to discard this warm worker
    (sys.exit, MemoryError)."""
    ok: bool
    content_type: str
    payload: Any
    run_time: float
    restart: bool = False
    stdout: Optional[str] = None        # what the call wrote, when it asked (added by the worker)


class Loaded:
    """A warm algorithm: resolved functions + load() state, or the load error."""

    __slots__ = ("resolved", "state", "load_error", "load_time", "paths")

    def __init__(self, resolved=None, state=None, load_error: Optional[CallError] = None, load_time=0.0,
                 paths: Optional[Paths] = None):
        self.resolved = resolved
        self.state = state
        self.load_error = load_error
        self.load_time = load_time
        self.paths = paths            # how its traces show host paths (runtime/traces.py)


def _load_failure(exc: BaseException, phase: str, paths: Optional[Paths] = None) -> CallError:
    if isinstance(exc, MemoryError):
        return error_of(exc, OUT_OF_MEMORY_ERROR, f"Algorithm ran out of memory during {phase}", paths=paths)
    if isinstance(exc, BindingError):
        return error_of(exc, LOADING_ERROR, exc.message, trace=False, paths=paths)
    if isinstance(exc, SystemExit):
        return error_of(exc, LOADING_ERROR, f"Algorithm called sys.exit({exc.code!r}) during {phase}", paths=paths)
    return error_of(exc, LOADING_ERROR, paths=paths)


def _file_of(binding: _binding.Binding) -> Optional[str]:
    """The file a file binding names (None for modules, callables and bad targets)."""
    try:
        kind, location, _ = binding.parse()
    except BindingError:
        return None
    return location if kind == "file" else None


def prepare(binding: _binding.Binding, **import_kwargs) -> Loaded:
    """Import the binding and run its load(). Never raises (except
    KeyboardInterrupt): failures are kept in ``load_error`` and every call
    then answers that error, as the ADK does."""
    t0 = time.perf_counter()
    entry = _file_of(binding)
    paths = Paths(entry)
    if entry is not None and is_adk_file(entry):     # imported, loaded and applied through the ADK (runtime/adk.py)
        return Loaded(AdkAlgorithm(binding, import_kwargs), paths=paths)
    try:
        resolved = _binding.load_binding(binding, **import_kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit, ...
        return Loaded(load_error=_load_failure(exc, "import", paths), load_time=time.perf_counter() - t0, paths=paths)
    try:
        state = resolved.run_load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return Loaded(resolved, load_error=_load_failure(exc, "load()", paths), load_time=time.perf_counter() - t0,
                      paths=paths)
    return Loaded(resolved, state, load_time=time.perf_counter() - t0, paths=paths)


def execute(loaded: Loaded, value: Any) -> Executed:
    """Run apply once (see :class:`Executed`)."""
    if loaded.load_error is not None:
        return Executed(False, "void", loaded.load_error, 0.0)
    t0 = time.perf_counter()
    try:
        value = loaded.resolved.call_apply(value, loaded.state)
        content_type, payload = encode_output(value)
        return Executed(True, content_type, payload, time.perf_counter() - t0)
    except KeyboardInterrupt:
        raise
    except MemoryError as exc:
        value = None
        err = error_of(exc, OUT_OF_MEMORY_ERROR,
                       "Algorithm ran out of memory (exceeded the memory limit of its environment)", paths=loaded.paths)
        return Executed(False, "void", err, time.perf_counter() - t0, True)
    except SystemExit as exc:
        err = error_of(exc, ALGORITHM_ERROR, f"Algorithm called sys.exit({exc.code!r})", paths=loaded.paths)
        return Executed(False, "void", err, time.perf_counter() - t0, True)
    except OutputError as exc:
        return Executed(False, "void", call_error(str(exc), ALGORITHM_ERROR), time.perf_counter() - t0)
    except BaseException as exc:
        return Executed(False, "void", error_of(exc, paths=loaded.paths), time.perf_counter() - t0)

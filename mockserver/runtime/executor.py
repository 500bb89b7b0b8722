"""Load a binding and run one call: shared by worker processes and inprocess mode.

Keep it light (imported by every worker process).
"""
from __future__ import annotations

import time
from typing import Any, Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime.codec import OutputError, encode_output
from mockserver.runtime.codec import error_dict as _error_dict
from mockserver.runtime.errors import (ALGORITHM_ERROR, LOADING_ERROR, OUT_OF_MEMORY_ERROR, BindingError, call_error)
from mockserver.runtime.adk import AdkAlgorithm, is_adk_file
from mockserver.runtime.traces import Paths, format_exception


def algorithm_trace(exc: BaseException, paths: Optional[Paths] = None) -> str:
    """The formatted traceback of ``exc`` as the platform shows it (runtime/traces.py)."""
    return format_exception(exc, paths)


def error_dict(exc: BaseException, error_type: Optional[str] = None, message: Optional[str] = None,
               paths: Optional[Paths] = None) -> dict:
    paths = paths or Paths()
    err = _error_dict(exc, error_type, message)
    err["message"] = paths.rewrite(err["message"])
    err["stacktrace"] = algorithm_trace(exc, paths)
    return err


class Loaded:
    """A warm algorithm: resolved functions + load() state, or the load error."""

    __slots__ = ("resolved", "state", "load_error", "load_time", "paths")

    def __init__(self, resolved=None, state=None, load_error: Optional[dict] = None, load_time=0.0,
                 paths: Optional[Paths] = None):
        self.resolved = resolved
        self.state = state
        self.load_error = load_error
        self.load_time = load_time
        self.paths = paths            # how its traces show host paths (runtime/traces.py)


def _load_failure(exc: BaseException, phase: str, paths: Optional[Paths] = None) -> dict:
    if isinstance(exc, MemoryError):
        return error_dict(exc, OUT_OF_MEMORY_ERROR,
                          f"Algorithm ran out of memory during {phase}", paths)
    if isinstance(exc, BindingError):
        err = error_dict(exc, LOADING_ERROR, exc.message, paths)
        err["stacktrace"] = ""
        return err
    if isinstance(exc, SystemExit):
        return error_dict(exc, LOADING_ERROR, f"Algorithm called sys.exit({exc.code!r}) during {phase}", paths)
    err = error_dict(exc, LOADING_ERROR, paths=paths)
    return err


def _is_adk(binding: _binding.Binding) -> bool:
    try:
        kind, location, _ = binding.parse()
    except BindingError:
        return False
    return kind == "file" and is_adk_file(location)


def _paths_of(binding: _binding.Binding) -> Paths:
    try:
        kind, location, _ = binding.parse()
    except BindingError:
        return Paths()
    return Paths(location if kind == "file" else None)


def prepare(binding: _binding.Binding, **import_kwargs) -> Loaded:
    """Import the binding and run its load(). Never raises (except
    KeyboardInterrupt): failures are kept in ``load_error`` and every call
    then answers that error, as the ADK does."""
    t0 = time.perf_counter()
    paths = _paths_of(binding)
    if _is_adk(binding):                 # imported, loaded and applied through the ADK (runtime/adk.py)
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


def execute(loaded: Loaded, value: Any) -> tuple[bool, str, Any, float, bool]:
    """Run apply once: ``(ok, content_type, payload_or_error, run_time, restart)``.

    ``payload`` as :func:`codec.encode_output` returns it; on failure an error
    dict. ``restart`` asks the caller to discard this warm worker (sys.exit,
    MemoryError)."""
    if loaded.load_error is not None:
        return False, "void", loaded.load_error, 0.0, False
    t0 = time.perf_counter()
    try:
        value = loaded.resolved.call_apply(value, loaded.state)
        content_type, payload = encode_output(value)
        return True, content_type, payload, time.perf_counter() - t0, False
    except KeyboardInterrupt:
        raise
    except MemoryError as exc:
        value = None
        err = error_dict(exc, OUT_OF_MEMORY_ERROR,
                         "Algorithm ran out of memory (exceeded the memory limit of its environment)", loaded.paths)
        return False, "void", err, time.perf_counter() - t0, True
    except SystemExit as exc:
        err = error_dict(exc, ALGORITHM_ERROR, f"Algorithm called sys.exit({exc.code!r})", loaded.paths)
        return False, "void", err, time.perf_counter() - t0, True
    except OutputError as exc:
        err = call_error(str(exc), ALGORITHM_ERROR)
        return False, "void", err, time.perf_counter() - t0, False
    except BaseException as exc:
        return False, "void", error_dict(exc, paths=loaded.paths), time.perf_counter() - t0, False

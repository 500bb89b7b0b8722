"""Load a binding and run one call: shared by worker processes and inprocess mode.

Keep it light (imported by every worker process).
"""
from __future__ import annotations

import os
import time
from typing import Any, Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime.codec import OutputError, encode_output
from mockserver.runtime.codec import error_dict as _error_dict
from mockserver.runtime.errors import (ALGORITHM_ERROR, LOADING_ERROR, OUT_OF_MEMORY_ERROR, BindingError, call_error)

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_algorithm_frame(frame: traceback.FrameSummary) -> bool:
    """Frames of the mock's runtime (this package) and of the import machinery are not the
    algorithm's: the platform showed an algorithm's owner only the algorithm's frames."""
    name = frame.filename or ""
    return not (os.path.abspath(name).startswith(_RUNTIME_DIR) or name.startswith("<frozen importlib"))


def algorithm_trace(exc: BaseException) -> str:
    """The formatted traceback of ``exc`` (with its chain) without the mock's own frames."""
    import traceback            # here: a worker process's cold start need not import it
    te = traceback.TracebackException.from_exception(exc)
    seen, todo = set(), [te]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        link.stack = traceback.StackSummary.from_list([f for f in link.stack if _is_algorithm_frame(f)])
        todo.extend(x for x in (link.__cause__, link.__context__) if x is not None)
    return "".join(te.format())


def error_dict(exc: BaseException, error_type: Optional[str] = None, message: Optional[str] = None) -> dict:
    err = _error_dict(exc, error_type, message)
    err["stacktrace"] = algorithm_trace(exc)
    return err


class Loaded:
    """A warm algorithm: resolved functions + load() state, or the load error."""

    __slots__ = ("resolved", "state", "load_error", "load_time")

    def __init__(self, resolved=None, state=None, load_error: Optional[dict] = None, load_time=0.0):
        self.resolved = resolved
        self.state = state
        self.load_error = load_error
        self.load_time = load_time


def _load_failure(exc: BaseException, phase: str) -> dict:
    if isinstance(exc, MemoryError):
        return error_dict(exc, OUT_OF_MEMORY_ERROR,
                          f"Algorithm ran out of memory during {phase}")
    if isinstance(exc, BindingError):
        err = error_dict(exc, LOADING_ERROR, exc.message)
        err["stacktrace"] = ""
        return err
    if isinstance(exc, SystemExit):
        return error_dict(exc, LOADING_ERROR, f"Algorithm called sys.exit({exc.code!r}) during {phase}")
    err = error_dict(exc, LOADING_ERROR)
    return err


def prepare(binding: _binding.Binding, **import_kwargs) -> Loaded:
    """Import the binding and run its load(). Never raises (except
    KeyboardInterrupt): failures are kept in ``load_error`` and every call
    then answers that error, as the ADK does."""
    t0 = time.perf_counter()
    try:
        resolved = _binding.load_binding(binding, **import_kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit, ...
        return Loaded(load_error=_load_failure(exc, "import"), load_time=time.perf_counter() - t0)
    try:
        state = resolved.run_load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return Loaded(resolved, load_error=_load_failure(exc, "load()"), load_time=time.perf_counter() - t0)
    return Loaded(resolved, state, load_time=time.perf_counter() - t0)


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
                         "Algorithm ran out of memory (exceeded the memory limit of its environment)")
        return False, "void", err, time.perf_counter() - t0, True
    except SystemExit as exc:
        err = error_dict(exc, ALGORITHM_ERROR, f"Algorithm called sys.exit({exc.code!r})")
        return False, "void", err, time.perf_counter() - t0, True
    except OutputError as exc:
        err = call_error(str(exc), ALGORITHM_ERROR)
        return False, "void", err, time.perf_counter() - t0, False
    except BaseException as exc:
        return False, "void", error_dict(exc), time.perf_counter() - t0, False

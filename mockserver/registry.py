"""Process-local registry of in-memory callables bound to algorithms (pytest plugin).

``register(fn)`` returns a binding target ``"mockserver.registry:fn_<n>"``; the
runtime imports this module and reads the attribute, as for any
``"pkg.module:function"`` target. Only a server in the *same process* sees the
callable: run such bindings in ``inprocess`` mode (worker processes start fresh
interpreters where the attribute does not exist, and get a clear error).
To run in worker processes, bind an import path or file path instead.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable

_lock = threading.Lock()
_counter = itertools.count(1)
PREFIX = "mockserver.registry:"


def register(fn: Callable) -> str:
    if not callable(fn):
        raise TypeError(f"not callable: {fn!r}")
    with _lock:
        name = f"fn_{next(_counter)}"
        globals()[name] = fn
    return PREFIX + name


def is_registry_target(target: str) -> bool:
    return target.startswith(PREFIX)


def target_for(fn_or_target: Any) -> str:
    """A binding target for a callable or a target string ("pkg.mod:fn", "file.py:fn")."""
    if isinstance(fn_or_target, str):
        if not fn_or_target.strip():
            raise ValueError("empty binding target")
        return fn_or_target.strip()
    return register(fn_or_target)


def __getattr__(name: str) -> Any:    # only reached for names not registered in this process
    raise AttributeError(
        f"mockserver.registry has no callable {name!r}: in-memory callables exist only in the process "
        "that registered them (the pytest process); run the algorithm in-process (profile mode 'inprocess') "
        "or bind an import path / file path instead")

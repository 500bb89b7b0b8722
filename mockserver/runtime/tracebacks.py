"""How an exception of the algorithm's code becomes a :class:`CallError`: its message, its
``error_type`` (the ADK's rule) and a stack trace of the algorithm's own frames.

Imported by every worker process: keep it light (``traceback`` is imported on first use, so a
worker's cold start need not pay for it).
"""
from __future__ import annotations

import os
from typing import Optional

from mockserver.runtime.codec import clean_text
from mockserver.runtime.errors import ALGORITHM_ERROR, CallError

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_algorithm_frame(frame) -> bool:
    """Frames of the mock's runtime (this package) and of the import machinery are not the
    algorithm's: the platform showed an algorithm's owner only the algorithm's frames."""
    name = frame.filename or ""
    return not (os.path.abspath(name).startswith(_RUNTIME_DIR) or name.startswith("<frozen importlib"))


def algorithm_trace(exc: BaseException) -> str:
    """The formatted traceback of ``exc`` (with its chain) without the mock's own frames."""
    import traceback
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


def error_of(exc: BaseException, error_type: Optional[str] = None, message: Optional[str] = None,
             *, trace: bool = True) -> CallError:
    """The :class:`CallError` of an exception, like the ADK: ``error_type`` is the exception's
    own ``error_type`` attribute if it has a string one (Algorithmia's AlgorithmException), else
    the given default; the message is ``str(exc)`` (its type's name when empty)."""
    own = getattr(exc, "error_type", None)
    if isinstance(own, str) and own and error_type in (None, ALGORITHM_ERROR):
        etype = own
    else:
        etype = error_type or ALGORITHM_ERROR
    if message is None:
        message = str(exc) or type(exc).__name__
    return CallError(clean_text(message), clean_text(etype), clean_text(algorithm_trace(exc)) if trace else "")

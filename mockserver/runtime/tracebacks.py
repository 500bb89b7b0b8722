"""How an exception of the algorithm's code becomes a :class:`CallError`: its message, its
``error_type`` (the ADK's rule) and a stack trace of the algorithm's own frames, with paths as
the platform shows them (:mod:`.traces`).

Imported by every worker process: keep it light (``traceback`` is imported on first use, so a
worker's cold start need not pay for it).
"""
from __future__ import annotations

from typing import Optional

from mockserver.runtime.codec import clean_text
from mockserver.runtime.errors import ALGORITHM_ERROR, CallError
from mockserver.runtime.traces import Paths, format_exception


def algorithm_trace(exc: BaseException, paths: Optional[Paths] = None) -> str:
    """The formatted traceback of ``exc`` (with its chain): the algorithm's frames only, at the
    platform's paths (:mod:`.traces`)."""
    return format_exception(exc, paths)


def error_of(exc: BaseException, error_type: Optional[str] = None, message: Optional[str] = None,
             *, trace: bool = True, paths: Optional[Paths] = None) -> CallError:
    """The :class:`CallError` of an exception, like the ADK: ``error_type`` is the exception's
    own ``error_type`` attribute if it has a string one (Algorithmia's AlgorithmException), else
    the given default; the message is ``str(exc)`` (its type's name when empty). ``paths``: how
    the algorithm's host paths show (in the trace and the message)."""
    own = getattr(exc, "error_type", None)
    if isinstance(own, str) and own and error_type in (None, ALGORITHM_ERROR):
        etype = own
    else:
        etype = error_type or ALGORITHM_ERROR
    if message is None:
        message = str(exc) or type(exc).__name__
    paths = paths or Paths()
    return CallError(clean_text(paths.rewrite(message)), clean_text(etype),
                     clean_text(algorithm_trace(exc, paths)) if trace else "")

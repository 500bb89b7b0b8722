"""Algorithms written for the ADK (``algorithmia-adk``), run with the ADK's own semantics by
driving the ADK's own public object.

An ADK algorithm's entry file (``src/Algorithm.py``, see :func:`entrypoint_in`) builds
``ADK(apply, load)`` and calls ``.init(...)`` when it is imported. The mock imports it when a
worker serves its first call, in that call's environment (``ALGORITHMIA_API`` and the call's
key, which the client the ADK makes for itself reads) and, in a worker process, in the
algorithm's source root as the current folder (where the ADK looks for
``model_manifest.json``). ``init`` records the ADK object instead of serving standard input
(runtime/binding.py). Then, as the platform's runner does:

- ``ADK.load()`` once per worker: the model manifest's files fetched through the data API and
  md5-checked into the ADK's ``ModelData``, then ``load(modelData)`` (or ``load()``); its
  failure is kept and every call answers it as a ``LoadingError``;
- ``ADK.apply(input)`` per call: ``apply(input, load_result)`` or ``apply(input)``, the answer
  ADK-formatted (``{"result", "metadata": {"content_type"}}``) and decoded here.

On Python 3.10 and later the ADK 1.2.x cannot format an exception (``traceback.format_exception``
lost its ``etype`` keyword): the error it meets while formatting one is set aside and the
algorithm's own exception is reported, with its trace (runtime/traces.py).

Imported by worker processes: keep it light.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
from typing import Any, Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime.context import current
from mockserver.runtime.errors import LOADING_ERROR
from mockserver.runtime.traces import source_root

ENTRYPOINT = "src/Algorithm.py"       # the ADK's primary file


def entrypoint_in(files: list[str], default: str) -> str:
    """The file a build imports: ``src/Algorithm.py`` when the commit has it, else ``default``."""
    return ENTRYPOINT if ENTRYPOINT in files else default


def is_adk_file(path: str) -> bool:
    """Does the file start an ADK (``ADK(...)`` and ``.init(``)? Read as text; unreadable: no."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            source = fh.read()
    except OSError:
        return False
    return "ADK(" in source and ".init(" in source


def _mark_loading_error(exc: BaseException) -> BaseException:
    """The ADK reports a failed load as a LoadingError unless the exception names its own type."""
    if not isinstance(getattr(exc, "error_type", None), str):
        try:
            exc.error_type = LOADING_ERROR
        except (AttributeError, TypeError):     # an exception type that takes no attributes
            pass
    return exc


def _algorithm_exception(exc: Exception) -> BaseException:
    """The algorithm's exception behind what ``ADK.apply`` raised: the ADK 1.2.x meets a
    TypeError in its own ``create_exception`` on Python 3.10+, with the algorithm's as context."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "create_exception" and exc.__context__ is not None:
            return exc.__context__
        tb = tb.tb_next
    return exc


class AdkReportedError(Exception):
    """An error the ADK formatted itself (an ADK whose ``create_exception`` works)."""

    def __init__(self, error: dict):
        super().__init__(str(error.get("message") or "algorithm error"))
        self.error_type = str(error.get("error_type") or "AlgorithmError")


class AdkAlgorithm:
    """A binding whose entry file starts an ADK: imported, loaded and applied through the ADK
    at the first call (see the module's docstring). Same interface as ``binding.Resolved``;
    one per worker, used by one call at a time."""

    def __init__(self, binding: _binding.Binding, import_kwargs: dict):
        self.binding = binding
        self.import_kwargs = import_kwargs
        self.adk: Any = None
        self.plain: Optional[_binding.Resolved] = None       # an entry file that never called init()
        self.plain_state: Any = None
        self.failure: Optional[BaseException] = None
        self.failure_tb = None

    def run_load(self) -> None:
        """Nothing at worker start: the ADK loads in the first call's environment."""
        return None

    def call_apply(self, value: Any, state: Any) -> Any:
        if self.adk is None and self.plain is None and self.failure is None:
            self._start()
        if self.failure is not None:
            raise self.failure.with_traceback(self.failure_tb)
        if self.plain is not None:
            return self.plain.call_apply(value, self.plain_state)
        failure = None
        try:
            response = self.adk.apply(value)
        except Exception as exc:          # noqa: BLE001 - whatever apply raised is the call's error
            failure = _algorithm_exception(exc)
        if failure is not None:
            raise failure                  # outside the handler: no "during handling" context
        return _decoded(response)

    def _start(self) -> None:
        ctx = current()
        if ctx is not None and ctx.mode == "process":
            # The platform runs an algorithm in its source root; the ADK reads its manifest there.
            os.chdir(source_root(self.binding.parse()[1])[0])
            sys.path[:] = [p for p in sys.path if p not in ("", ".")]
        started = _binding.ADK_STARTED
        del started[:]
        try:
            module, func = _binding.import_module_for(self.binding, **self.import_kwargs)
            if not started:
                self.plain = _binding.resolve(module, func, _binding.describe(self.binding))
                self.plain_state = self.plain.run_load()
                return
            self.adk = started[-1]
            with contextlib.redirect_stdout(io.StringIO()):      # its "loading complete" is no call's output
                self.adk.load()
            if self.adk.loading_exception is not None:
                raise self.adk.loading_exception
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:       # noqa: BLE001 - kept, and answered to every call
            self.failure, self.failure_tb = _mark_loading_error(exc), exc.__traceback__
        finally:
            del started[:]


def _decoded(response: Any) -> Any:
    """The value of an ADK-formatted answer (``format_response``'s JSON text)."""
    out = json.loads(response) if isinstance(response, (str, bytes)) else response
    if isinstance(out, dict) and "error" in out:
        raise AdkReportedError(out["error"] if isinstance(out["error"], dict) else {"message": out["error"]})
    result = out.get("result")
    if (out.get("metadata") or {}).get("content_type") == "binary":
        return base64.b64decode(result)
    return result

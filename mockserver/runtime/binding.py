"""Bindings: where an algorithm version's code lives, and how it is loaded.

A target is either an import path ``"pkg.module:func"`` or a file path
``"path/to/algo.py:func"`` (``:func`` optional, default ``apply``). Relative
file paths resolve against ``base_dir`` (the fixture file's folder), else
against the current directory at the time the binding is used.

Loading follows the Algorithmia ADK: the module may define ``load()`` (run once
per warm worker); its return value is passed as the 2nd argument to
``apply(input, state)`` when apply accepts two positional arguments.
Modules written for the ADK that call ``ADK(apply, load).init(...)`` (or the
older ``Algorithmia.handler(apply).serve()``) at import time are tolerated:
those calls are no-ops while the module is imported by the engine.

This module is imported by worker processes: keep it light (no Flask).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import os
import sys
import types
from typing import Any, Callable, NamedTuple, Optional

from mockserver.runtime.errors import BindingError

TEMPLATE_TARGET = "mockserver.runtime.template:apply"
DEFAULT_FUNCTION = "apply"
CALLABLE_PREFIX = "callable:"
_CO_VARARGS = 0x04          # inspect.CO_VARARGS: the code takes *args

# name -> namespace with ``apply`` (and optional ``load``), see Binding.from_callable
_CALLABLES: dict[str, Any] = {}
# The ADK objects whose init() an import called (runtime/adk.py drives the last one).
ADK_STARTED: list = []


# Binding, Resolved and InvocationContext are not dataclasses: the dataclasses module imports
# inspect (with ast, dis and tokenize), about 2.5 MiB in each worker process.
class Binding(NamedTuple):
    """Immutable and hashable: ``Binding(target, base_dir=None)``, with where the code came from:
    ``trusted`` when the pytest plugin or the operator (start-up fixtures) bound it, so it may run
    in the server's threads and as the server's user; ``checkout``, the commit of a pushed
    repository it runs from (never trusted; its own uid where the server can switch uids)."""
    target: str
    base_dir: Optional[str] = None
    trusted: bool = False
    checkout: Optional[str] = None

    @staticmethod
    def template() -> "Binding":
        """The platform's new-algorithm template: ``apply(input) -> "hello " + str(input)``."""
        return Binding(TEMPLATE_TARGET)

    @staticmethod
    def from_callable(apply: Callable, load: Optional[Callable] = None, name: Optional[str] = None) -> "Binding":
        """Bind Python callables directly (pytest plugin / in-process use).

        Returns a ``Binding("callable:<name>")`` backed by a process-local
        registry. In "process" mode the functions are sent to the worker
        pickled *by reference* (module-level functions of importable modules);
        callables that cannot be pickled (lambdas, closures, methods of local
        objects) are run in "inprocess" mode instead, whatever the profile says.
        """
        if not callable(apply):
            raise TypeError("apply must be callable")
        if load is not None and not callable(load):
            raise TypeError("load must be callable or None")
        if name is None:
            name = f"{getattr(apply, '__module__', '?')}.{getattr(apply, '__qualname__', 'apply')}#{next(_counter)}"
        _CALLABLES[name] = types.SimpleNamespace(apply=apply, load=load, __name__=name)
        return Binding(CALLABLE_PREFIX + name)

    @property
    def is_template(self) -> bool:
        return self.target == TEMPLATE_TARGET

    @property
    def is_callable(self) -> bool:
        return self.target.startswith(CALLABLE_PREFIX)

    def parse(self) -> tuple[str, str, str]:
        """``(kind, location, function)``; kind is "file" or "module";
        for files, location is an absolute path."""
        return parse_target(self.target, self.base_dir)


def parse_target(target: str, base_dir: Optional[str] = None) -> tuple[str, str, str]:
    if not isinstance(target, str) or not target.strip():
        raise BindingError("empty binding target")
    target = target.strip()
    if target.startswith(CALLABLE_PREFIX):
        return "callable", target[len(CALLABLE_PREFIX):], DEFAULT_FUNCTION
    location, func = target, DEFAULT_FUNCTION
    head, sep, tail = target.rpartition(":")
    # "C:\\x.py" style drive letters are not a concern (POSIX only), but keep
    # "path/with:colon/algo.py" working: only split when the tail is an identifier.
    if sep and tail.isidentifier():
        location, func = head, tail
    elif sep and not tail:
        location = head
    is_file = location.endswith(".py") or "/" in location or os.sep in location
    if is_file:
        path = os.path.expanduser(location)
        if not os.path.isabs(path):
            path = os.path.join(base_dir or os.getcwd(), path)
        return "file", os.path.normpath(os.path.abspath(path)), func
    if not all(part.isidentifier() for part in location.split(".")):
        raise BindingError(f"invalid binding target {target!r}: expected 'package.module:function' "
                           "or 'path/to/file.py:function'")
    return "module", location, func


# --------------------------------------------------------------------------- loading

_counter = itertools.count(1)


@contextlib.contextmanager
def _adk_entrypoints_disabled(source: Optional[str]):
    """ADK-style modules call ``ADK(apply, load).init(...)`` at import time,
    which would run the algorithm or read stdin forever. Make those no-ops (an ADK's
    ``init`` records the ADK in ``ADK_STARTED`` instead)."""
    if not source or ("ADK" not in source and "handler(" not in source):
        yield
        return
    patched = []
    try:
        try:
            # Import order matters: importing ``adk`` first leaves
            # ``Algorithmia.ADK`` bound to the submodule (a circular import).
            import Algorithmia  # type: ignore  # noqa: F401
            import adk  # type: ignore
            patched.append((adk.ADK, "init", adk.ADK.__dict__["init"]))
            adk.ADK.init = lambda self, *a, **k: ADK_STARTED.append(self)
        except Exception:
            pass
        try:
            from Algorithmia.handler import Handler  # type: ignore
            patched.append((Handler, "serve", Handler.__dict__["serve"]))
            Handler.serve = lambda self, *a, **k: None
        except Exception:
            pass
        yield
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def import_module_for(binding: Binding, *, module_name: Optional[str] = None,
                      prepend_path: bool = False, register: bool = True) -> tuple[Any, str]:
    """Import the binding's module. Returns ``(module, function_name)``.

    File targets are executed as a fresh module object (new globals each time)
    named ``module_name`` (default: a unique private name); ``register`` keeps it
    in ``sys.modules`` (dataclasses and pickle need that). Import targets use
    the normal import system (cached in ``sys.modules``).
    """
    kind, location, func = binding.parse()
    if kind == "callable":
        if location not in _CALLABLES:
            raise BindingError(f"no callable registered as {location!r}")
        return _CALLABLES[location], func
    if kind == "file":
        if not os.path.isfile(location):
            raise BindingError(f"algorithm file not found: {location}")
        folder = os.path.dirname(location)
        if folder not in sys.path:
            if prepend_path:
                sys.path.insert(0, folder)
            else:
                sys.path.append(folder)
        if module_name is None:
            import hashlib
            digest = hashlib.sha1(location.encode()).hexdigest()[:10]
            module_name = f"_mock_algo_{digest}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(module_name, location)
        if spec is None or spec.loader is None:
            raise BindingError(f"cannot load algorithm file: {location}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            with _adk_entrypoints_disabled(_read(location)):
                spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        if not register:
            sys.modules.pop(module_name, None)
        return module, func
    # import path
    source = None
    try:
        spec = importlib.util.find_spec(location)
    except (ImportError, ValueError) as exc:
        raise BindingError(f"cannot import algorithm module {location!r}: {exc}") from exc
    if spec is None:
        raise BindingError(f"No module named {location!r}")
    if spec.origin and spec.origin.endswith(".py") and location not in sys.modules:
        source = _read(spec.origin)
    with _adk_entrypoints_disabled(source):
        module = importlib.import_module(location)
    return module, func


class Resolved:
    """A loaded binding: the module, its apply and optional load function."""

    __slots__ = ("module", "apply", "load", "apply_takes_state", "load_takes_arg")

    def __init__(self, module: Any, apply: Callable, load: Optional[Callable], apply_takes_state: bool,
                 load_takes_arg: bool):
        self.module, self.apply, self.load = module, apply, load
        self.apply_takes_state, self.load_takes_arg = apply_takes_state, load_takes_arg

    def call_apply(self, value: Any, state: Any) -> Any:
        if self.apply_takes_state:
            return self.apply(value, state)
        return self.apply(value)

    def run_load(self) -> Any:
        if self.load is None:
            return None
        return self.load(None) if self.load_takes_arg else self.load()


def _positional_params(fn: Callable) -> tuple[int, int]:
    """(count of positional params, count of *required* positional params);
    ``*args`` counts as unlimited."""
    if type(fn) is types.FunctionType and not hasattr(fn, "__wrapped__") and not hasattr(fn, "__signature__"):
        # A plain function (the usual apply/load): its code object says the same as
        # inspect.signature, without importing inspect into every worker process.
        code = fn.__code__
        if code.co_flags & _CO_VARARGS:
            return 99, code.co_argcount - len(fn.__defaults__ or ())
        return code.co_argcount, code.co_argcount - len(fn.__defaults__ or ())
    try:
        import inspect          # here: a worker process's cold start need not import it
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1, 1
    total = required = 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            if p.default is p.empty:
                required += 1
        elif p.kind == p.VAR_POSITIONAL:
            total = 99
    return total, required


def resolve(module: Any, func: str, where: str) -> Resolved:
    apply = getattr(module, func, None)
    if apply is None:
        raise BindingError(f"{where} has no function {func!r}")
    if not callable(apply):
        raise BindingError(f"{where}: {func!r} is not callable")
    load = getattr(module, "load", None)
    if load is not None and not callable(load):
        load = None
    total, required = _positional_params(apply)
    if total < 1:
        raise BindingError(f"{where}: {func}() must accept the input as its first argument")
    # ADK semantics: apply(input, state) when apply takes two positional args
    # and the module has load(); without load() a *required* 2nd arg gets None.
    takes_state = total >= 2 and (load is not None or required >= 2)
    load_takes_arg = False
    if load is not None:
        l_total, l_required = _positional_params(load)
        load_takes_arg = l_required >= 1
    return Resolved(module, apply, load, takes_state, load_takes_arg)


def describe(binding: Binding) -> str:
    kind, location, _ = binding.parse()
    if kind == "callable":
        return f"callable {location!r}"
    return os.path.basename(location) if kind == "file" else f"module {location!r}"


def callable_blob(binding: Binding) -> tuple[Optional[bytes], Optional[str]]:
    """``(blob, None)``: the registered callables of a ``callable:`` binding pickled by
    reference; or ``(None, why)`` when they cannot be sent to another process."""
    import pickle
    ns = _CALLABLES.get(binding.parse()[1])
    if ns is None:
        return None, "no callable is registered under this name in the server's process"
    try:
        blob = pickle.dumps((ns.apply, ns.load), protocol=5)
        pickle.loads(blob)
        return blob, None
    except Exception as exc:        # noqa: BLE001 - whatever pickling raised is the reason
        return None, f"{type(exc).__name__}: {exc}"


def register_blob(name: str, blob: bytes) -> None:
    """Worker side of :func:`callable_blob`."""
    import pickle
    import types
    apply, load = pickle.loads(blob)
    _CALLABLES[name] = types.SimpleNamespace(apply=apply, load=load, __name__=name)


def load_binding(binding: Binding, **kwargs) -> Resolved:
    module, func = import_module_for(binding, **kwargs)
    return resolve(module, func, describe(binding))

"""Run-time bindings: which callable runs an algorithm (or one of its versions).

Set through the control API or the pytest plugin; they win over what a build
was compiled with. A binding names importable code ("pkg.mod:apply" or
"path/algo.py:apply"); no code is ever uploaded. Over HTTP the code must be under the
allowed folders or module prefixes (403 otherwise, ``runtime/policy.py``); what the pytest
plugin binds in its own process is trusted (``State.trusted_bindings``: it may run in the
server's process; nothing bound over HTTP ever is). The target is imported and checked in a
throw-away worker process, never in the server.
"""
from __future__ import annotations

import math

from mockserver.errors import (ALGORITHM_NOT_FOUND, BINDING_NOT_ALLOWED, NO_BINDING, REQUEST_INVALID, TOO_MANY_CHECKS,
                               ApiError)
from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import BindingError, ChecksBusy
from mockserver.domain.context import Ctx


def binding_key(owner: str, name: str, version: str | None = None) -> str:
    """The key of a binding in ``State.bindings``: "owner/name" (all versions) or "owner/name/version"."""
    return f"{owner}/{name}/{version}" if version else f"{owner}/{name}"


def parse_binding_key(algorithm: str, version: str | None = None) -> tuple[str, str, str | None]:
    """("owner", "name", version) from "owner/name" or "owner/name/version" (the inverse of binding_key)."""
    parts = algorithm.strip("/").split("/") if isinstance(algorithm, str) else []
    if len(parts) == 3 and version is None:
        parts, version = parts[:2], parts[2]
    if len(parts) != 2 or not all(parts):
        raise ApiError(REQUEST_INVALID, f"algorithm: expected 'owner/name', not {algorithm!r}")
    return parts[0], parts[1], (str(version) if version else None)


def set_binding(ctx: Ctx, owner: str, name: str, target: str, version: str | None = None,
                base_dir: str | None = None, *, trusted: bool = False) -> str:
    """Bind and return the stored target (made absolute against ``base_dir``).
    ``trusted``: the pytest plugin binds code of its own process (no folder/prefix check)."""
    if not isinstance(target, str) or not target.strip():
        raise ApiError(REQUEST_INVALID, "target must name a callable: 'package.module:apply' or 'path/algo.py:apply'")
    binding = Binding(target, base_dir=base_dir, trusted=trusted)
    try:
        binding.parse()
    except BindingError as exc:          # e.g. a NUL byte: no file or module has that name
        raise ApiError(REQUEST_INVALID, f"Cannot bind {owner}/{name} to {target!r}: {exc.message}") from None
    if not trusted and ctx.engine is not None:
        denial = ("callables can only be bound by the pytest plugin, in its own process"
                  if binding.is_callable else ctx.engine.binding_denial(binding))
        if denial:
            raise ApiError(BINDING_NOT_ALLOWED, f"Cannot bind {owner}/{name} to {target}: {denial}")
    problem = check_import(ctx, binding, f"Cannot bind {owner}/{name} to {target}")
    if problem:
        raise ApiError(REQUEST_INVALID, f"Cannot bind {owner}/{name} to {target}: {problem}")
    with ctx.store.write() as state:
        algo = state.algorithm_named(owner, name)          # without regard to case, as the API
        if algo is None:
            raise ApiError(ALGORITHM_NOT_FOUND, f"No such algorithm: {owner}/{name}")
        resolved = target if base_dir is None else _absolute(binding)
        state.put_binding(binding_key(algo.owner, algo.name, version), resolved, trusted=trusted)
    return resolved


def check_import(ctx: Ctx, binding: Binding, doing: str) -> str | None:
    """None if the binding imports (in a checker process), else why not. 429 when the server's
    pool of binding checks (or this sandbox's share) is full: ``doing`` says what was refused."""
    if ctx.engine is None:
        return None
    try:
        return ctx.engine.check_binding(binding)
    except ChecksBusy as busy:
        raise ApiError(TOO_MANY_CHECKS, f"{doing}: too many binding checks at once: {busy.message}",
                       headers={"Retry-After": str(max(1, math.ceil(busy.retry_after)))}) from None


def clear_binding(ctx: Ctx, owner: str, name: str, version: str | None = None) -> None:
    with ctx.store.write() as state:
        algo = state.algorithm_named(owner, name)
        if algo is not None:
            owner, name = algo.owner, algo.name
        if not state.drop_binding(binding_key(owner, name, version)):
            raise ApiError(NO_BINDING, f"No run-time binding for {binding_key(owner, name, version)}")


def list_bindings(ctx: Ctx) -> dict[str, str]:
    with ctx.store.read() as state:
        return dict(state.bindings)


def _absolute(binding: Binding) -> str:
    """A file binding relative to base_dir, made absolute so it no longer needs base_dir."""
    import os
    path, sep, func = binding.target.partition(":")
    if path.endswith(".py") and not os.path.isabs(path):
        path = os.path.abspath(os.path.join(binding.base_dir or ".", path))
    return path + (sep + func if sep else "")

"""Calling an algorithm: /v1/algo semantics on top of the runtime engine.

Resolution and bookkeeping happen under the store lock; the call itself runs
outside it, so a slow algorithm never blocks the rest of the API. The algorithm's
``ALGORITHMIA_API_KEY`` is a key of this call alone, live while it runs (callkeys.py).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from mockserver.domain.principal import Principal
from mockserver.errors import INVALID_INPUT, INVALID_MULTIPART_INPUT, SHUTTING_DOWN, ApiError
from mockserver.runtime.binding import Binding
from mockserver.runtime.calls import Admitted, Invocation, Outcome
from mockserver.runtime.errors import (SYSTEM_ERROR, BadInput, CallError, EngineClosed, KeyBusy, QueueFull,
                                       ServerBusy)
from mockserver.runtime.multipart import BadMultipart
from mockserver.domain.store import State
from mockserver.domain import algorithms, callkeys, gitbuilds, secrets
from mockserver.domain.algorithm_models import Algorithm, Build
from mockserver.domain.builds import call_permissions
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.domain.bindings import binding_key
from mockserver.domain.profiles import profile_for
from mockserver.domain.refusals import CallRefused
from mockserver.domain.versions import resolve_call

DEFAULT_TIMEOUT = 300
log = logging.getLogger("mockserver")


@dataclass(slots=True)
class Call:
    """Everything needed to run one invocation, gathered under the lock."""
    algorithm: str                 # "owner/name"
    version: str | None            # semantic version or git hash called
    invocation: Invocation
    may_see_source: bool
    caller: str | None
    call_key: callkeys.PendingKey  # the algorithm's ALGORITHMIA_API_KEY: live only while the call runs
    load_key: ApiKey               # the owner's key its code was imported with: live while the call runs
    # Under a frozen or step clock (a reproducible run) metadata.duration reports only the
    # simulated time: the code's real run time would differ from run to run.
    simulated_scale: float | None = None


def prepare(ctx: Ctx, who: Principal, owner: str, name: str, version_spec: str | None,
            body: bytes, content_type: str | None, *, timeout: float | None, stdout: bool,
            base_url: str) -> Call:
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    caller_key = who.key
    with ctx.store.write() as state:
        algo, build, version, is_owner = resolve_call(state, who, owner, name, version_spec)
        semver = version.semantic_version if version else None
        binding = _binding(state, algo, build, semver)
        source = gitbuilds.source_of(state, algo, build) if binding is None else None
        settings = algo.settings
        profile = profile_for(ctx, settings if version is None else (version.settings or settings))
        full_name, commit = algo.full_name, build.commit_sha
        key_permissions = _call_key_permissions(algo, caller_key)
        load_key = ctx.store.call_keys.load_key(algo.owner, full_name, commit,
                                                call_permissions(algo, allow_data_write=True))
        secret_env = secrets.environment(algo) if algo.secrets else None
        may_see_source = is_owner or settings.get("source_visibility") == "open"
    if source is not None:       # the built commit, checked out outside the lock
        binding = gitbuilds.binding_for(ctx, *source)
    call_key = callkeys.call_key(caller_key.owner, full_name, key_permissions)     # drawn outside the lock
    called = semver or commit
    env = {"ALGORITHMIA_API": base_url, "ALGORITHMIA_API_KEY": call_key.api_key,
           "ALGORITHMIA_ALGORITHM": full_name, "ALGORITHMIA_VERSION": called, "ALGORITHMIA_PROFILE": profile.name}
    if secret_env:
        env = {**secret_env, **env}
    load_env = env.copy()
    load_env["ALGORITHMIA_API_KEY"] = load_key.api_key
    inv = Invocation(f"{full_name}/{commit}", binding, profile, body, content_type, float(timeout),
                     stdout and is_owner, env, caller_key.api_key, load_env)
    return Call(full_name, called, inv, may_see_source, caller_key.owner, call_key, load_key,
                None if ctx.clock.mode == "real" else ctx.settings.profile_scale)


def admit(ctx: Ctx, call: Call) -> Admitted:
    """Decide at once whether the call may run (never waits for a worker). Raises CallRefused,
    or ApiError for input that does not decode and for an engine that is shutting down."""
    try:
        return ctx.engine.admit(call.invocation)
    except _ENGINE_REFUSALS as exc:
        raise _refusal(call, exc) from None


_ENGINE_REFUSALS = (KeyBusy, ServerBusy, QueueFull, BadMultipart, BadInput, EngineClosed)


def _refusal(call: Call, exc: Exception) -> Exception:
    """What the caller is told of an engine's refusal (one of _ENGINE_REFUSALS)."""
    if isinstance(exc, KeyBusy):
        return CallRefused(f"Too many concurrent calls with this API key: {exc.message}", exc.retry_after)
    if isinstance(exc, ServerBusy):
        return CallRefused(f"Too many concurrent algorithm calls: {exc.message}", exc.retry_after)
    if isinstance(exc, QueueFull):
        return CallRefused(f"Too many concurrent calls to {call.algorithm}: {exc.message}", exc.retry_after)
    if isinstance(exc, BadMultipart):
        return ApiError(INVALID_MULTIPART_INPUT, f"Invalid input for {call.algorithm}: {exc.message}")
    if isinstance(exc, BadInput):
        return ApiError(INVALID_INPUT, f"Invalid input for {call.algorithm}: {exc.message}")
    return ApiError(SHUTTING_DOWN, "The invocation engine is shutting down")


def run(ctx: Ctx, call: Call, request_id: str, cancelled: threading.Event | None = None) -> Outcome:
    """Admit and run the call (raises as :func:`admit`). Setting ``cancelled`` (the client went
    away) stops it and frees its slot."""
    return _run_admitted(ctx, call, admit(ctx, call), request_id, cancelled)


def _run_admitted(ctx: Ctx, call: Call, admitted: Admitted, request_id: str,
                  cancelled: threading.Event | None = None) -> Outcome:
    keys, held = ctx.store.call_keys, (call.call_key, call.load_key)
    keys.hold(held)                  # live from here until the call ends (callkeys.live, inlined)
    try:
        outcome = ctx.engine.run(admitted, cancelled=cancelled)
    except _ENGINE_REFUSALS as exc:   # QueueFull: re-queued after its algorithm's pool was replaced, queue full
        raise _refusal(call, exc) from None
    finally:
        keys.release(held)
    if outcome.error is not None and not (cancelled is not None and cancelled.is_set()):
        _record_error(ctx, call, outcome.error, request_id)
    return outcome


def run_in_background(ctx: Ctx, call: Call, request_id: str) -> None:
    """output=void: admit the call now (raises as :func:`admit`, so a refusal reaches the
    caller), then run it on its own thread; the caller acknowledges at once. A failure of the
    call is recorded in the algorithm's errors like any call's; one that keeps it from running
    after admission (the engine shut down) is logged and recorded too."""
    admitted = admit(ctx, call)

    def work() -> None:
        try:
            _run_admitted(ctx, call, admitted, request_id)
        except (CallRefused, ApiError) as exc:
            log.warning("output=void call %s of %s did not run: %s", request_id, call.algorithm, exc)
            _record_error(ctx, call, CallError(f"The call did not run: {exc}", SYSTEM_ERROR), request_id)

    try:
        threading.Thread(target=work, name=f"void-{request_id}", daemon=True).start()
    except BaseException:
        ctx.engine.abandon(admitted)
        raise


def _binding(state: State, algo: Algorithm, build: Build, semver: str | None) -> Binding | None:
    """Run-time bindings (control API, plugin) win over what the build was compiled with."""
    bindings = state.bindings
    if bindings:
        for key in (binding_key(algo.owner, algo.name, semver) if semver else None,
                    binding_key(algo.owner, algo.name, build.commit_sha), binding_key(algo.owner, algo.name)):
            if key and key in bindings:
                return _bound(bindings[key], None, key in state.trusted_bindings)
    if build.binding:
        return _bound(build.binding, build.binding_base, build.binding_trusted)
    if build.from_repository:
        return None             # the commit it was built from (gitbuilds.binding_for)
    return Binding.template()


_BINDINGS: dict[tuple, Binding] = {}     # one Binding per target, base folder and provenance
_BINDINGS_MAX = 4096


def _bound(target: str, base_dir: str | None, trusted: bool) -> Binding:
    """``Binding(target, base_dir, trusted)``, the same object on every call of a version: made
    once, and compared by identity when the engine finds the call's warm pool."""
    key = (target, base_dir, trusted)
    made = _BINDINGS.get(key)
    if made is None:
        if len(_BINDINGS) >= _BINDINGS_MAX:
            _BINDINGS.clear()
        made = _BINDINGS[key] = Binding(target, base_dir, bool(trusted))
    return made


def _call_key_permissions(algo: Algorithm, caller: ApiKey) -> dict:
    """What the key a running algorithm gets may do: it acts for the caller (seed 001: ``.my``
    is the calling user, so ``[]`` collections are the caller's alone), plus the algorithm-owner
    grant, reading the owner's ``algo://.my/*`` collections (``data.can_read``).

    It may call other algorithms only when the algorithm is pipeline_enabled, and write
    data only when the caller's key may. A new key for every call, live while it runs.
    """
    return call_permissions(algo, allow_data_write=caller.allows("allow_data_write"))


def _record_error(ctx: Ctx, call: Call, error: CallError, request_id: str) -> None:
    with ctx.store.write() as state:
        algo = state.algorithms.get(call.algorithm)
        if algo is None:
            return    # deleted while running
        algorithms.record_error(state, ctx, algo, call.caller, call.version, error.message, error.error_type,
                                request_id)


def reported_duration(call: Call, outcome: Outcome) -> float:
    """The measured duration; under a fixed clock its simulated part only (cold start and
    per-call overhead times the profile scale, plus the timeout for a call that timed out)."""
    scale = call.simulated_scale
    if scale is None:
        return outcome.duration
    profile = call.invocation.profile
    simulated = (profile.cold_start_s * scale if outcome.cold else 0.0) + profile.overhead_s * scale
    timeout = call.invocation.timeout_s
    if outcome.error is not None and outcome.duration >= simulated + timeout:
        simulated += timeout
    return simulated

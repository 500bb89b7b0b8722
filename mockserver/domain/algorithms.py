"""Algorithms: create, get, update, delete, list, SCM status, error lists
(seed 001 "Algorithms"). Builds live in ``builds``, versions in ``versions``.

Access rules:
- *managers* of an algorithm are admins, the owning user, and members (or
  owners) of the owning organization: they see and change everything;
- anybody else sees an algorithm only once it has a public published version,
  and then only its public versions; a hidden algorithm answers 404 / 1000
  exactly as a missing one does.
"""
from __future__ import annotations

import functools
import time
from typing import Any, Iterable

import semver
from sortedcontainers import SortedDict

from mockserver.domain.principal import Principal
from mockserver.errors import (ALGORITHM_EXISTS, ALGORITHM_NOT_FOUND, INVALID_REQUEST, ORG_NOT_FOUND,
                      UNSUPPORTED_MACHINE, USER_NOT_FOUND, ApiError, not_authorized)
from mockserver.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, check_limit, paginate, sorted_dict_source
from mockserver.store import State
from mockserver.domain import orgs, scms
from mockserver.domain.algorithm_models import Algorithm, Build, ErrorEntry, Version
from mockserver.domain.context import Ctx
from mockserver.domain.environments import canonical_language
from mockserver.domain.gitbuilds import create_repository
from mockserver.domain.names import check_name

ENVIRONMENTS = ("cpu", "gpu")
LICENSES = ("apl", "apache2", "gpl3", "mit")
VISIBILITIES = ("open", "closed")
NETWORK_ACCESS = ("full", "isolated")
CALLABILITIES = ("public", "private")
_DETAILS = ("label", "summary", "tagline")
_VERSION_INFO = ("sample_input", "sample_output", "release_notes")
# Settings a build is compiled with: changing them needs a new build.
BUILD_SETTINGS = ("language", "environment", "package_set", "algorithm_environment")
_SETTINGS_ORDER = ("algorithm_callability", "source_visibility", "language", "environment", "package_set",
                   "algorithm_environment", "license", "royalty_microcredits", "network_access",
                   "pipeline_enabled", "insights_enabled")


# -- access -------------------------------------------------------------------
def is_public(algo: Algorithm) -> bool:
    return any(v.callability == "public" for v in algo.versions)


def not_found(owner: str, name: str) -> ApiError:
    return ApiError(ALGORITHM_NOT_FOUND, f"No such algorithm: {owner}/{name}", 404)


def find(state: State, owner: str, name: str) -> Algorithm:
    algo = state.algorithms.get(f"{owner}/{name}")
    if algo is None:
        raise not_found(owner, name)
    return algo


def find_visible(ctx: Ctx, state: State, who: Principal, owner: str, name: str) -> Algorithm:
    algo = find(state, owner, name)
    if not (orgs.acts_for(state, who, owner) or is_public(algo)):
        raise not_found(owner, name)
    settle(algo)
    return algo


def find_managed(ctx: Ctx, state: State, who: Principal, owner: str, name: str) -> Algorithm:
    algo = find_visible(ctx, state, who, owner, name)
    if not orgs.acts_for(state, who, owner):
        raise not_authorized(f"Caller is not authorized to perform the operation: only the owner of {owner}/{name} "
                             "(or a member of its organization) may do this")
    return algo


def find_by_id(state: State, who: Principal, algorithm_id: str) -> Algorithm:
    algo = state.algorithm_by_id(algorithm_id)
    if algo is None or not orgs.acts_for(state, who, algo.owner):
        raise ApiError(1009, f"An algorithm with the requested ID does not exist: {algorithm_id}", 404)
    return algo


def settle(algo: Algorithm) -> None:
    """In-progress builds whose time has come finish now (builds finish lazily, when read)."""
    now = time.monotonic()
    for build in algo.builds.values():
        if build.status == "in-progress" and now >= build.ready_at:
            build.status = build.final_status or "succeeded"
            build.finished_at = build.finishes_at


# -- queries ------------------------------------------------------------------
def latest_build(algo: Algorithm) -> Build | None:
    return max(algo.builds.values(), key=lambda b: b.seq, default=None)


def version_key(version: Version) -> semver.Version:
    return _parsed(version.semantic_version)


@functools.lru_cache(maxsize=4096)
def _parsed(semantic_version: str) -> semver.Version:
    """Parsed once: every call of an algorithm compares its versions (semver.Version is immutable)."""
    return semver.Version.parse(semantic_version)


def latest_version(algo: Algorithm, *, public_only: bool = False) -> Version | None:
    candidates = [v for v in algo.versions if v.callability == "public" or not public_only]
    return max(candidates, key=version_key, default=None)


def version_of_build(algo: Algorithm, build: Build) -> Version | None:
    return next((v for v in algo.versions if v.build_id == build.build_id), None)


# -- rendering ------------------------------------------------------------------
def algo_url(base_url: str, algo: Algorithm) -> str:
    return f"{base_url}/v1/algorithms/{algo.owner}/{algo.name}"


def render_build(build: Build) -> dict[str, Any]:
    out: dict[str, Any] = {"build_id": build.build_id, "commit_sha": build.commit_sha,
                           "finished_at": build.finished_at, "resource_type": "algorithm_build",
                           "started_at": build.started_at, "status": build.status}
    if build.semantic_version:
        out["version_info"] = {"semantic_version": build.semantic_version}
    return out


def _ordered_settings(settings: dict[str, Any]) -> dict[str, Any]:
    out = {k: settings[k] for k in _SETTINGS_ORDER if settings.get(k) is not None}
    out.update({k: v for k, v in settings.items() if k not in out and v is not None})
    return out


def _source(state: State, algo: Algorithm) -> dict[str, Any]:
    scm = state.scms.get(algo.scm_id) or state.scms[scms.INTERNAL_ID]
    return {**algo.source, "scm": scms.render(scm)}


def _compilation(build: Build) -> dict[str, Any]:
    if build.status == "in-progress":
        return {"successful": False, "output": "Building algorithm... (the build is in progress)"}
    return {"successful": build.status == "succeeded", "output": build.logs or "Building algorithm..."}


def render(state: State, algo: Algorithm, base_url: str, build: Build | None = None,
           version: Version | None = None, *, as_version: bool = False) -> dict[str, Any]:
    """The algorithm object; with ``as_version`` the version object of ``build``
    (settings and details as published, unpublished builds are private)."""
    if as_version:
        settings = dict(version.settings) if version else {**(build.settings if build else algo.settings),
                                                           "algorithm_callability": "private"}
        details = dict(version.details) if version and version.details else dict(algo.details)
    else:
        settings, details = dict(algo.settings), dict(algo.details)
    out: dict[str, Any] = {"id": algo.id, "name": algo.name, "details": details,
                           "settings": _ordered_settings(settings), "source": _source(state, algo),
                           "resource_type": "algorithm"}
    insights = bool(settings.get("insights_enabled", False))
    if build is not None:
        info: dict[str, Any] = {"git_hash": build.commit_sha}
        if version is not None:
            info["semantic_version"] = version.semantic_version
            for field in _VERSION_INFO:
                if getattr(version, field) is not None:
                    info[field] = getattr(version, field)
        elif not as_version:
            info.update({k: v for k, v in algo.version_info.items() if v is not None})
        info["insights_enabled"] = insights
        out["version_info"] = info
        out["build"] = render_build(build)
        out["compilation"] = _compilation(build)
        out["self_link"] = f"{algo_url(base_url, algo)}/versions/{build.commit_sha}"
    elif algo.version_info:
        out["version_info"] = {**{k: v for k, v in algo.version_info.items() if v is not None},
                               "insights_enabled": insights}
    return out


def render_current(state: State, who: Principal, algo: Algorithm, base_url: str) -> dict[str, Any]:
    """What GET answers: managers see the latest build; others the latest public version."""
    if orgs.acts_for(state, who, algo.owner):
        build = latest_build(algo)
        return render(state, algo, base_url, build, version_of_build(algo, build) if build else None)
    version = latest_version(algo, public_only=True)
    build = algo.builds.get(version.build_id) if version else None
    return render(state, algo, base_url, build, version if build else None)


# -- settings -----------------------------------------------------------------
def _enum(settings: dict[str, Any], field: str, allowed: Iterable[str], code: int = INVALID_REQUEST) -> None:
    value = settings.get(field)
    if value is not None and value not in allowed:
        raise ApiError(code, f"settings.{field} must be one of {', '.join(allowed)}, not {value!r}")


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete settings object against the seed's enumerations; returns it cleaned."""
    out = {k: v for k, v in settings.items() if v is not None}
    if out.get("language") is not None:
        out["language"] = canonical_language(out["language"])
        out.setdefault("environment", "cpu")          # clients always send it; the platform's default
    elif not out.get("package_set"):
        raise ApiError(INVALID_REQUEST, "settings.language is required (or settings.package_set)")
    _enum(out, "environment", ENVIRONMENTS, UNSUPPORTED_MACHINE)
    for field, allowed in (("license", LICENSES), ("source_visibility", VISIBILITIES),
                           ("network_access", NETWORK_ACCESS), ("algorithm_callability", CALLABILITIES)):
        _enum(out, field, allowed)
    for field in ("license", "source_visibility", "network_access"):
        if field not in out:
            raise ApiError(INVALID_REQUEST, f"Request body is invalid, missing field: 'settings.{field}'")
    out.setdefault("pipeline_enabled", False)
    for field in ("pipeline_enabled", "insights_enabled"):
        if field in out and not isinstance(out[field], bool):
            raise ApiError(INVALID_REQUEST, f"settings.{field} must be true or false, not {out[field]!r}")
    royalty = out.get("royalty_microcredits")
    if royalty is not None and (isinstance(royalty, bool) or not isinstance(royalty, int) or royalty < 0):
        raise ApiError(INVALID_REQUEST, f"settings.royalty_microcredits must be an integer >= 0, not {royalty!r}")
    if out["source_visibility"] == "closed" and out["license"] != "apl":
        raise ApiError(INVALID_REQUEST, "Only the apl license supports closed-source algorithms: settings.source_visibility "
                       f"'closed' needs settings.license 'apl' (got {out['license']!r}); use 'open' for {out['license']}")
    return out


# Seed 001 marks these "Required" in both the create and the update payload.
REQUIRED_SETTINGS = ("license", "network_access", "pipeline_enabled", "source_visibility")


def require_settings(given: Any) -> dict[str, Any]:
    """The body's ``settings`` with every field seed 001 requires present (create and update):
    the four above, and ``environment`` whenever ``language`` is given."""
    if not isinstance(given, dict):
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field: 'settings'")
    missing = [f for f in REQUIRED_SETTINGS if given.get(f) is None]
    if given.get("language") is not None and given.get("environment") is None:
        missing.append("environment")
    if missing:
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field(s): "
                       + ", ".join(f"'settings.{f}'" for f in missing) + " (required by the API)")
    return given


def merge_details(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(current)
    for field in _DETAILS:
        if given and field in given:
            if given[field] is None:
                if field != "label":
                    out.pop(field, None)
            elif not isinstance(given[field], str):
                raise ApiError(INVALID_REQUEST, f"details.{field} must be a string")
            else:
                out[field] = given[field]
    if not isinstance(out.get("label"), str) or not out["label"].strip():
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field: 'details.label'")
    return {k: out[k] for k in _DETAILS if k in out}


def _version_info(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(current)
    for field in _VERSION_INFO:
        if given and field in given:
            if given[field] is None:
                out.pop(field, None)
            else:
                out[field] = str(given[field])
    return out


def _scm_id(source: dict[str, Any] | None) -> str | None:
    source = source or {}
    scm = source.get("scm")
    if isinstance(scm, dict):
        scm = scm.get("id")
    return source.get("scm_id") or scm or None


# -- commands -----------------------------------------------------------------
def create(ctx: Ctx, who: Principal, owner: str, body: dict[str, Any], base_url: str) -> dict[str, Any]:
    with ctx.store.write() as state:
        algo = add(ctx, state, who, owner, body)
        return render(state, algo, base_url)


def add(ctx: Ctx, state: State, who: Principal, owner: str, body: dict[str, Any]) -> Algorithm:
    """Create an algorithm in ``state`` (the store's write lock held)."""
    if not isinstance(body, dict):
        raise ApiError(INVALID_REQUEST, "The request body must be a JSON object")
    name = check_name(body.get("name"), "algorithm name", INVALID_REQUEST)
    details = merge_details({}, body.get("details") or {})
    settings = check_settings({**require_settings(body.get("settings")), "algorithm_callability": "private"})
    if not state.owner_exists(owner):
        raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {owner}")
    if not orgs.acts_for(state, who, owner):
        raise not_authorized(f"Caller is not authorized to perform the operation: only {owner} "
                             "(or a member of the organization) may create algorithms for it")
    taken = state.algorithm_named(owner, name)
    if taken is not None:
        raise ApiError(ALGORITHM_EXISTS, f"An algorithm with the requested name already exists: {taken.full_name}")
    source_in = body.get("source") or {}
    scm = scms.usable(state, _scm_id(source_in))
    source: dict[str, Any] = {}
    if scm.id != scms.INTERNAL_ID:
        repo = source_in.get("repository_name") or name
        repo_owner = source_in.get("repository_owner") or owner
        web = (scm.urls.get("web") or "https://github.com").rstrip("/")
        ssh = (scm.urls.get("ssh") or "ssh://git@github.com").rstrip("/")
        source = {"repository_https_url": f"{web}/{repo_owner}/{repo}", "repository_name": repo,
                  "repository_owner": repo_owner, "repository_ssh_url": f"{ssh}:{repo_owner}/{repo}.git"}
    algo = Algorithm(id=ctx.ids.uuid(), owner=owner, name=name, details=details, settings=settings,
                     scm_id=scm.id, source=source, created_at=ctx.clock.iso(), seq=state.next_seq(),
                     version_info=_version_info({}, body.get("version_info")),
                     webhook_secret=ctx.ids.uuid())
    state.put_algorithm(algo)
    create_repository(ctx, state, algo)
    return algo


def get(ctx: Ctx, who: Principal, owner: str, name: str, base_url: str) -> dict[str, Any]:
    with ctx.store.read() as state:
        try:
            algo = find_visible(ctx, state, who, owner, name)
        except ApiError as exc:
            if exc.code != ALGORITHM_NOT_FOUND:
                raise
            # The real service's exact body, which an official client's test compares as a string.
            raise ApiError(ALGORITHM_NOT_FOUND, "No such algorithm", 404, shape="bare") from None
        return render_current(state, who, algo, base_url)


def update(ctx: Ctx, who: Principal, owner: str, name: str, body: dict[str, Any] | None,
           base_url: str) -> dict[str, Any]:
    body = body or {}
    if body.get("name") not in (None, name):
        raise ApiError(INVALID_REQUEST, f"Algorithms cannot be renamed: the body names {body['name']!r}, "
                       f"the path {owner}/{name}")
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        details = merge_details(algo.details, body.get("details"))
        given = {k: v for k, v in require_settings(body.get("settings")).items()
                 if k != "algorithm_callability" and v is not None}   # callability changes by publishing
        settings = check_settings({**algo.settings, **given})
        algo.details, algo.settings = details, settings
        algo.version_info = _version_info(algo.version_info, body.get("version_info"))
        return render_current(state, who, algo, base_url)


def delete(ctx: Ctx, who: Principal, owner: str, name: str) -> None:
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        state.drop_algorithm(algo.full_name)          # with builds, versions, bindings, errors, key


def listing(ctx: Ctx, who: Principal, owner: str, base_url: str, **page: Any) -> Page:
    with ctx.store.read() as state:
        if not state.owner_exists(owner):
            raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {owner}")
        manager = orgs.acts_for(state, who, owner)

        def render(algo: Algorithm) -> dict[str, Any]:
            settle(algo)
            return render_current(state, who, algo, base_url)

        source = sorted_dict_source(state.algorithms_by_owner.get(owner, SortedDict()),
                                    include=None if manager else is_public)
        return paginate(source, list_id=f"algorithms:{owner}", render=render, **page)


def scm_status(ctx: Ctx, who: Principal, owner: str, name: str, base_url: str) -> dict[str, Any]:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        scm = state.scms.get(algo.scm_id)
        out: dict[str, Any] = {"scm_connection_status": "active" if scm is None or scm.enabled
                               else "provider_internal_error"}
        if algo.scm_id != scms.INTERNAL_ID:
            out["repository_public_deploy_key"] = _deploy_key(algo)
            out["repository_webhook_secret"] = algo.webhook_secret
            out["repository_webhook_url"] = f"{algo_url(base_url, algo)}/scm/webhook"
        return out


def _deploy_key(algo: Algorithm) -> str:
    import base64
    import hashlib
    blob = b"\x00\x00\x00\x07ssh-rsa" + hashlib.sha512(algo.id.encode()).digest() * 4
    return f"ssh-rsa {base64.b64encode(blob).decode()} algorithmia-deploy-key@{algo.owner}/{algo.name}"


# -- invocation errors ------------------------------------------------------------
def record_error(state: State, ctx: Ctx, algorithm: Algorithm, caller: str | None, version: str | None,
                 message: str, error_type: str, request_id: str) -> ErrorEntry:
    """Remember a failed invocation (the store's write lock held); the error lists read them."""
    entry = ErrorEntry(id=ctx.ids.uuid(), algorithm=algorithm.full_name, owner=algorithm.owner, caller=caller,
                       version=version, message=str(message)[:2000], error_type=error_type or "AlgorithmError",
                       created_at=ctx.clock.iso(), request_id=request_id, seq=state.next_seq(),
                       algorithm_id=algorithm.id)
    state.record_error(entry, keep=1000)
    return entry


def render_error(entry: ErrorEntry) -> dict[str, Any]:
    out = {"id": entry.id, "algorithm": entry.algorithm, "owner": entry.owner, "caller": entry.caller,
           "version": entry.version, "request_id": entry.request_id, "error_type": entry.error_type,
           "message": entry.message, "created_at": entry.created_at}
    if entry.algorithm_id:
        out["algorithm_id"] = entry.algorithm_id
    return out


def _error_of(entry: ErrorEntry, algo: Algorithm) -> bool:
    return entry.is_of((algo.id,), (algo.full_name,))


def _newest(ctx: Ctx, entries: Iterable[ErrorEntry], limit: Any) -> list[dict[str, Any]]:
    size = check_limit(limit, ctx.settings.page_max or MAX_LIMIT, ctx.settings.page_default or DEFAULT_LIMIT)
    ordered = sorted(entries, key=lambda e: e.seq, reverse=True)[:size]
    return [render_error(e) for e in ordered]


def errors_of_algorithm(ctx: Ctx, who: Principal, owner: str, name: str, limit: Any = None) -> list[dict[str, Any]]:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        return _newest(ctx, (e for e in state.errors if _error_of(e, algo)), limit)


def errors_of_algorithm_id(ctx: Ctx, who: Principal, algorithm_id: str, limit: Any = None) -> list[dict[str, Any]]:
    with ctx.store.read() as state:
        algo = find_by_id(state, who, algorithm_id)
        return _newest(ctx, (e for e in state.errors if _error_of(e, algo)), limit)


def errors_of_user(ctx: Ctx, who: Principal, username: str, limit: Any = None) -> list[dict[str, Any]]:
    with ctx.store.read() as state:
        if username not in state.users:
            raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {username}")
        if not (who.is_admin or who.username == username):
            raise not_authorized("Caller is not authorized to read another user's algorithm errors")
        return _newest(ctx, (e for e in state.errors if e.owner == username), limit)


def errors_of_org(ctx: Ctx, who: Principal, org_name: str, limit: Any = None) -> list[dict[str, Any]]:
    with ctx.store.read() as state:
        if org_name not in state.orgs or not (who.is_admin or orgs.is_member(state, org_name, who.username)):
            raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
        return _newest(ctx, (e for e in state.errors if e.owner == org_name), limit)

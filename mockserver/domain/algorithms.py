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

import base64
import copy
import functools
import hashlib
import operator
import time
from typing import Any, Callable, Iterable, TypeVar

import semver
from sortedcontainers import SortedDict

from mockserver.domain.principal import Principal
from mockserver.errors import (ALGORITHM_EXISTS, ALGORITHM_ID_NOT_FOUND, ALGORITHM_NOT_FOUND, INVALID_REQUEST, ORG_NOT_FOUND,
                      USER_NOT_FOUND, ApiError, not_authorized)
from mockserver.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, check_limit, paginate, sorted_dict_source
from mockserver.domain.store import State
from mockserver.domain import orgs, scms
from mockserver.domain.algorithm_models import (NO_ENTRIES, Algorithm, AlgorithmView, Build, ErrorEntry, ScmConnection,
                                                Version, shallow_copy)
from mockserver.domain.algorithm_settings import check_settings, new_settings, require_settings
from mockserver.domain.context import Ctx
from mockserver.domain.environments import resolve_algorithm_environment
from mockserver.domain.gitbuilds import keep_template_repository
from mockserver.domain.names import check_name

_DETAILS = ("label", "summary", "tagline")
VERSION_INFO_FIELDS = ("sample_input", "sample_output", "release_notes")
# Settings a build is compiled with: changing them needs a new build.
BUILD_SETTINGS = ("language", "environment", "package_set", "algorithm_environment")


# -- access -------------------------------------------------------------------
def is_public(algo: Algorithm) -> bool:
    return any(v.callability == "public" for v in algo.versions)


def not_found(owner: str, name: str) -> ApiError:
    return ApiError(ALGORITHM_NOT_FOUND, f"No such algorithm: {owner}/{name}")


def find(state: State, owner: str, name: str) -> Algorithm:
    """The algorithm ``owner/name`` names, without regard to case (docs/behaviour.md "Names"):
    callers go on with its stored ``owner`` and ``name``, never the path's spelling."""
    algo = state.algorithm_named(owner, name)
    if algo is None:
        raise not_found(owner, name)
    return algo


def find_visible(ctx: Ctx, state: State, who: Principal, owner: str, name: str) -> Algorithm:
    algo = find(state, owner, name)
    if not (orgs.acts_for(state, who, algo.owner) or is_public(algo)):
        raise not_found(owner, name)
    settle(algo)
    return algo


def find_managed(ctx: Ctx, state: State, who: Principal, owner: str, name: str) -> Algorithm:
    algo = find_visible(ctx, state, who, owner, name)
    if not orgs.acts_for(state, who, algo.owner):
        raise not_authorized(f"Caller is not authorized to perform the operation: only the owner of {algo.full_name} "
                             "(or a member of its organization) may do this")
    return algo


def owner_of(state: State, owner: str) -> str:
    """The stored spelling of the user or organization ``owner`` names without regard to case."""
    stored = state.owner_named(owner)
    if stored is None:
        raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {owner}")
    return stored


def find_by_id(state: State, who: Principal, algorithm_id: str) -> Algorithm:
    algo = state.algorithm_by_id(algorithm_id)
    if algo is None or not orgs.acts_for(state, who, algo.owner):
        raise ApiError(ALGORITHM_ID_NOT_FOUND, f"An algorithm with the requested ID does not exist: {algorithm_id}")
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
    return max(algo.builds.values(), key=_seq, default=None)


_seq = operator.attrgetter("seq")


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
    build_id = build.build_id
    for version in algo.versions:
        if version.build_id == build_id:
            return version
    return None


# -- views: what answers carry (api/render.py renders them) ---------------------------------
_Presented = TypeVar("_Presented")


def view(state: State, algo: Algorithm, build: Build | None = None, version: Version | None = None, *,
         as_version: bool = False, live: bool = False) -> AlgorithmView:
    """The algorithm (with ``build``: and that build, as the version ``version`` if published);
    with ``as_version`` the version object of ``build``. Copies taken under the store's lock,
    or with ``live`` the stored objects themselves, for a caller that renders the view before
    the lock is released (``present`` below)."""
    scm = state.scms.get(algo.scm_id) or state.scms[scms.INTERNAL_ID]
    if live:
        return AlgorithmView(algo, scm, build, version, as_version)
    return AlgorithmView(algo=algo.snapshot(), scm=shallow_copy(scm), build=shallow_copy(build),
                         version=shallow_copy(version), as_version=as_version)


def view_current(state: State, who: Principal, algo: Algorithm) -> AlgorithmView:
    """What GET answers: managers see the latest build; others the latest public version."""
    return _current(state, algo, orgs.acts_for(state, who, algo.owner))


def _current(state: State, algo: Algorithm, manager: bool, live: bool = False) -> AlgorithmView:
    """``view_current`` for a caller who is (``manager``) or is not one of the algorithm's managers."""
    if manager:
        build = latest_build(algo)
        return view(state, algo, build, version_of_build(algo, build) if build else None, live=live)
    version = latest_version(algo, public_only=True)
    build = algo.builds.get(version.build_id) if version else None
    return view(state, algo, build, version if build else None, live=live)


# -- details, version info, source ---------------------------------------------
def merge_details(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """``current`` details with the ``given`` ones (None drops a summary or tagline; the label
    stays), in _DETAILS' order; a label is required."""
    out = {}
    for field in _DETAILS:
        value = current.get(field, _ABSENT)
        if given and field in given:
            new = given[field]
            if new is None:
                if field != "label":
                    value = _ABSENT
            elif not isinstance(new, str):
                raise ApiError(INVALID_REQUEST, f"details.{field} must be a string")
            else:
                value = new
        if value is not _ABSENT:
            out[field] = value
    label = out.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field: 'details.label'")
    return out


_ABSENT: Any = object()


def _version_info(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    if not given:
        return current
    out = dict(current)
    for field in VERSION_INFO_FIELDS:
        if field in given:
            if given[field] is None:
                out.pop(field, None)
            else:
                out[field] = str(given[field])
    return out or NO_ENTRIES


def _scm_id(source: dict[str, Any] | None) -> str | None:
    if not source:
        return None
    scm = source.get("scm")
    if isinstance(scm, dict):
        scm = scm.get("id")
    return source.get("scm_id") or scm or None


# -- commands -----------------------------------------------------------------
def create(ctx: Ctx, who: Principal, owner: str, body: dict[str, Any],
           present: Callable[[AlgorithmView], _Presented] | None = None) -> AlgorithmView | _Presented:
    """The new algorithm's view; with ``present``, what ``present`` makes of it under the
    store's lock (from the stored objects: no copies)."""
    with ctx.store.write() as state:
        algo = add(ctx, state, who, owner, body)
        if present is None:
            return view(state, algo)
        return present(view(state, algo, live=True))


def add(ctx: Ctx, state: State, who: Principal, owner: str, body: dict[str, Any]) -> Algorithm:
    """Create an algorithm in ``state`` (the store's write lock held)."""
    if not isinstance(body, dict):
        raise ApiError(INVALID_REQUEST, "The request body must be a JSON object")
    name = check_name(body.get("name"), "algorithm name", INVALID_REQUEST)
    details = merge_details({}, body.get("details") or {})
    settings = new_settings(resolve_algorithm_environment(ctx, body.get("settings")))
    owner = owner_of(state, owner)
    if not orgs.acts_for(state, who, owner):
        raise not_authorized(f"Caller is not authorized to perform the operation: only {owner} "
                             "(or a member of the organization) may create algorithms for it")
    taken = state.algorithm_named(owner, name)
    if taken is not None:
        raise ApiError(ALGORITHM_EXISTS, f"An algorithm with the requested name already exists: {taken.full_name}")
    source_in = body.get("source") or {}
    scm = scms.usable(state, _scm_id(source_in))
    source: dict[str, Any] = NO_ENTRIES
    if scm.id != scms.INTERNAL_ID:
        repo = source_in.get("repository_name") or name
        repo_owner = source_in.get("repository_owner") or owner
        web = (scm.urls.get("web") or "https://github.com").rstrip("/")
        ssh = (scm.urls.get("ssh") or "ssh://git@github.com").rstrip("/")
        source = {"repository_https_url": f"{web}/{repo_owner}/{repo}", "repository_name": repo,
                  "repository_owner": repo_owner, "repository_ssh_url": f"{ssh}:{repo_owner}/{repo}.git"}
    algo_id, webhook_secret = ctx.ids.uuids()
    # Only an external SCM's algorithm shows a webhook secret (scm_status); an internal one's
    # would be 80 bytes kept per algorithm for nothing. (Drawn either way: seeded ids stay put.)
    algo = Algorithm(id=algo_id, owner=owner, name=name, details=details, settings=settings,
                     scm_id=scm.id, source=source, created_at=ctx.clock.iso(), seq=state.next_seq(),
                     version_info=_version_info(NO_ENTRIES, body.get("version_info")),
                     webhook_secret="" if scm.id == scms.INTERNAL_ID else webhook_secret)
    state.put_algorithm(algo)
    return algo


def get(ctx: Ctx, who: Principal, owner: str, name: str,
        present: Callable[[AlgorithmView], _Presented] | None = None) -> AlgorithmView | _Presented:
    """What GET answers (``view_current``); with ``present``, as :func:`create`."""
    with ctx.store.read() as state:
        algo = find(state, owner, name)          # find_visible and view_current, asking acts_for once
        manager = orgs.acts_for(state, who, algo.owner)
        if not (manager or is_public(algo)):
            raise not_found(owner, name)
        settle(algo)
        if present is None:
            return _current(state, algo, manager)
        return present(_current(state, algo, manager, live=True))


def update(ctx: Ctx, who: Principal, owner: str, name: str, body: dict[str, Any] | None) -> AlgorithmView:
    body = body or {}
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        given_name = body.get("name")
        if given_name is not None and (not isinstance(given_name, str) or given_name.casefold() != algo.name.casefold()):
            raise ApiError(INVALID_REQUEST, f"Algorithms cannot be renamed: the body names {given_name!r}, "
                           f"the algorithm is {algo.full_name}")
        details = merge_details(algo.details, body.get("details"))
        given = resolve_algorithm_environment(ctx, body.get("settings"), algo.settings)
        given = {k: v for k, v in require_settings(given).items()
                 if k != "algorithm_callability" and (v is not None or k == "algorithm_environment")}
        settings = check_settings({**algo.settings, **given})   # callability changes by publishing
        if settings.get("language") != algo.settings.get("language"):
            keep_template_repository(state, algo)     # the repository keeps the template it started with
        algo.details, algo.settings = details, settings
        algo.version_info = _version_info(algo.version_info, body.get("version_info"))
        return view_current(state, who, algo)


def delete(ctx: Ctx, who: Principal, owner: str, name: str) -> None:
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        state.drop_algorithm(algo.full_name)          # with builds, versions, bindings, errors, key


def listing(ctx: Ctx, who: Principal, owner: str, **page: Any) -> Page:
    """A page of AlgorithmViews, by name."""
    with ctx.store.read() as state:
        owner = owner_of(state, owner)
        manager = orgs.acts_for(state, who, owner)

        def current(algo: Algorithm) -> AlgorithmView:
            settle(algo)
            return view_current(state, who, algo)

        source = sorted_dict_source(state.algorithms_by_owner.get(owner, SortedDict()),
                                    include=None if manager else is_public)
        return paginate(source, list_id=f"algorithms:{owner}", render=current, **page)


def scm_status(ctx: Ctx, who: Principal, owner: str, name: str) -> ScmConnection:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        scm = state.scms.get(algo.scm_id)
        status = "active" if scm is None or scm.enabled else "provider_internal_error"
        if algo.scm_id == scms.INTERNAL_ID:
            return ScmConnection(copy.copy(algo), status)
        return ScmConnection(copy.copy(algo), status, _deploy_key(algo), algo.webhook_secret)


def _deploy_key(algo: Algorithm) -> str:
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


def _error_of(entry: ErrorEntry, algo: Algorithm) -> bool:
    return entry.is_of((algo.id,), (algo.full_name,))


def _newest(ctx: Ctx, entries: Iterable[ErrorEntry], limit: Any) -> list[ErrorEntry]:
    size = check_limit(limit, ctx.settings.page_max or MAX_LIMIT, ctx.settings.page_default or DEFAULT_LIMIT)
    ordered = sorted(entries, key=lambda e: e.seq, reverse=True)[:size]
    return ordered                    # entries are never changed once recorded


def errors_of_algorithm(ctx: Ctx, who: Principal, owner: str, name: str, limit: Any = None) -> list[ErrorEntry]:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        return _newest(ctx, (e for e in state.errors if _error_of(e, algo)), limit)


def errors_of_algorithm_id(ctx: Ctx, who: Principal, algorithm_id: str, limit: Any = None) -> list[ErrorEntry]:
    with ctx.store.read() as state:
        algo = find_by_id(state, who, algorithm_id)
        return _newest(ctx, (e for e in state.errors if _error_of(e, algo)), limit)


def errors_of_user(ctx: Ctx, who: Principal, username: str, limit: Any = None) -> list[ErrorEntry]:
    with ctx.store.read() as state:
        if username not in state.users:
            raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {username}")
        if not (who.is_admin or who.username == username):
            raise not_authorized("Caller is not authorized to read another user's algorithm errors")
        return _newest(ctx, (e for e in state.errors if e.owner == username), limit)


def errors_of_org(ctx: Ctx, who: Principal, org_name: str, limit: Any = None) -> list[ErrorEntry]:
    with ctx.store.read() as state:
        if org_name not in state.orgs or not (who.is_admin or orgs.is_member(state, org_name, who.username)):
            raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
        return _newest(ctx, (e for e in state.errors if e.owner == org_name), limit)

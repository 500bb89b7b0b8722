"""Publishing versions, listing them, and resolving a version for invocation
(seed 001 "Algorithm Versions", seed 003, seed 004 "Versioning").

Everything that reads or bumps the version sequence runs under the store's
write lock, so concurrent publishes of one algorithm get unique, gap-free
versions (and a build is published at most once: the losers get 1007).
"""
from __future__ import annotations

import re
from typing import Any

import semver

from mockserver.domain.principal import Principal
from mockserver.errors import (BUILD_FAILED, BUILD_NOT_FINISHED, INVALID_BUILD_STATUS, INVALID_REQUEST,
                      VERSION_ALREADY_PUBLISHED, VERSION_NOT_FOUND, ApiError)
from mockserver.pagination import Page, paginate, sorted_source
from mockserver.domain.store import State
from mockserver.domain.algorithm_models import NO_ENTRIES, Algorithm, AlgorithmView, Build, Version
from mockserver.domain.algorithms import (BUILD_SETTINGS, merge_details, check_settings, find_managed,
                         find_visible, latest_build, latest_version, not_found, record_error, view,
                         settle, version_key, version_of_build)
from mockserver.domain.context import Ctx
from mockserver.domain.orgs import acts_for

VERSION_TYPES = ("major", "minor", "patch")
_ALIASES = {"revision": "patch", "default": "minor"}
# Changes since the last published version that break callers: a patch may not carry them.
BREAKING = ("language", "environment", "algorithm_callability")
_HASH_RE = re.compile(r"^[0-9a-fA-F]{40}$")
# A partial version: "1.2.*" / "1.*", or the same without the star, "1.2" / "1" (seed 004: "can be
# a partial semantic version"; the Python, Ruby and Go clients' READMEs call ".../0.1").
_PARTIAL_RE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.\*)?$")

__all__ = ["publish", "listing", "get", "resolve_for_invocation", "resolve_call", "record_error", "next_version"]


def _version_type(info: dict[str, Any]) -> str:
    raw = info.get("version_type") or info.get("type") or "minor"    # "{}" publishes a minor version
    kind = _ALIASES.get(raw, raw)
    if kind not in VERSION_TYPES:
        raise ApiError(INVALID_REQUEST, f"version_info.version_type must be one of major, minor, patch "
                       f"(or revision), not {raw!r}")
    return kind


def next_version(last: str | None, kind: str) -> str:
    """0.0.1 / 0.1.0 / 1.0.0 first; then the bump of the last published version."""
    base = semver.Version.parse(last) if last else semver.Version(0, 0, 0)
    bumped = {"major": base.bump_major, "minor": base.bump_minor, "patch": base.bump_patch}[kind]()
    return str(bumped)


def _breaking(last: Version | None, settings: dict[str, Any]) -> list[str]:
    if last is None:
        return []
    return [f"{f} {last.settings.get(f)!r} -> {settings.get(f)!r}" for f in BREAKING
            if last.settings.get(f) != settings.get(f)]


def _explicit(value: Any, last: Version | None, breaking: list[str]) -> str:
    try:
        wanted = semver.Version.parse(str(value))
    except ValueError:
        raise ApiError(INVALID_REQUEST, f"version_info.semantic_version is not a semantic version: {value!r}") from None
    if last is not None:
        previous = version_key(last)
        if wanted <= previous:
            raise ApiError(INVALID_REQUEST, f"version_info.semantic_version {wanted} must be greater than the last "
                           f"published version {previous}")
        if breaking and (wanted.major, wanted.minor) == (previous.major, previous.minor):
            raise ApiError(INVALID_REQUEST, _breaking_message(last, breaking))
    return str(wanted)


def _breaking_message(last: Version, breaking: list[str]) -> str:
    return (f"A patch version cannot change what callers rely on; since {last.semantic_version} these changed: "
            f"{'; '.join(breaking)}. Publish a minor or major version instead")


def _target(algo: Algorithm, info: dict[str, Any]) -> Build:
    """The build to publish: the most recent one, finished, succeeded, not yet published."""
    build = latest_build(algo)
    if build is None:
        raise ApiError(INVALID_BUILD_STATUS, f"{algo.full_name} has no build to publish: compile it first")
    wanted = info.get("git_hash")
    if wanted and wanted != build.commit_sha:
        other = next((b for b in algo.builds.values() if b.commit_sha == wanted), None)
        if other is None:
            raise ApiError(INVALID_REQUEST, f"version_info.git_hash {wanted} is not a build of {algo.full_name}")
        if other.semantic_version:
            raise ApiError(VERSION_ALREADY_PUBLISHED, f"Version already published. Please compile your algorithm: "
                           f"{wanted} was published as {other.semantic_version}")
        raise ApiError(INVALID_REQUEST, f"Only the most recent build of {algo.full_name} ({build.commit_sha}) "
                       f"may be published, not {wanted}")
    if build.status != "succeeded":
        raise ApiError(INVALID_BUILD_STATUS, f"Invalid build status: the most recent build of {algo.full_name} "
                       f"({build.commit_sha}) is {build.status}; only a succeeded build can be published")
    if build.semantic_version:
        raise ApiError(VERSION_ALREADY_PUBLISHED, f"Version already published. Please compile your algorithm: "
                       f"{build.commit_sha} is {algo.full_name} {build.semantic_version}")
    return build


def publish(ctx: Ctx, who: Principal, owner: str, name: str, body: dict[str, Any] | None) -> AlgorithmView:
    body = body or {}
    settings_in = {k: v for k, v in (body.get("settings") or {}).items() if v is not None}
    info = body.get("version_info") or {}
    kind = _version_type(info)
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        build = _target(algo, info)
        for field in BUILD_SETTINGS:
            if field in settings_in and settings_in[field] != build.settings.get(field):
                raise ApiError(INVALID_REQUEST, f"settings.{field} {settings_in[field]!r} differs from the build "
                               f"({build.settings.get(field)!r}): update the algorithm and compile it first")
        if "insights_enabled" in info and info["insights_enabled"] is not None:
            settings_in["insights_enabled"] = info["insights_enabled"]
        callability = settings_in.get("algorithm_callability") or algo.settings.get("algorithm_callability", "private")
        general = {k: v for k, v in {**algo.settings, **settings_in}.items() if k not in BUILD_SETTINGS}
        settings = check_settings({**general, **{k: build.settings[k] for k in BUILD_SETTINGS if k in build.settings},
                                   "algorithm_callability": callability})
        details = merge_details(algo.details, body.get("details"))
        last = latest_version(algo)
        breaking = _breaking(last, settings)
        if info.get("semantic_version"):
            number = _explicit(info["semantic_version"], last, breaking)
        else:
            if breaking and kind == "patch":
                raise ApiError(INVALID_REQUEST, _breaking_message(last, breaking))
            number = next_version(last.semantic_version if last else None, kind)

        def pick(field: str) -> str | None:
            value = info.get(field) if info.get(field) is not None else algo.version_info.get(field)
            return None if value is None else str(value)

        version = Version(semantic_version=number, git_hash=build.commit_sha, build_id=build.build_id,
                          callability=callability, published_at=ctx.clock.iso(), settings=settings,
                          details=dict(details), release_notes=pick("release_notes"),
                          sample_input=pick("sample_input"), sample_output=pick("sample_output"),
                          seq=state.next_seq())
        algo.versions = (*algo.versions, version)
        build.semantic_version = number
        algo.details = details
        algo.settings = {**algo.settings, **{k: v for k, v in settings.items() if k not in BUILD_SETTINGS}}
        algo.version_info = NO_ENTRIES
        return view(state, algo, build, version, as_version=True)


def listing(ctx: Ctx, who: Principal, owner: str, name: str, *, callable: bool | None = None,
            published: bool | None = None, **page: Any) -> Page:
    """Newest first. ``callable``: true = public versions, false = private ones (unpublished
    builds count as private: only the owner can call them, by hash). ``published``:
    true = published versions, false = unpublished builds."""
    with ctx.store.read() as state:
        algo = find_visible(ctx, state, who, owner, name)
        manager = acts_for(state, who, algo.owner)
        rows = []
        for build in algo.builds.values():
            version = version_of_build(algo, build)
            if version is None and build.status != "succeeded":
                continue
            public = version is not None and version.callability == "public"
            if not manager and not public:
                continue
            if published is not None and (version is not None) != published:
                continue
            if callable is not None and public != callable:
                continue
            rows.append((build, version))
        return paginate(sorted_source(rows, key=lambda row: -row[0].seq), list_id=f"versions:{algo.id}",
                        render=lambda row: view(state, algo, row[0], row[1], as_version=True), **page)


def get(ctx: Ctx, who: Principal, owner: str, name: str, ref: str) -> AlgorithmView:
    """A version by git hash (published or not) or by semantic version."""
    with ctx.store.read() as state:
        algo = find_visible(ctx, state, who, owner, name)
        build = next((b for b in algo.builds.values() if b.commit_sha == ref or b.semantic_version == ref), None)
        version = version_of_build(algo, build) if build else None
        if build is None or not (acts_for(state, who, algo.owner) or (version and version.callability == "public")):
            raise ApiError(VERSION_NOT_FOUND, f"No such version of {algo.full_name}: {ref}")
        return view(state, algo, build, version, as_version=True)


# -- invocation ---------------------------------------------------------------------
def _no_version(algo: Algorithm, spec: str, why: str = "") -> ApiError:
    return ApiError(VERSION_NOT_FOUND, f"No such version of algo://{algo.full_name}: {spec}{why}")


def resolve_for_invocation(state: State, who: Principal, owner: str, name: str,
                           version_spec: str | None) -> tuple[Algorithm, Build, Version | None]:
    """Which build a call of ``owner/name[/version_spec]`` runs (seed 001 "Invoke", seed 004).

    - none: the latest public version;
    - ``latestPrivate``: the latest version published privately (seed 001; owner rights);
    - a 40-hex git hash: that build, published or not (owner rights unless it is a public version);
    - ``1.2.3``: that version (owner rights if it is private);
    - ``1.2.*`` / ``1.*``, or ``1.2`` / ``1`` (the same): the latest public version matching.
    Unknown or hidden algorithm: 1000; unknown or inaccessible version: 1001 naming it.
    Call with the store's lock held.
    """
    return resolve_call(state, who, owner, name, version_spec)[:3]


def resolve_call(state: State, who: Principal, owner: str, name: str,
                 version_spec: str | None) -> tuple[Algorithm, Build, Version | None, bool]:
    """:func:`resolve_for_invocation`, and whether the caller acts for the algorithm's owner
    (every call asks: decided here once)."""
    algo = state.algorithm_named(owner, name)          # without regard to case (docs/behaviour.md)
    manager = algo is not None and acts_for(state, who, algo.owner)
    if algo is None or not (manager or any(v.callability == "public" for v in algo.versions)):
        raise not_found(owner, name)
    settle(algo)
    if not version_spec:                                # the usual call: the latest public version
        version = latest_version(algo, public_only=True)
        if version is None:
            hint = (": it has no public version; call latestPrivate, a full version or a git hash"
                    if algo.versions else ": it has no published version; call it by git hash")
            raise _no_version(algo, "latest public version", hint)
        return _callable(algo, "", version, None, manager)
    spec = version_spec.strip()
    if not spec:
        return resolve_call(state, who, owner, name, None)
    if spec == "latestPrivate":
        # Seed 001: "Resolves to the latest version you have published privately" (docs/behaviour.md).
        private = [v for v in algo.versions if v.callability == "private"] if manager else []
        if not private:
            raise _no_version(algo, spec, " (it has no privately published version)" if manager
                              else " (only the owner may call latestPrivate)")
        return _callable(algo, spec, max(private, key=version_key), None, manager)
    if _HASH_RE.match(spec):
        build = next((b for b in algo.builds.values() if b.commit_sha.lower() == spec.lower()), None)
        version = version_of_build(algo, build) if build else None
        if build is None or not (manager or (version is not None and version.callability == "public")):
            raise _no_version(algo, spec)
        return _callable(algo, spec, version, build, manager)
    partial = _PARTIAL_RE.match(spec)
    if partial:
        major, minor = int(partial.group(1)), partial.group(2)
        matches = [v for v in algo.versions if v.callability == "public" and version_key(v).major == major
                   and (minor is None or version_key(v).minor == int(minor))]
        if not matches:
            raise _no_version(algo, spec)
        return _callable(algo, spec, max(matches, key=version_key), None, manager)
    version = next((v for v in algo.versions if v.semantic_version == spec), None)
    if version is None or not (manager or version.callability == "public"):
        raise _no_version(algo, spec)
    return _callable(algo, spec, version, None, manager)


def _callable(algo: Algorithm, spec: str, version: Version | None, build: Build | None,
              manager: bool) -> tuple[Algorithm, Build, Version | None, bool]:
    """The resolved call, if its build succeeded (else 1002/1003 naming ``spec``)."""
    build = build or algo.builds[version.build_id]
    if build.status != "succeeded":
        raise ApiError(BUILD_FAILED if build.status == "failed" else BUILD_NOT_FINISHED,
                       f"algo://{algo.full_name}/{spec} cannot be called: its build is {build.status}")
    return algo, build, version, manager

"""Fixture files: YAML, validated against fixture_schema.yaml (fixture_check.py), loaded into the store.

Each section is applied through the same domain rules as the API, so a
fixture cannot create a state the API could not. Every section's loader lives here
(users, organizations, keys, SCMs, profiles, algorithms with their versions, data and
connectors). Any problem raises
``FixtureError`` naming the file, the path inside it and the reason.
"""
from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable

import yaml

from mockserver.domain.principal import Principal
from mockserver.domain import algorithms, keys, orgs, scms, users, versions
from mockserver.domain.builds import build_head, check_binding, new_build
from mockserver.domain.data_paths import (ACL_MY_ALGOS, ACL_PUBLIC, BUCKETED, CONNECTOR_TYPES, DEFAULT_ACL, check_acl,
                                         check_name, home_folder, split_path)
from mockserver.domain.data_models import Connector, DataFile, Folder
from mockserver.domain.gitbuilds import store_folder_repository
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.errors import BINDING_NOT_ALLOWED, REQUEST_INVALID, TOO_MANY_CHECKS, ApiError
from mockserver.fixture_check import FixtureSchema
from mockserver.fixture_docs import (SHIPPED_LOADER, FixtureError, bindings_to_check, default_fixture, parse, section_items,
                                     is_shipped)
from mockserver.runtime import Binding, Profile
from mockserver.runtime.errors import BindingError

# A shipped file: parsed with libyaml (SHIPPED_LOADER), a tenth of the pure-Python loader's start-up time.
_SCHEMA = yaml.load((Path(__file__).parent / "fixture_schema.yaml").read_text(), Loader=SHIPPED_LOADER)
_CHECK = FixtureSchema(_SCHEMA)       # jsonschema only for a document it refuses (fixture_check.py)
SYSTEM = Principal(ApiKey(api_key="", id="fixtures", owner=None, key_type="PlatformAdminKey"))


def load_into(ctx: Ctx, paths: list[str] | None, admin_key: str | None = None,
              extra: list[str] | None = None) -> None:
    """``paths`` replace the bundled sandbox (default: the sandbox); ``extra`` files are then
    applied on top of whichever was loaded."""
    for path in [*(paths or [str(default_fixture())]), *(extra or [])]:
        load_file(ctx, Path(path))
    admin_key = admin_key or ctx.settings.admin_key
    if admin_key:
        with ctx.store.write() as state:
            keys.add(state, ctx, None, label="--admin-key", key_type="PlatformAdminKey", secret=admin_key)


def replaces_sandbox(paths: list[str] | None) -> bool:
    """True when ``paths`` are given and the bundled sandbox is not among them."""
    if not paths:
        return False
    sandbox = default_fixture().resolve()
    return all(Path(p).resolve() != sandbox for p in paths)


def load_file(ctx: Ctx, path: Path) -> None:
    """A fixture file; its ``path:`` entries are files inside its own folder."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FixtureError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    load_text(ctx, raw, str(path), base_dir=path.resolve().parent, shipped=is_shipped(path))


def load_text(ctx: Ctx, raw: bytes, name: str, *, base_dir: Path | None, shipped: bool = False) -> None:
    """A fixture document. ``base_dir`` None (a document sent over HTTP): it may name no file.
    ``shipped``: the bundled sandbox's file (see ``parse``)."""
    doc = parse(raw, name, max_bytes=ctx.settings.max_request_bytes, shipped=shipped)
    error = _first_schema_error(doc, name)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise FixtureError(name, where, error.message)
    checked = _check_bindings(ctx, doc, base_dir, name)
    # All or nothing, and nobody sees half of it: one critical section over the whole document
    # (the store's lock is re-entrant), undone as a whole on the first problem. Binding imports
    # were checked just above, outside it (they run code that may call this server).
    with ctx.store.write():
        snapshot, profiles = ctx.store.snapshot(), ctx.profiles
        try:
            for section, loader in SECTIONS:
                for index, item in enumerate(section_items(doc.get(section))):
                    try:
                        loader(ctx, item, base_dir, checked)
                    except ApiError as exc:
                        raise FixtureError(name, f"{section}/{index}", exc.message, exc.kind) from None
        except BaseException:
            ctx.store.restore(snapshot)
            ctx.profiles = profiles
            raise


def _check_bindings(ctx: Ctx, doc: dict, base_dir: Path | None,
                    name: str) -> dict[tuple[str, str | None], str | None]:
    """The import check of every allowed binding the document's algorithms name, by (target, folder)."""
    base = None if base_dir is None else str(base_dir)
    todo = bindings_to_check(ctx.engine, doc, base)
    checked: dict[tuple[str, str | None], str | None] = {}
    refused: dict[int, tuple[str, ApiError]] = {}

    def check(index: int, target: str) -> None:
        try:
            checked[(target, base)] = check_binding(ctx, target, base, trusted=base is not None)
        except ApiError as exc:             # e.g. 429: the server's binding checks are all busy
            refused[index] = (target, exc)

    # A fixture file's checks (the start-up's) run two at a time: the server waits for them, and
    # one slow import (the bundled pipeline.py's `import Algorithmia`) then hides the others. A
    # check that found no free binding-check slot that way is tried once more, alone, as before.
    if base is not None:
        _two_at_a_time(todo, check)
    else:
        for item in todo:
            check(*item)
    for index, (target, exc) in sorted(refused.items()):
        if exc.kind is TOO_MANY_CHECKS and base is not None:
            del refused[index]
            check(index, target)
    if refused:
        index = min(refused)
        exc = refused[index][1]
        raise FixtureError(name, f"algorithms/{index}", exc.message, exc.kind)
    return checked


def _two_at_a_time(items: list[tuple], work: Callable[..., None]) -> None:
    """``work(*item)`` for every item, on this thread and one helper, each taking the next item."""
    pending, failed = iter(items), []

    def drain() -> None:
        try:
            for item in pending:            # next() on a list iterator is atomic under the GIL
                work(*item)
        except BaseException as exc:        # raised again on the calling thread
            failed.append(exc)
    helper = threading.Thread(target=drain, name="fixture-checks", daemon=True) if len(items) > 1 else None
    if helper is not None:
        helper.start()
    try:
        drain()
    finally:
        if helper is not None:
            helper.join()
    if failed:
        raise failed[0]


def _first_schema_error(doc, name: str):
    try:
        return _CHECK.first_error(doc)
    except RecursionError:
        raise FixtureError(name, "(top)", "nested too deeply") from None


def _scm(ctx: Ctx, item: dict, _base: Path, _checked: dict | None = None) -> None:
    scm_id = scms.create(ctx, {k: v for k, v in item.items() if k not in ("default", "oauth_status")}).id
    with ctx.store.write() as state:
        state.scms[scm_id].oauth_status = item.get("oauth_status", "unauthorized")
    if item.get("default"):
        scms.set_default(ctx, scm_id)


def _user(ctx: Ctx, item: dict, _base: Path, _checked: dict | None = None) -> None:
    users.create(ctx, {k: v for k, v in item.items() if k != "keys"})
    with ctx.store.write() as state:
        for key in item.get("keys", []):
            if key["key"] in state.keys:
                raise ApiError(REQUEST_INVALID, f"API key {key['key']!r} is defined twice")
            keys.add(state, ctx, item["username"], label=key.get("label", ""),
                     key_type=key.get("type", "ManagementKey"), permissions=key.get("permissions"),
                     secret=key["key"])


def _org(ctx: Ctx, item: dict, _base: Path, _checked: dict | None = None) -> None:
    body = {k: v for k, v in item.items() if k not in ("members", "type")}
    body["type_id"] = item.get("type")
    orgs.create(ctx, SYSTEM, body)
    members = item.get("members", [])
    for member in sorted(members, key=lambda m: m.get("role") != "owner"):   # owners first
        orgs.put_member(ctx, SYSTEM, item["org_name"], member["username"], member.get("role", "member"))


def _profile(ctx: Ctx, item: dict, _base: Path, _checked: dict | None = None) -> None:
    try:
        profile = Profile.from_dict(item)
    except (TypeError, ValueError) as exc:
        raise ApiError(REQUEST_INVALID, str(exc)) from None
    ctx.profiles = {**(ctx.profiles or {}), profile.name: profile}


def _admin_key(ctx: Ctx, item: dict, _base: Path, _checked: dict | None = None) -> None:
    with ctx.store.write() as state:
        keys.add(state, ctx, None, label=item.get("label", "admin"), key_type="PlatformAdminKey", secret=item["key"])


def _algorithm(ctx: Ctx, item: dict, base: Path | None, checked: dict | None = None) -> None:
    # A fixture file (base given) is named only by the operator (--fixtures, --extra-fixtures) or
    # the pytest plugin (load_fixtures): its bindings are theirs, trusted. A document sent over
    # HTTP (no base) binds untrusted code.
    load_algorithm(ctx, SYSTEM, item, None if base is None else str(base), trusted=base is not None,
                   checked=checked)


# -- the algorithms section ---------------------------------------------------------------
FIXTURE_SETTINGS = {"language": "python3-1", "environment": "cpu", "license": "apl", "network_access": "full",
                    "pipeline_enabled": True, "source_visibility": "closed"}


def load_algorithm(ctx: Ctx, who: Principal, item: dict[str, Any], base_dir: str | None, *,
                   trusted: bool = False, checked: dict | None = None) -> None:
    """One item of the fixtures' ``algorithms`` section, applied through the API's rules:
    ``{owner, name, details?, settings?, binding?, source?, version_info?, compiled?,
    versions?: [{version_type | semantic_version, callability, release_notes, sample_input,
    sample_output, binding}]}``. Each version is a compile followed by a publish;
    ``compiled: true`` adds one more, unpublished, build. Bindings are
    "pkg.mod:apply" or a file path relative to the fixture file. ``repository``: a folder
    (inside the fixture file's folder) that becomes the initial commit of the algorithm's
    git repository; its builds are builds of that commit, and it takes no bindings. Its keys
    and their types were checked against ``fixture_schema.yaml`` (``$defs/algorithm``).
    ``trusted``: the operator's or the plugin's file, so its bindings may run in the server's
    process (``mode: inprocess``); they are checked against the allowed roots all the same."""
    owner, name = item["owner"], item["name"]
    folder = _repository_folder(item, base_dir)
    body = {"name": name, "details": item.get("details") or {"label": name},
            "settings": {**FIXTURE_SETTINGS, **(item.get("settings") or {})},
            "source": item.get("source"), "version_info": item.get("version_info")}
    _refuse_disallowed_code(ctx, item, base_dir)          # before anything changes
    with ctx.store.write() as state:
        algo = algorithms.add(ctx, state, who, owner, body)
        algo.binding, algo.binding_base = item.get("binding"), base_dir if item.get("binding") else None
        algo.binding_trusted = trusted and bool(item.get("binding"))
        if folder:
            store_folder_repository(ctx, state, algo, folder)
    for index, spec in enumerate(item.get("versions") or []):
        _fixture_build(ctx, state_owner=(owner, name), binding=spec.get("binding", item.get("binding")),
                       base_dir=base_dir, from_repository=bool(folder), trusted=trusted, checked=checked)
        info = {k: spec[k] for k in ("version_type", "semantic_version", "release_notes", "sample_input",
                                      "sample_output") if spec.get(k) is not None}
        settings = {"algorithm_callability": spec.get("callability", "public")}
        try:
            versions.publish(ctx, who, owner, name, {"settings": settings, "version_info": info})
        except ApiError as exc:
            raise ApiError(exc.kind, f"versions/{index}: {exc.message}") from None
    if item.get("compiled"):
        _fixture_build(ctx, state_owner=(owner, name), binding=item.get("binding"), base_dir=base_dir,
                       from_repository=bool(folder), trusted=trusted, checked=checked)


def _refuse_disallowed_code(ctx: Ctx, item: dict, base_dir: str) -> None:
    """400 if the item or one of its versions names an invalid target; 403 if it binds code
    outside the allowed folders/modules."""
    versions = [v for v in item.get("versions") or [] if isinstance(v, dict)]
    for target in {item.get("binding"), *(v.get("binding") for v in versions)} - {None}:
        binding = Binding(str(target), base_dir=base_dir)
        try:
            binding.parse()
        except BindingError as exc:      # e.g. a NUL byte: no file or module has that name
            raise ApiError(REQUEST_INVALID, f"Binding {target!r} is invalid: {exc.message}") from None
        denial = ctx.engine.binding_denial(binding) if ctx.engine is not None else None
        if denial:
            raise ApiError(BINDING_NOT_ALLOWED, f"Binding {target} is not allowed: {denial}")


def _repository_folder(item: dict[str, Any], base_dir: str | None) -> str | None:
    """The fixture's source folder, confined to the fixture file's folder."""
    given = item.get("repository")
    if given is None:
        return None
    if item.get("binding") or any(isinstance(v, dict) and v.get("binding") for v in item.get("versions") or []):
        raise ApiError(REQUEST_INVALID, "an algorithm with a repository takes no binding: its code is the repository's")
    if base_dir is None:
        raise ApiError(REQUEST_INVALID, "repository: a fixture document sent over HTTP cannot name a folder")
    if not isinstance(given, str) or not given:
        raise ApiError(REQUEST_INVALID, "repository must be a folder path relative to the fixture file")
    root = os.path.realpath(base_dir)
    folder = os.path.realpath(os.path.join(root, given))
    if os.path.commonpath([root, folder]) != root:
        raise ApiError(REQUEST_INVALID, f"repository {given!r} is outside the fixture file's folder")
    if not os.path.isdir(folder):
        raise ApiError(REQUEST_INVALID, f"repository {given!r} is not a folder")
    return folder


def _fixture_build(ctx: Ctx, *, state_owner: tuple[str, str], binding: str | None, base_dir: str,
                   from_repository: bool = False, trusted: bool = False, checked: dict | None = None) -> None:
    if from_repository:
        build = build_head(ctx, None, *state_owner, "loading the fixtures")
        if build.final_status == "failed" or build.status == "failed":
            raise ApiError(REQUEST_INVALID, f"the build of {'/'.join(state_owner)} failed: {build.logs.splitlines()[-1]}")
        return
    key = (str(binding), base_dir)
    if binding and checked is not None and key in checked:
        problem = checked[key]            # checked before the document's critical section
    else:
        problem = check_binding(ctx, binding, base_dir, refuse=True, trusted=trusted)
    with ctx.store.write() as state:
        algo = state.algorithms[f"{state_owner[0]}/{state_owner[1]}"]
        default = (algo.binding, algo.binding_base, algo.binding_trusted)
        algo.binding, algo.binding_base, algo.binding_trusted = (binding, base_dir if binding else None,
                                                                 trusted and bool(binding))
        try:
            build = new_build(ctx, state, algo, problem)
        finally:
            algo.binding, algo.binding_base, algo.binding_trusted = default
    if build.final_status == "failed" or build.status == "failed":
        raise ApiError(REQUEST_INVALID, f"the build of {algo.full_name} failed: {problem}")


# -- the data and connectors sections ----------------------------------------------------
# Fixture sections ``data:`` and ``connectors:``: seed collections, buckets and files.
# 
# Files come inline (``text``, ``base64``, ``json``) or from a ``path`` relative to
# the fixture file; every name passes the same checks as the data API's.

def _fixture_bytes(item: dict[str, Any], base_dir: Path | None, limit: int) -> bytes:
    given = [k for k in ("text", "base64", "path", "json") if k in item]
    if len(given) != 1:
        raise ApiError(REQUEST_INVALID, f"file {item.get('name')!r}: give exactly one of text, base64, json, path")
    if "path" in item:
        data = _read_beside(item["path"], base_dir, limit, item.get("name"))
    elif "text" in item:
        data = str(item["text"]).encode("utf-8")
    elif "json" in item:
        data = json.dumps(item["json"]).encode("utf-8")
    else:
        try:
            data = base64.b64decode(item["base64"], validate=True)
        except ValueError as exc:
            raise ApiError(REQUEST_INVALID, f"file {item.get('name')!r}: invalid base64: {exc}") from None
    if len(data) > limit:
        raise ApiError(REQUEST_INVALID, f"file {item.get('name')!r}: {len(data)} bytes, over the upload limit of {limit}")
    return data


def _read_beside(relative: Any, base_dir: Path | None, limit: int, name: Any) -> bytes:
    """A file inside the fixture file's own folder: no absolute path, no '..', no link out of it."""
    if base_dir is None:
        raise ApiError(REQUEST_INVALID, f"file {name!r}: fixtures sent over HTTP may not reference files "
                       "(use text, base64 or json)")
    given = Path(str(relative))
    if given.is_absolute() or ".." in given.parts:
        raise ApiError(REQUEST_INVALID, f"file {name!r}: path {str(relative)!r} must be relative to the fixture "
                       "file and stay in its folder")
    root = base_dir.resolve()
    source = (root / given).resolve()
    if not source.is_relative_to(root):
        raise ApiError(REQUEST_INVALID, f"file {name!r}: path {str(relative)!r} leads out of the fixture file's folder")
    try:
        if source.stat().st_size > limit:
            raise ApiError(REQUEST_INVALID, f"file {name!r}: {source.name} is over the upload limit of {limit} bytes")
        return source.read_bytes()
    except OSError as exc:
        raise ApiError(REQUEST_INVALID, f"file {name!r}: cannot read {str(relative)!r}: {exc.strerror or exc}") from None


_ACL_NAMES = {"private": [], "public": [ACL_PUBLIC], "my_algos": [ACL_MY_ALGOS]}


def _fixture_acl(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_ACL)
    if isinstance(value, str):
        if value not in _ACL_NAMES:
            raise ApiError(REQUEST_INVALID, f"acl {value!r} must be one of {', '.join(_ACL_NAMES)} or a read list")
        return list(_ACL_NAMES[value])
    return check_acl({"read": value})


def load_data_fixture(ctx: Ctx, item: dict[str, Any], base_dir: Path | None, _checked: dict | None = None) -> None:
    """``data: {collections: [{path: owner/name, acl, files: [{name, text|base64|json|path}]}]}``."""
    for coll in item.get("collections") or []:
        segments = split_path(coll.get("path"))
        if len(segments) != 2:
            raise ApiError(REQUEST_INVALID, f"collection path {coll.get('path')!r} must be owner/collection")
        owner, name = segments
        acl = _fixture_acl(coll.get("acl"))
        with ctx.store.write() as state:
            if not state.owner_exists(owner):
                raise ApiError(REQUEST_INVALID, f"collection {owner}/{name}: no user or organization {owner!r}")
            home = home_folder(state.data, owner, create=True)
            folder = home.entries.get(name)
            if folder is None:
                folder = home.entries[name] = Folder(acl, ctx.clock.iso())
            else:
                folder.acl = acl
            for f in coll.get("files") or []:
                fname = check_name(f.get("name"), "file name")
                folder.entries[fname] = DataFile(_fixture_bytes(f, base_dir, ctx.settings.max_upload_bytes),
                                                 ctx.clock.iso())


def load_connector_fixture(ctx: Ctx, item: dict[str, Any], base_dir: Path | None,
                           _checked: dict | None = None) -> None:
    """``connectors: [{type, label, default, owner, buckets: [{name, files}] | container, files}]``."""
    kind = item.get("type")
    if kind not in CONNECTOR_TYPES:
        raise ApiError(REQUEST_INVALID, f"connector type {kind!r} must be one of {', '.join(CONNECTOR_TYPES)}")
    label = item.get("label") or None
    if label is not None:
        check_name(label, "label")
        if "+" in label:
            raise ApiError(REQUEST_INVALID, f"connector label {label!r} must not contain '+'")
    conn = Connector(type=kind, label=label, default=bool(item.get("default") or not label),
                     owner=item.get("owner"), container=item.get("container"))
    now = ctx.clock.iso()
    if kind in BUCKETED:
        if item.get("files"):
            raise ApiError(REQUEST_INVALID, f"{kind} connector: put files inside buckets: [{{name, files}}]")
        for bucket in item.get("buckets") or []:
            bname = check_name(bucket.get("name"), "bucket name")
            folder = conn.root.entries.setdefault(bname, Folder(created=now))
            _fixture_files(folder, bucket.get("files") or [], base_dir, now, ctx.settings.max_upload_bytes)
    else:
        if item.get("buckets"):
            raise ApiError(REQUEST_INVALID, f"{kind} connector has no buckets: list its files directly")
        _fixture_files(conn.root, item.get("files") or [], base_dir, now, ctx.settings.max_upload_bytes)
    with ctx.store.write() as state:
        if conn.owner is not None and not state.owner_exists(conn.owner):
            raise ApiError(REQUEST_INVALID, f"connector {conn.id}: no user or organization {conn.owner!r}")
        clash = [c for c in state.data.connectors if c.id == conn.id and c.owner == conn.owner]
        if clash:
            raise ApiError(REQUEST_INVALID, f"connector {conn.id} is configured twice")
        if conn.default:
            for other in state.data.connectors:
                if other.type == kind and other.owner == conn.owner:
                    other.default = False
        state.data.connectors.append(conn)


def _fixture_files(root: Folder, files: list[dict[str, Any]], base_dir: Path | None, now: str, limit: int) -> None:
    for f in files:
        segments = split_path(f.get("name"))
        if not segments:
            raise ApiError(REQUEST_INVALID, "a connector file needs a name (a path inside the bucket or root)")
        folder = root
        for seg in segments[:-1]:
            nxt = folder.entries.setdefault(seg, Folder(created=now))
            if not isinstance(nxt, Folder):
                raise ApiError(REQUEST_INVALID, f"{f['name']}: {seg!r} is a file, not a directory")
            folder = nxt
        folder.entries[segments[-1]] = DataFile(_fixture_bytes(f, base_dir, limit), now)


Loader = Callable[[Ctx, Any, "Path | None", "dict | None"], None]   # (ctx, item, folder, checked bindings)
# Order matters: SCMs before algorithms, users before organizations and data.
SECTIONS: list[tuple[str, Loader]] = [
    ("scms", _scm),
    ("profiles", _profile),
    ("admin_keys", _admin_key),
    ("users", _user),
    ("organizations", _org),
    ("algorithms", _algorithm),
    ("connectors", load_connector_fixture),
    ("data", load_data_fixture),
]


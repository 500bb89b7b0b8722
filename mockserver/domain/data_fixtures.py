"""Fixture sections ``data:`` and ``connectors:``: seed collections, buckets and files.

Files come inline (``text``, ``base64``, ``json``) or from a ``path`` relative to
the fixture file; every name passes the same checks as the data API's.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from mockserver.errors import REQUEST_INVALID, ApiError
from mockserver.domain.context import Ctx
from mockserver.domain.data import (ACL_MY_ALGOS, ACL_PUBLIC, BUCKETED, CONNECTOR_TYPES, DEFAULT_ACL, check_acl,
                   check_name, home_folder, split_path)
from mockserver.domain.data_models import Connector, DataFile, Folder

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


def load_data_fixture(ctx: Ctx, item: dict[str, Any], base_dir: Path | None) -> None:
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


def load_connector_fixture(ctx: Ctx, item: dict[str, Any], base_dir: Path | None) -> None:
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

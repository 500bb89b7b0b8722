"""The Data API's operations (seed 001 "Data"): listing, reading, uploading, creating
directories, updating ACLs and deleting, in hosted collections and simulated connectors. Which
path points where, and who may read or write it, is decided in domain/data_paths.py; a refused
request changes nothing."""
from __future__ import annotations

import heapq
import json
import mimetypes
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Iterator

from mockserver.domain.principal import Principal
from mockserver.errors import DIRECTORY_NOT_EMPTY, INVALID_JSON, REQUEST_INVALID, ApiError
from mockserver.pagination import Page, Source, paginate, sorted_source
from mockserver.domain.store import State
from mockserver.domain.context import Ctx
from mockserver.domain.data_models import DataFile, Folder
from mockserver.domain.data_paths import (BUCKETED, DEFAULT_ACL, DIRECTORY, FILE, HOSTED, Loc, LocKind, bad_path,
                                          can_read, check_acl, check_name, conflict, find_connector, forbidden,
                                          home_folder, not_found, resolve)

# -- reading ------------------------------------------------------------------
@dataclass
class FileView:
    name: str
    data: bytes
    last_modified: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def content_type(self) -> str:
        return content_type(self.name, self.data)


def content_type(name: str, data: bytes) -> str:
    """Guessed from the extension; text gets a charset when the bytes are UTF-8."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    guessed = guessed or "application/octet-stream"
    texty = guessed.startswith("text/") or guessed.endswith(("+xml", "/xml", "/javascript", "+json"))
    if texty:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return guessed
        return f"{guessed}; charset=utf-8"
    return guessed


@dataclass(frozen=True)
class ListedFile:
    name: str
    last_modified: str
    size: int


@dataclass(frozen=True)
class ListedFolder:
    name: str
    acl: list[str] | None = None


@dataclass(frozen=True)
class Listing:
    """One page of a directory: its folders, its files, the next page's marker and, when asked
    for, the collection's ACL."""
    folders: list[ListedFolder]
    files: list[ListedFile]
    marker: str | None
    acl: list[str] | None = None


def _entry(name: str, node: Folder | DataFile) -> ListedFile | ListedFolder:
    if isinstance(node, DataFile):
        return ListedFile(name, node.last_modified, node.size)
    return ListedFolder(name, None if node.acl is None else list(node.acl))


def folder_source(folder: Folder, visible: Callable[[Folder | DataFile], bool] | None = None):
    """A pagination source over a folder's SortedDict: O(log n + page)."""
    def source(after, n):
        if after is not None and not isinstance(after, str):
            raise TypeError("marker key")
        names = folder.entries.irange(minimum=after, inclusive=(False, True)) if after is not None \
            else iter(folder.entries)
        rows: Iterator = ((name, (name, folder.entries[name])) for name in names)
        if visible is not None:
            rows = (row for row in rows if visible(row[1][1]))
        return list(islice(rows, n))
    return source


def _listing(page: Page, acl: list[str] | None = None) -> Listing:
    folders = [e for e in page.results if isinstance(e, ListedFolder)]
    files = [e for e in page.results if isinstance(e, ListedFile)]
    return Listing(folders, files, page.marker, None if acl is None else list(acl))


def _every_owner_source(state: State) -> Source:
    """Every user and organization by name, merged from the two sorted maps: a page costs
    O(log n + page), not a sort of all of them."""
    def source(after, n):
        maps = (state.users, state.orgs)
        names = heapq.merge(*(m.irange(minimum=after[1], inclusive=(False, True)) if after else iter(m)
                              for m in maps))
        return [((0, name), (0, name)) for name in islice(names, n)]
    return source


def _root_listing(state: State, who: Principal, connector: str, page: dict[str, Any]) -> Listing:
    if connector == HOSTED:
        if who.username:   # the caller's home, then its organizations (few: a scan of the orgs)
            homes = [(0, who.username)] + [(1, o) for o, org in state.orgs.items() if who.username in org.members]
            source = sorted_source(homes, key=lambda home: home)
        elif who.is_admin:
            source = _every_owner_source(state)
        else:
            source = lambda after, n: []   # noqa: E731 - a key with no home lists nothing

        def checked(after, n):
            if after is not None and not (isinstance(after, tuple) and len(after) == 2):
                raise TypeError("marker key")
            return source(after, n)
        return _listing(paginate(checked, list_id=f"{connector}:",
                                 render=lambda home: ListedFolder(home[1]), **page))
    raise AssertionError("connector roots are folders")   # pragma: no cover


def get(ctx: Ctx, who: Principal, connector: str, path: str | None, *, acl: bool = False,
        page: dict[str, Any] | None = None) -> FileView | Listing:
    """A file (FileView) or a page of a directory (Listing)."""
    page = page or {}
    with ctx.store.read() as state:
        loc = resolve(state, who, connector, path)
        if loc.kind == LocKind.ROOT and loc.hosted:
            return _root_listing(state, who, connector, page)
        if loc.kind == LocKind.NESTED:
            raise not_found(loc.uri, "data:// collections hold files only, no sub-directories")
        if loc.node is None:
            raise not_found(loc.uri)
        if isinstance(loc.node, DataFile):
            return FileView(loc.name, loc.node.data, loc.node.last_modified)
        visible = None
        if loc.kind == LocKind.HOME and not loc.writable:
            owner = loc.segments[0]
            visible = lambda node: isinstance(node, Folder) and can_read(state, who, owner, node)  # noqa: E731
        listing = paginate(folder_source(loc.node, visible), list_id=loc.list_id,
                           render=lambda row: _entry(*row), **page)
        return _listing(listing, loc.node.acl if acl and loc.kind == LocKind.COLLECTION else None)


@dataclass
class Head:
    data_type: str          # file | directory
    size: int = 0
    name: str = ""
    last_modified: str | None = None
    content_type: str | None = None


def head(ctx: Ctx, who: Principal, connector: str, path: str | None) -> Head:
    """Exactly what exists: files, directories and user/org homes (404 otherwise)."""
    with ctx.store.read() as state:
        loc = resolve(state, who, connector, path)
        if loc.kind in (LocKind.ROOT, LocKind.HOME):
            return Head(DIRECTORY)
        if loc.node is None:
            raise not_found(loc.uri)
        if isinstance(loc.node, DataFile):
            return Head(FILE, loc.node.size, loc.name, loc.node.last_modified, content_type(loc.name, loc.node.data))
        return Head(DIRECTORY)


# -- writing ------------------------------------------------------------------
def _require_write(loc: Loc) -> None:
    if not loc.writable:
        raise forbidden(loc.uri)


def upload(ctx: Ctx, who: Principal, connector: str, path: str | None, data: bytes) -> str:
    """Store ``data`` byte-exact at ``path`` (creating or replacing a file)."""
    with ctx.store.write() as state:
        loc = resolve(state, who, connector, path)
        if loc.hosted:
            if loc.kind in (LocKind.ROOT, LocKind.HOME) or len(loc.segments) == 2:
                raise bad_path(f"{loc.uri} is a directory path; upload to data://owner/collection/file")
            if loc.kind == LocKind.NESTED:
                raise bad_path(f"{loc.uri}: data:// collections hold files only, no sub-directories")
            if loc.collection is None:
                raise not_found(f"data://{'/'.join(loc.segments[:2])}",
                                 "create the collection first: POST /v1/data/{owner} {\"name\": ...}")
            _require_write(loc)
            target = loc.collection
        else:
            if not loc.segments:
                raise bad_path(f"{loc.uri} is the connector root; give a file path")
            if connector.partition("+")[0] in BUCKETED and len(loc.segments) == 1:
                raise bad_path(f"{loc.uri}: the first path segment of {connector} is the bucket; give bucket/path/file")
            target = _mkdirs(ctx, state, who, connector, loc.segments[:-1])
        existing = target.entries.get(loc.name)
        if isinstance(existing, Folder):
            raise conflict(f"{loc.uri} is a directory; a file cannot replace it")
        target.entries[loc.name] = DataFile(data, ctx.clock.iso())
        return loc.uri


def _mkdirs(ctx: Ctx, state: State, who: Principal, connector: str, segments: list[str]) -> Folder:
    """The folder at ``segments`` of a connector, creating missing folders below the bucket."""
    conn = find_connector(state.data, state, who, connector)
    folder = conn.root
    bucketed = connector.partition("+")[0] in BUCKETED
    walked: list[str] = []
    # check first, create after: a refused upload creates no folder
    for i, seg in enumerate(segments):
        walked.append(seg)
        node = folder.entries.get(seg) if folder is not None else None
        if node is None:
            if bucketed and i == 0:
                raise not_found(f"{connector}://{seg}", f"no bucket named {seg!r} on this connector")
            folder = None
            continue
        if isinstance(node, DataFile):
            raise conflict(f"{connector}://{'/'.join(walked)} is a file, not a directory")
        folder = node
    folder = conn.root
    for seg in segments:
        nxt = folder.entries.get(seg)
        if nxt is None:
            nxt = folder.entries[seg] = Folder(created=ctx.clock.iso())
        folder = nxt
    return folder


def parse_directory_body(body: bytes) -> tuple[str, list[str] | None]:
    """POST body of "create a directory": JSON ``{name, acl}`` (docs, Python), a JSON string,
    or the bare name as text (Node.js), whatever the Content-Type claims."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_path("the directory creation body must be UTF-8 text: JSON {\"name\": ...} or a bare name") from None
    stripped = text.strip()
    if not stripped:
        raise ApiError(REQUEST_INVALID, "Request body is invalid, missing field: 'name' "
                                        "(send JSON {\"name\": ..., \"acl\": {\"read\": [...]}} or the bare name)")
    if stripped[0] in "{[\"":
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise ApiError(INVALID_JSON, f"Invalid JSON: {exc}") from None
        if isinstance(value, str):
            return check_name(value.strip(), "name"), None
        if not isinstance(value, dict):
            raise bad_path("the directory creation body must be a JSON object {\"name\": ..., \"acl\": ...}")
        if "name" not in value:
            raise ApiError(REQUEST_INVALID, "Request body is invalid, missing field: 'name'")
        name = check_name(value["name"], "name")
        acl = check_acl(value["acl"]) if value.get("acl") is not None else None
        return name, acl
    return check_name(stripped, "name"), None


def create_directory(ctx: Ctx, who: Principal, connector: str, path: str | None, body: bytes) -> str:
    name, acl = parse_directory_body(body)
    with ctx.store.write() as state:
        loc = resolve(state, who, connector, path)
        child = [*loc.segments, name]
        uri = f"{connector}://{'/'.join(child)}"
        if loc.hosted:
            if loc.kind == LocKind.ROOT:
                raise bad_path("collections are created in a home: POST /v1/data/{owner} (or .my)")
            if loc.kind != LocKind.HOME:
                if loc.kind == LocKind.COLLECTION or (loc.kind == LocKind.MISSING and len(loc.segments) == 2):
                    raise bad_path(f"{uri}: data:// collections hold files only, no sub-directories "
                                    "(create a collection under data://{owner} instead)")
                raise bad_path(f"{loc.uri} is not a directory")
            _require_write(loc)
            home = home_folder(state.data, loc.segments[0], create=True)
            if name in home.entries:
                raise conflict(f"A directory already exists at {uri}")
            home.entries[name] = Folder(list(DEFAULT_ACL if acl is None else acl), ctx.clock.iso())
            return uri
        if acl is not None and acl != []:
            raise bad_path("acl applies to hosted data collections only (connector 'data')")
        if loc.node is None and loc.kind != LocKind.ROOT:
            raise not_found(loc.uri)
        if isinstance(loc.node, DataFile):
            raise conflict(f"{loc.uri} is a file, not a directory")
        parent = loc.node
        if name in parent.entries:
            raise conflict(f"A {'file' if isinstance(parent.entries[name], DataFile) else 'directory'} "
                            f"already exists at {uri}")
        parent.entries[name] = Folder(created=ctx.clock.iso())
        return uri


def update_acl(ctx: Ctx, who: Principal, connector: str, path: str | None, body: Any) -> None:
    acl = check_acl((body or {}).get("acl") if isinstance(body, dict) else None)
    with ctx.store.write() as state:
        loc = resolve(state, who, connector, path)
        if not loc.hosted:
            raise bad_path("ACLs apply to hosted data collections only (connector 'data')")
        if loc.kind in (LocKind.MISSING, LocKind.NESTED) or loc.node is None and loc.kind != LocKind.ROOT:
            raise not_found(loc.uri)
        if loc.kind != LocKind.COLLECTION:
            raise bad_path(f"{loc.uri} is not a collection; ACLs are set on data://owner/collection")
        _require_write(loc)
        loc.node.acl = acl


def delete(ctx: Ctx, who: Principal, connector: str, path: str | None, force: bool = False) -> int:
    """A file (deleted 1) or a directory: empty, or any with ``force`` (files + folders, itself included)."""
    with ctx.store.write() as state:
        loc = resolve(state, who, connector, path)
        if loc.kind in (LocKind.ROOT, LocKind.HOME):
            raise bad_path(f"{loc.uri or connector + '://'} cannot be deleted (delete its "
                            f"{'collections' if loc.hosted else 'directories'} instead)")
        if loc.node is None or loc.parent is None:
            raise not_found(loc.uri)
        _require_write(loc)
        node = loc.node
        if isinstance(node, Folder):
            if node.entries and not force:
                raise ApiError(DIRECTORY_NOT_EMPTY, f"Directory {loc.uri} is not empty ({len(node.entries)} entries); "
                                                "delete it with force=true", deleted=0)
            deleted = node.count()
        else:
            deleted = 1
        del loc.parent.entries[loc.name]
        return deleted

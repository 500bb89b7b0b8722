"""Where a Data API path points and who may use it (seed 001 "Data", CLIENTS.md "Data"): names,
paths, ACLs, hosted collections and simulated connectors. The operations are in domain/data.py.

Paths
    ``data``: ``{owner}/{collection}/{file}``; ``owner`` is a user or an
    organization, ``.my`` the caller. The hosted store has no directories
    inside a collection (seed): ``dir("data://demo/c/sub").create()`` and uploads
    below ``owner/collection/file`` are refused with 400 and a message that says so.
    ``s3``/``gs``: the bucket first, then any depth; ``azureblob`` (one container)
    and ``dropbox``: any depth from the root. ``type+label`` names a labelled
    connector, ``type`` alone the default one of that type.

ACLs (hosted collections)
    ``[]`` private, ``["algo://.my/*"]`` the owner's algorithms,
    ``["user://*"]`` every authenticated user. Owners, organization members and
    admins may write; readers only read; everyone else cannot see the collection
    (404, as if it did not exist). Key permissions (allow_data / allow_data_write)
    are enforced by the spec gate before this module runs.

Safety
    Every path segment is checked before anything is looked up: no ``.``/``..``,
    no empty inner segment, no NUL or other control byte, at most 255 UTF-8 bytes.
    A refused request changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import CONNECTOR_NOT_FOUND, DATA_CONFLICT, DATA_NOT_FOUND, NOT_AUTHORIZED, REQUEST_INVALID, ApiError
from mockserver.domain.store import State
from mockserver.domain.data_models import Connector, DataFile, DataStore, Folder
from mockserver.domain.orgs import acts_for
HOSTED = "data"
CONNECTOR_TYPES = ("s3", "gs", "azureblob", "dropbox")
BUCKETED = ("s3", "gs")                # the first path segment is the bucket
MAX_NAME_BYTES = 255
ACL_PUBLIC = "user://*"
ACL_MY_ALGOS = "algo://.my/*"
ACL_VALUES = (ACL_PUBLIC, ACL_MY_ALGOS)
DEFAULT_ACL = [ACL_MY_ALGOS]           # the Python client's AclType.default

FILE = "file"
DIRECTORY = "directory"


# -- errors -----------------------------------------------------------------
def not_found(uri: str, why: str = "") -> ApiError:
    return ApiError(DATA_NOT_FOUND, f"Path not found: {uri}{' (' + why + ')' if why else ''}")


def bad_path(message: str) -> ApiError:
    return ApiError(REQUEST_INVALID, f"The request is invalid: {message}")


def conflict(message: str) -> ApiError:
    return ApiError(DATA_CONFLICT, message)


def forbidden(uri: str) -> ApiError:
    return ApiError(NOT_AUTHORIZED, f"Caller is not authorized to perform the operation: write access to {uri} "
                                    "is reserved to its owner (and the members of an owning organization)")


# -- paths ------------------------------------------------------------------
def check_name(name: Any, what: str = "name") -> str:
    """One path segment / file or directory name."""
    if not isinstance(name, str) or name == "":
        raise bad_path(f"{what} must be a non-empty string")
    if name in (".", ".."):
        raise bad_path(f"{what} {name!r} is not allowed ('.' and '..' are not path segments)")
    if "/" in name:
        raise bad_path(f"{what} {name!r} must not contain '/'")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        kind = "a NUL byte" if "\x00" in name else "a control character"
        raise bad_path(f"{what} {name!r} contains {kind}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise bad_path(f"{what} {name!r} is not valid Unicode") from None
    if size > MAX_NAME_BYTES:
        raise bad_path(f"{what} is {size} bytes long; names are limited to {MAX_NAME_BYTES} bytes (UTF-8)")
    return name


def split_path(raw: str | None) -> list[str]:
    """``owner/collection/file`` -> segments. A trailing slash is fine; inner empty segments are not."""
    if raw is None or raw == "":
        return []
    path = raw[:-1] if raw.endswith("/") else raw
    if path.startswith("/"):
        raise bad_path(f"path {raw!r} has an empty segment (leading '/')")
    segments = path.split("/")
    for seg in segments:
        if seg == "":
            raise bad_path(f"path {raw!r} has an empty segment ('//')")
        check_name(seg, f"path segment {seg!r}" if len(seg) < 64 else "a path segment")
    return segments


# -- who may do what ----------------------------------------------------------
def _algorithm_owner(who: Principal) -> str | None:
    algo = getattr(who.key, "algorithm", None)
    if not algo:
        return None
    ref = algo[len("algo://"):] if algo.startswith("algo://") else algo
    return ref.split("/", 1)[0] or None


def can_read(state: State, who: Principal, owner: str, collection: Folder) -> bool:
    if acts_for(state, who, owner):
        return True
    acl = collection.acl or []
    if ACL_PUBLIC in acl:
        return True
    return ACL_MY_ALGOS in acl and _algorithm_owner(who) == owner


def check_acl(acl: Any) -> list[str]:
    """``{"read": [...]}`` -> the read list (deduplicated, in the documented values only)."""
    if not isinstance(acl, dict) or not isinstance(acl.get("read"), list):
        raise bad_path('acl must be an object {"read": [...]} with read one of [], ["algo://.my/*"], ["user://*"]')
    read: list[str] = []
    for value in acl["read"]:
        if value not in ACL_VALUES:
            raise bad_path(f"acl.read value {value!r} is not one of {', '.join(ACL_VALUES)}")
        if value not in read:
            read.append(value)
    return read


# -- locations ------------------------------------------------------------------
class LocKind(str, Enum):
    """What a resolved data path names."""
    ROOT = "root"                   # the connector's root (data://: all homes)
    HOME = "home"                   # a user's or organization's home
    COLLECTION = "collection"       # data://owner/collection
    FOLDER = "folder"               # a folder of another connector
    FILE = "file"
    MISSING = "missing"             # nothing there (yet)
    NESTED = "nested"               # deeper than data:// allows (owner/collection/file)


@dataclass
class Loc:
    """A resolved path: what is there (``node``, None when nothing), and the rules that apply."""
    connector: str                  # as addressed: "data", "s3", "s3+test"
    segments: list[str]             # resolved (".my" replaced by the caller)
    node: Folder | DataFile | None
    parent: Folder | None           # the folder that holds / would hold ``node``
    kind: LocKind
    writable: bool
    hosted: bool
    collection: Folder | None = None

    @property
    def uri(self) -> str:
        return f"{self.connector}://{'/'.join(self.segments)}"

    @property
    def name(self) -> str:
        return self.segments[-1] if self.segments else ""

    @property
    def list_id(self) -> str:
        return f"{self.connector}:{'/'.join(self.segments)}"


def home_folder(store: DataStore, owner: str, create: bool) -> Folder | None:
    home = store.homes.get(owner)
    if home is None and create:
        home = store.homes[owner] = Folder()
    return home


def _resolve_hosted(state: State, who: Principal, connector: str, segments: list[str]) -> Loc:
    if not segments:
        return Loc(connector, [], None, None, LocKind.ROOT, False, True)
    owner = segments[0]
    if owner == ".my":
        if not who.username:
            raise bad_path("'.my' names the caller's own data, and this API key belongs to no user")
        owner = who.username
    segments = [owner, *segments[1:]]
    uri = f"{connector}://{'/'.join(segments)}"
    if not state.owner_exists(owner):
        raise not_found(uri, f"no user or organization named {owner!r}")
    writable = acts_for(state, who, owner)
    home = state.data.homes.get(owner) or Folder()      # a home with no collection yet: empty
    if len(segments) == 1:
        return Loc(connector, segments, home, None, LocKind.HOME, writable, True)
    collection = home.entries.get(segments[1])
    if collection is not None and not can_read(state, who, owner, collection):
        collection = None                       # invisible: exactly as if it did not exist
    if len(segments) == 2:
        return Loc(connector, segments, collection, home, LocKind.COLLECTION if collection else LocKind.MISSING,
                   writable, True, collection)
    if len(segments) > 3:
        return Loc(connector, segments, None, None, LocKind.NESTED, writable, True, collection)
    if collection is None:
        return Loc(connector, segments, None, None, LocKind.MISSING, writable, True, None)
    node = collection.entries.get(segments[2])
    return Loc(connector, segments, node, collection, LocKind.FILE if node is not None else LocKind.MISSING,
               writable, True, collection)


def find_connector(store: DataStore, state: State, who: Principal, connector_id: str) -> Connector:
    kind, _, label = connector_id.partition("+")
    if kind not in CONNECTOR_TYPES:
        known = ", ".join((HOSTED,) + CONNECTOR_TYPES)
        raise ApiError(CONNECTOR_NOT_FOUND, f"Unknown connector {connector_id!r}: connector types are {known} "
                                        "(with '+label' for a labelled connector)")
    usable = [c for c in store.connectors if c.type == kind and _may_use(state, who, c)]
    if label:
        found = next((c for c in usable if c.label == label), None)
    else:
        found = next((c for c in usable if c.default), None) or next((c for c in usable if not c.label), None)
        if found is None and len(usable) == 1:
            found = usable[0]
    if found is None:
        raise ApiError(CONNECTOR_NOT_FOUND, f"Connector {connector_id!r} is not configured: add it to the fixtures' "
                                        "connectors section (type, label, default, buckets or files)")
    return found


def _may_use(state: State, who: Principal, connector: Connector) -> bool:
    return connector.owner is None or acts_for(state, who, connector.owner)


def _resolve_connector(state: State, who: Principal, connector_id: str, segments: list[str]) -> Loc:
    conn = find_connector(state.data, state, who, connector_id)
    folder: Folder | DataFile | None = conn.root
    parent = None
    for seg in segments:
        if not isinstance(folder, Folder):
            folder, parent = None, None
            break
        parent, folder = folder, folder.entries.get(seg)
    if not segments:
        kind = LocKind.ROOT
    elif folder is None:
        kind = LocKind.MISSING
    else:
        kind = LocKind.FILE if isinstance(folder, DataFile) else LocKind.FOLDER
    return Loc(connector_id, segments, folder, parent, kind, True, False)


def resolve(state: State, who: Principal, connector: str, path: str | None) -> Loc:
    segments = split_path(path)
    if connector == HOSTED:
        return _resolve_hosted(state, who, connector, segments)
    return _resolve_connector(state, who, connector, segments)

"""Records of the hosted data store and the simulated connectors (rules: domain.data).

A directory is a ``Folder`` whose entries live in a ``SortedDict`` keyed by
name, so a listing page costs O(log n + page) whatever the directory's size.
Entries are ``Folder`` (sub-directory, collection or bucket) or ``DataFile``.

- Hosted data (``data://``): ``homes[owner]`` is the home of a user or an
  organization; its entries are collections (folders carrying an ``acl``);
  a collection holds files only.
- Other connectors: ``connectors`` in the order fixtures configured them; each
  has a ``root`` folder (buckets for s3/gs, the container or account root for
  azureblob/dropbox) and arbitrarily nested folders below.

The state is deep-copied on reset and exported as JSON (``to_json`` /
``from_json``; file bytes travel as base64).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedDict


class DataFile:
    __slots__ = ("data", "last_modified")

    def __init__(self, data: bytes, last_modified: str):
        self.data = bytes(data)
        self.last_modified = last_modified

    @property
    def size(self) -> int:
        return len(self.data)

    def to_json(self) -> dict[str, Any]:
        return {"file": base64.b64encode(self.data).decode("ascii"), "last_modified": self.last_modified}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"DataFile({self.size} bytes, {self.last_modified})"


class Folder:
    """A directory. ``acl`` is set on hosted collections only (``{"read": [...]}``' list)."""
    __slots__ = ("entries", "acl", "created")

    def __init__(self, acl: list[str] | None = None, created: str = ""):
        self.entries: SortedDict = SortedDict()
        self.acl = acl
        self.created = created

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"folder": {name: node.to_json() for name, node in self.entries.items()}}
        if self.acl is not None:
            out["acl"] = list(self.acl)
        if self.created:
            out["created"] = self.created
        return out

    def count(self) -> int:
        """Files and folders below this folder, plus the folder itself."""
        total = 1
        stack = [self]
        while stack:
            folder = stack.pop()
            for node in folder.entries.values():
                total += 1
                if isinstance(node, Folder):
                    stack.append(node)
        return total

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Folder({len(self.entries)} entries, acl={self.acl})"


def node_from_json(data: dict[str, Any]) -> DataFile | Folder:
    if "file" in data:
        return DataFile(base64.b64decode(data["file"]), data.get("last_modified", ""))
    folder = Folder(data.get("acl"), data.get("created", ""))
    folder.entries = SortedDict({name: node_from_json(child) for name, child in (data.get("folder") or {}).items()})
    return folder


@dataclass
class Connector:
    """A simulated storage connector (s3, gs, azureblob, dropbox)."""
    type: str
    label: str | None = None
    default: bool = False
    owner: str | None = None          # user or org allowed to use it; None: every user
    container: str | None = None      # azureblob: the blob container (informational)
    root: Folder = field(default_factory=Folder)

    @property
    def id(self) -> str:
        return f"{self.type}+{self.label}" if self.label else self.type

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "label": self.label, "default": self.default, "owner": self.owner,
                "container": self.container, "root": self.root.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Connector":
        root = node_from_json(data.get("root") or {"folder": {}})
        if not isinstance(root, Folder):
            raise ValueError("a connector root must be a folder")
        return cls(type=data["type"], label=data.get("label"), default=bool(data.get("default")),
                   owner=data.get("owner"), container=data.get("container"), root=root)


@dataclass
class DataStore:
    homes: dict[str, Folder] = field(default_factory=dict)       # owner (user or org) -> home
    connectors: list[Connector] = field(default_factory=list)

    def drop_owner(self, name: str) -> None:
        """A user or organization was deleted: its collections go with it."""
        self.homes.pop(name, None)
        self.connectors = [c for c in self.connectors if c.owner != name]

    def to_json(self) -> dict[str, Any]:
        return {"homes": {owner: home.to_json() for owner, home in self.homes.items()},
                "connectors": [c.to_json() for c in self.connectors]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "DataStore":
        data = data or {}
        homes = {}
        for owner, home in (data.get("homes") or {}).items():
            node = node_from_json(home)
            if not isinstance(node, Folder):
                raise ValueError(f"data home {owner!r} must be a folder")
            homes[owner] = node
        return cls(homes=homes, connectors=[Connector.from_json(c) for c in data.get("connectors") or []])

    def __deepcopy__(self, memo):
        return DataStore({owner: home.__deepcopy__(memo) for owner, home in self.homes.items()},
                         [c.__deepcopy__(memo) for c in self.connectors])

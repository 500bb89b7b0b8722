"""Large git blobs on disk, shared by every repository of the process.

A blob over ``INLINE_MAX`` bytes is a :class:`StoredBlob`: its id, its size and a file
named by its id in the store's folder. Repositories hold these handles instead of the
content, so a 100 MB model file costs a file, not heap. Blobs are immutable and
content-addressed, so one file serves every repository (and sandbox) that holds that id.

A file lives while some repository value holds its handle (the store keeps only weak
references). Files nobody holds any more stay until the store needs room: then they are
removed, oldest first, before a push that would pass the budget is refused. Until then an
export that named a blob by id (``GET /_mock/state`` without ``large_blobs=include``) can
be imported again into this server.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from typing import BinaryIO, Iterator

from mockserver.errors import GIT_STORAGE_FULL, ApiError

INLINE_MAX = 64 * 1024          # blobs up to this size stay in memory ...
REPO_INLINE_MAX = 8 * 1024 * 1024  # ... while a repository's in-memory blobs stay under this
EXPORT_INLINE_MAX = 1024 * 1024  # blobs up to this size are exported inline by default
BLOB_TYPE = 3
_CHUNK = 1024 * 1024


class StoredBlob:
    """An immutable git blob whose content is a file (read it with :meth:`chunks`)."""
    __slots__ = ("id", "size", "path", "__weakref__")
    type_num = BLOB_TYPE

    def __init__(self, sha: bytes, size: int, path: str):
        self.id, self.size, self.path = sha, size, path

    def raw_length(self) -> int:
        return self.size

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def chunks(self) -> Iterator[bytes]:
        with self.open() as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk

    def read(self) -> bytes:
        """The whole content, in memory (an export that asked for it, a clone that sends it)."""
        with self.open() as fh:
            return fh.read()

    def read_at(self, offset: int, size: int) -> bytes:
        with self.open() as fh:
            return os.pread(fh.fileno(), size, offset)

    def __copy__(self) -> "StoredBlob":
        return self

    def __deepcopy__(self, _memo) -> "StoredBlob":
        return self

    def __repr__(self) -> str:
        return f"StoredBlob({self.id.decode()}, {self.size} bytes)"


def blob_id(content_hasher: "hashlib._Hash") -> bytes:
    return content_hasher.hexdigest().encode()


def blob_hasher(size: int, type_name: bytes = b"blob") -> "hashlib._Hash":
    """A SHA-1 primed with git's object header; feed it the content."""
    hasher = hashlib.sha1()
    hasher.update(type_name + b" " + str(size).encode() + b"\0")
    return hasher


class BlobStore:
    def __init__(self, root: str, budget_bytes: int):
        self.root = root
        self.budget_bytes = budget_bytes
        self._files = os.path.join(root, "blobs")
        self._staging = os.path.join(root, "staging")
        os.makedirs(self._files, exist_ok=True)
        os.makedirs(self._staging, exist_ok=True)
        self._lock = threading.Lock()
        self._live: "weakref.WeakValueDictionary[bytes, StoredBlob]" = weakref.WeakValueDictionary()
        self._sizes: dict[bytes, int] = {}      # every file in the folder (held or not), oldest first

    # -- a push's staging area -------------------------------------------------------
    def staging_dir(self) -> str:
        """A fresh folder for one push's blobs before they are accepted (remove it afterwards)."""
        return tempfile.mkdtemp(prefix="push-", dir=self._staging)

    def spool(self) -> BinaryIO:
        """A temporary file on the store's disk (a pushed pack while it is read)."""
        return tempfile.TemporaryFile(dir=self._staging)

    # -- blobs -----------------------------------------------------------------------
    def used_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def get(self, sha: bytes) -> StoredBlob | None:
        """The blob ``sha`` if this store still has its file (held or not)."""
        with self._lock:
            blob = self._live.get(sha)
            if blob is None and sha in self._sizes:
                blob = self._live[sha] = StoredBlob(sha, self._sizes[sha], self._path(sha))
            return blob

    def ensure_room(self, new_bytes: int) -> None:
        """Refuse (GIT_STORAGE_FULL) unless ``new_bytes`` more fit, after dropping unheld files."""
        with self._lock:
            self._make_room(new_bytes)

    def adopt(self, staged: list[StoredBlob]) -> dict[bytes, StoredBlob]:
        """Move staged blobs (files in a staging folder) into the store: their handles by id."""
        out: dict[bytes, StoredBlob] = {}
        with self._lock:
            self._make_room(sum(b.size for b in staged if b.id not in self._sizes))
            for blob in staged:
                held = self._live.get(blob.id)
                if held is None and blob.id in self._sizes:
                    held = self._live[blob.id] = StoredBlob(blob.id, self._sizes[blob.id], self._path(blob.id))
                if held is None:
                    os.replace(blob.path, self._path(blob.id))
                    self._sizes[blob.id] = blob.size
                    held = self._live[blob.id] = StoredBlob(blob.id, blob.size, self._path(blob.id))
                out[blob.id] = held
        return out

    def put_bytes(self, content: bytes) -> StoredBlob:
        """A blob from memory (an imported state's inline content)."""
        hasher = blob_hasher(len(content))
        hasher.update(content)
        sha = blob_id(hasher)
        held = self.get(sha)
        if held is not None:
            return held
        folder = self.staging_dir()
        try:
            path = os.path.join(folder, "blob")
            with open(path, "wb") as fh:
                fh.write(content)
            return self.adopt([StoredBlob(sha, len(content), path)])[sha]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def sweep(self) -> int:
        """Remove every file no repository holds; returns the bytes freed."""
        with self._lock:
            return self._drop_unheld(None)

    def _make_room(self, new_bytes: int) -> None:
        used = sum(self._sizes.values())
        if used + new_bytes > self.budget_bytes:
            used -= self._drop_unheld(used + new_bytes - self.budget_bytes)
        if used + new_bytes > self.budget_bytes:
            raise ApiError(GIT_STORAGE_FULL, f"the server's git storage is full: {new_bytes} more bytes of large "
                           f"blobs do not fit in the {self.budget_bytes} bytes of --git-storage-mb "
                           f"({used} in use)")

    def _drop_unheld(self, wanted: int | None) -> int:
        freed = 0
        for sha in list(self._sizes):
            if wanted is not None and freed >= wanted:
                break
            if sha in self._live:
                continue
            freed += self._sizes.pop(sha)
            try:
                os.unlink(self._path(sha))
            except FileNotFoundError:
                pass
        return freed

    def _path(self, sha: bytes) -> str:
        return os.path.join(self._files, sha.decode())


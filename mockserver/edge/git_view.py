"""A stored repository as dulwich sees it, for clones and fetches (upload-pack).

dulwich's documented extension points: an object store (``BaseObjectStore``: contains,
get_raw, iteration) and a repository on top of it (``BaseRepo``, "meant to be used for
Repository implementations that e.g. work on top of a different transport"). Objects are
handed out one at a time as dulwich packs them, so a large blob is read from its file only
while it is being sent. The view is read-only: pushes are taken by ``domain/gitpush.py``.
"""
from __future__ import annotations

from typing import Iterator

from dulwich.config import ConfigFile
from dulwich.object_store import BaseObjectStore
from dulwich.refs import DictRefsContainer
from dulwich.repo import BaseRepo

from mockserver.domain.blobstore import StoredBlob
from mockserver.domain.repository import DEFAULT_BRANCH, Repository


class RepositoryObjects(BaseObjectStore):
    def __init__(self, repo: Repository):
        super().__init__()
        self.repo = repo

    def contains_loose(self, sha) -> bool:
        return self._hex(sha) in self.repo.objects

    def get_raw(self, name) -> tuple[int, bytes]:
        obj = self.repo.objects[self._hex(name)]
        if isinstance(obj, StoredBlob):
            return obj.type_num, obj.read()
        return obj.type_num, obj.as_raw_string()

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self.repo.objects))

    @property
    def packs(self) -> list:
        return []

    def add_object(self, obj) -> None:
        raise PermissionError("this view of a repository is read-only")

    def add_objects(self, objects, progress=None) -> None:
        raise PermissionError("this view of a repository is read-only")

    @staticmethod
    def _hex(sha: bytes) -> bytes:
        return sha.hex().encode() if len(sha) == 20 else sha


class RepositoryView(BaseRepo):
    """A read-only dulwich repository over a stored ``Repository`` (HEAD -> master)."""

    def __init__(self, repo: Repository):
        refs = DictRefsContainer(dict(repo.refs))
        refs.set_symbolic_ref(b"HEAD", DEFAULT_BRANCH)
        super().__init__(RepositoryObjects(repo), refs)
        self._config = ConfigFile()

    def get_named_file(self, path, basedir=None):
        return None             # no shallow file, no description: nothing on disk

    def get_config(self) -> ConfigFile:
        return self._config

    def get_description(self):
        return None

    def _determine_file_mode(self) -> bool:
        return True

    def open_index(self, config=None):
        raise NotImplementedError("a bare repository has no index")


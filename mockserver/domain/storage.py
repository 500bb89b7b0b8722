"""Where a server process keeps the large blobs of its git repositories on disk.

One ``Storage`` per server process, shared by its sandboxes (the composition root makes it
and hands it to every server it builds), so its budget bounds the whole process. Its folder
is made on first use, inside ``--storage-dir`` (default: the system's temporary folder), and
removed when the process exits. (Checked-out commits live in the runtime's checkout cache,
``runtime/checkouts.py``, beside it.)
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading

from mockserver.settings import MiB, Settings
from mockserver.domain.blobstore import BlobStore


class Storage:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._root: str | None = None
        self._blobs: BlobStore | None = None

    def _open(self) -> None:
        with self._lock:
            if self._root is not None:
                return
            parent = self.settings.storage_dir
            if parent:
                os.makedirs(parent, exist_ok=True)
            root = tempfile.mkdtemp(prefix="algorithmia-mock-git-", dir=parent or None)
            self._blobs = BlobStore(root, self.settings.git_storage_mb * MiB)
            self._root = root
            atexit.register(self.close)

    @property
    def root(self) -> str:
        self._open()
        return self._root

    @property
    def blobs(self) -> BlobStore:
        self._open()
        return self._blobs

    def close(self) -> None:
        """Remove the folder and everything in it (at exit; a later use makes a new one)."""
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

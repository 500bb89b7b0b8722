"""The checkout cache: where built commits live on disk while they build and run.

One folder per commit, ``<root>/<commit>`` (content-addressed: written once, then reused by
every build and call of that commit, in any sandbox). A checkout is written into a staging
folder, sealed for its commit's uid (:meth:`Isolation.seal`) and only then renamed into
place, so no worker ever sees it half-written or readable by others. The root is made on
first use (mode 0700; 0711 when workers run under other uids: they may enter the folder of
their commit, not list the others) and removed when the server stops (or at exit).

One per server, shared by its sandboxes, like the :class:`~.isolation.Isolation` it seals with.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from typing import Callable, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.isolation import Isolation


class CheckoutCache:
    def __init__(self, isolation: Isolation, prefix: str = "algorithmia-mock-checkouts-"):
        self.isolation = isolation
        self._prefix = prefix
        self._lock = threading.Lock()
        self._root: Optional[str] = None

    @property
    def root(self) -> str:
        with self._lock:
            if self._root is None:
                self._root = tempfile.mkdtemp(prefix=self._prefix)
                atexit.register(self.close)
            return self._root

    def folder(self, commit: str) -> str:
        """Where ``commit`` is (or would be) checked out."""
        return os.path.join(self.root, commit)

    def place(self, commit: str, write: Callable[[str], str]) -> tuple[str, bool]:
        """The commit's folder and whether this call wrote it. ``write(parent)`` writes the
        files into ``parent/<commit>`` and returns that path (``Repository.checkout``)."""
        dest = self.folder(commit)
        if os.path.isdir(dest):
            return dest, False
        root = os.path.dirname(dest)
        os.makedirs(root, exist_ok=True)            # removed from under us: made again
        os.chmod(root, 0o711 if self.isolation.switches_uids else 0o700)
        staging = tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=root)
        try:
            written = write(staging)
            self.isolation.seal(written, commit)
            try:
                os.rename(written, dest)
            except OSError:
                if not os.path.isdir(dest):      # another thread may have won the rename
                    raise
                return dest, False
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest, True

    def reseal(self, commit: str) -> None:
        """Seal the checkout again after the server wrote into it (installed requirements)."""
        self.isolation.seal(self.folder(commit), commit)

    def binding(self, commit: str, entrypoint: str, function: str = "apply") -> Binding:
        """The binding of a file of a checked-out commit: pushed code, never trusted."""
        path = os.path.join(self.folder(commit), *entrypoint.split("/"))
        return Binding(f"{path}:{function}", checkout=commit)

    def close(self) -> None:
        """Remove the cache (the server is stopping)."""
        with self._lock:
            root, self._root = self._root, None
        if root:
            shutil.rmtree(root, ignore_errors=True)

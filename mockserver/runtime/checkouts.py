"""The checkout cache: where built commits live on disk while they build and run.

A checkout lives at ``<root>/<scope>/<algorithm id>/<commit>``: a scope is one server (the
default one or a sandbox), so its reset and its deletion remove exactly its folders, and
deleting an algorithm removes its own. A checkout is written into a staging folder, sealed for
its commit's uid (:meth:`Isolation.seal`) and only then renamed into place, so no worker ever
sees it half-written or readable by others; a failed one leaves nothing behind. The root and
the folders above each checkout are made on first use (mode 0700; 0711 when workers run
under other uids: they may enter the folder of their commit, not list the others), inside
``--storage-dir`` (default: the system's temporary folder), and removed when the server stops
(or at exit).

The cache has a budget in bytes (``--checkout-cache-mb``, the files' sizes): a new checkout
first removes the least recently used ones until it fits; one that cannot fit at all is
refused (``CHECKOUT_CACHE_FULL``). One cache per server process, shared by its sandboxes, like
the :class:`~.isolation.Isolation` it seals with. When the last checkout of a commit goes
(evicted, its algorithm deleted, its server reset or deleted), the isolation is told, so that
the commit's worker uid can be recycled (as root); a commit no uid is free for is not checked
out (``NO_WORKER_UID``).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from typing import Callable, Optional

from mockserver.errors import CHECKOUT_CACHE_FULL, NO_WORKER_UID, ApiError
from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import NoWorkerUid
from mockserver.runtime.isolation import Isolation

DEFAULT_BUDGET = 2048 * 1024 * 1024


class CheckoutCache:
    def __init__(self, isolation: Isolation, parent: Optional[str] = None, budget_bytes: int = DEFAULT_BUDGET,
                 prefix: str = "algorithmia-mock-checkouts-"):
        self.isolation = isolation
        self.parent = parent                 # --storage-dir; None: the system's temporary folder
        self.budget_bytes = budget_bytes
        self._prefix = prefix
        self._lock = threading.Lock()
        self._root: Optional[str] = None
        self._sizes: "OrderedDict[str, int]" = OrderedDict()    # folder -> bytes, least recently used first
        self._pending: set[str] = set()                         # reserved, being written: never evicted
        self._writing: dict[str, threading.Lock] = {}

    @property
    def root(self) -> str:
        with self._lock:
            if self._root is None:
                if self.parent:
                    os.makedirs(self.parent, exist_ok=True)
                self._root = tempfile.mkdtemp(prefix=self._prefix, dir=self.parent or None)
                atexit.register(self.close)
            return self._root

    def folder(self, scope: str, algorithm_id: str, commit: str) -> str:
        """Where ``commit`` of that algorithm of that server is (or would be) checked out."""
        return os.path.join(self.root, scope, algorithm_id, commit)

    def place(self, scope: str, algorithm_id: str, commit: str, size: int,
              write: Callable[[str], str]) -> tuple[str, bool]:
        """The commit's folder and whether this call wrote it. ``write(parent)`` writes the
        files (``size`` bytes in all) into ``parent/<commit>`` and returns that path
        (``Repository.checkout``). ApiError CHECKOUT_CACHE_FULL when it cannot fit."""
        dest = self.folder(scope, algorithm_id, commit)
        with self._writer(dest):
            with self._lock:
                if dest in self._sizes and os.path.isdir(dest):
                    self._sizes.move_to_end(dest)
                    return dest, False
                self._sizes.pop(dest, None)
                evicted, full = self._make_room(size)
                if not full:
                    self._sizes[dest] = size
                    self._pending.add(dest)
            self._released(evicted)
            if full:
                raise ApiError(CHECKOUT_CACHE_FULL, full)
            try:
                return dest, self._write(dest, commit, write)
            except NoWorkerUid as exc:
                with self._lock:
                    self._sizes.pop(dest, None)
                raise ApiError(NO_WORKER_UID, f"the commit cannot run: {exc.message}") from None
            except BaseException:
                with self._lock:
                    self._sizes.pop(dest, None)
                raise
            finally:
                with self._lock:
                    self._pending.discard(dest)

    def reseal(self, folder: str, commit: str) -> None:
        """Seal the checkout again after the server wrote into it (installed requirements)."""
        self.isolation.seal(folder, commit)

    def binding(self, folder: str, commit: str, entrypoint: str, function: str = "apply") -> Binding:
        """The binding of a file of a checked-out commit: pushed code, never trusted."""
        path = os.path.join(folder, *entrypoint.split("/"))
        return Binding(f"{path}:{function}", checkout=commit)

    def used_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def forget(self, scope: str, keep: Optional[set[str]] = None) -> None:
        """Remove a server's checkouts: all of them, or those of algorithms (ids) not in ``keep``."""
        with self._lock:
            if self._root is None:
                return
            base = os.path.join(self._root, scope)
        try:
            algorithm_ids = os.listdir(base)
        except FileNotFoundError:
            return
        gone: list[str] = []
        for algorithm_id in algorithm_ids:
            if keep is not None and algorithm_id in keep:
                continue
            folder = os.path.join(base, algorithm_id)
            with self._lock:
                for path in [p for p in self._sizes if p.startswith(folder + os.sep)]:
                    del self._sizes[path]
                    gone.append(path)
            shutil.rmtree(folder, ignore_errors=True)
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
        self._released(gone)

    def close(self) -> None:
        """Remove the cache (the server is stopping)."""
        with self._lock:
            root, self._root = self._root, None
            self._sizes.clear()
        if root:
            shutil.rmtree(root, ignore_errors=True)

    # -- internals ------------------------------------------------------------------------
    def _writer(self, dest: str) -> threading.Lock:
        """One writer per folder (others wait, then find it written)."""
        with self._lock:
            lock = self._writing.get(dest)
            if lock is None:
                if len(self._writing) > 4096:
                    self._writing = {k: v for k, v in self._writing.items() if v.locked()}
                lock = self._writing[dest] = threading.Lock()
            return lock

    def _write(self, dest: str, commit: str, write: Callable[[str], str]) -> bool:
        if os.path.isdir(dest):            # written before this cache knew of it (another thread's rename)
            return False
        parent = os.path.dirname(dest)
        self._make_parents(parent)
        staging = tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=parent)
        try:
            written = write(staging)
            self.isolation.seal(written, commit)
            try:
                os.rename(written, dest)
            except OSError:
                if not os.path.isdir(dest):      # another thread may have won the rename
                    raise
                return False
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            _remove_if_empty(parent)                    # the algorithm's folder, then the server's
            _remove_if_empty(os.path.dirname(parent))
            raise
        shutil.rmtree(staging, ignore_errors=True)
        return True

    def _make_parents(self, parent: str) -> None:
        """The folders from the root down to ``parent``, each enterable by the workers' uids."""
        mode = 0o711 if self.isolation.switches_uids else 0o700
        root = self.root
        os.makedirs(parent, exist_ok=True)            # removed from under us: made again
        here = parent
        while True:
            os.chmod(here, mode)
            if here == root:
                break
            here = os.path.dirname(here)

    def _released(self, removed: list[str]) -> None:
        """Tell the isolation about each commit of ``removed`` folders that has no checkout left."""
        with self._lock:
            left = {os.path.basename(p) for p in (*self._sizes, *self._pending)}
        for commit in {os.path.basename(p) for p in removed} - left:
            self.isolation.release_checkout(commit)

    def _make_room(self, size: int) -> tuple[list[str], Optional[str]]:
        """Drop least recently used checkouts until ``size`` more bytes fit (the lock held):
        ``(the folders dropped, why it cannot fit or None)``."""
        if size > self.budget_bytes:
            return [], (f"the commit's files ({size} bytes) do not fit in the checkout cache "
                        f"({self.budget_bytes} bytes, --checkout-cache-mb)")
        used = sum(self._sizes.values())
        dropped = []
        for folder in list(self._sizes):
            if used + size <= self.budget_bytes:
                break
            if folder in self._pending:
                continue
            used -= self._sizes.pop(folder)
            shutil.rmtree(folder, ignore_errors=True)
            dropped.append(folder)
        if used + size > self.budget_bytes:      # the rest is being written right now
            return dropped, (f"the checkout cache is full ({self.budget_bytes} bytes, --checkout-cache-mb): "
                             "try again shortly")
        return dropped, None


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass            # not empty (other checkouts), or gone already

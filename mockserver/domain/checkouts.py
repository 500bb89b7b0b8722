"""The checkout cache: commits written out as folders, for builds to check and calls to run.

A checkout lives at ``<root>/<scope>/<algorithm id>/<commit>``: a scope is one server (the
default one or a sandbox), so its reset and its deletion remove exactly its folders, and
deleting an algorithm removes its own. The cache has a budget in bytes (the files' sizes):
a new checkout first removes the least recently used ones until it fits; one that cannot fit
at all is refused. A folder is written under a scratch name and renamed, so a checkout is
either complete or absent; a failed one leaves nothing behind.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict

from mockserver.errors import CHECKOUT_CACHE_FULL, ApiError
from mockserver.domain.gitlimits import GitLimits
from mockserver.domain.locks import NamedLocks
from mockserver.domain.repository import Repository


class CheckoutCache:
    def __init__(self, root: str, budget_bytes: int):
        self.root = root
        self.budget_bytes = budget_bytes
        os.makedirs(root, exist_ok=True)
        self._lock = threading.Lock()
        self._sizes: "OrderedDict[str, int]" = OrderedDict()    # folder -> bytes, least recently used first
        self._writing = NamedLocks()
        self._pending: set[str] = set()        # reserved, being written: never evicted

    def folder(self, scope: str, algorithm_id: str, commit: str) -> str:
        return os.path.join(self.root, scope, algorithm_id, commit)

    def checkout(self, scope: str, algorithm_id: str, repo: Repository, commit: str,
                 limits: GitLimits | None = None) -> tuple[str, bool]:
        """(the folder of ``commit``, True when it was written now). Raises RepositoryError
        when the commit cannot be checked out within ``limits``, ApiError when it cannot fit."""
        dest = self.folder(scope, algorithm_id, commit)
        with self._writing.hold(dest):
            with self._lock:
                if dest in self._sizes and os.path.isdir(dest):
                    self._sizes.move_to_end(dest)
                    return dest, False
                self._sizes.pop(dest, None)
            size = repo.checkout_size(commit, limits)
            with self._lock:
                self._make_room(size, dest)
                self._sizes[dest] = size            # reserved while it is written
                self._pending.add(dest)
            try:
                repo.checkout(commit, dest, limits)
            except BaseException:
                with self._lock:
                    self._sizes.pop(dest, None)
                raise
            finally:
                with self._lock:
                    self._pending.discard(dest)
            return dest, True

    def used_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def forget(self, scope: str, keep: set[str] | None = None) -> None:
        """Remove a scope's checkouts: all of them, or those of algorithms not in ``keep``."""
        base = os.path.join(self.root, scope)
        try:
            algorithm_ids = os.listdir(base)
        except FileNotFoundError:
            return
        for algorithm_id in algorithm_ids:
            if keep is not None and algorithm_id in keep:
                continue
            folder = os.path.join(base, algorithm_id)
            with self._lock:
                for path in [p for p in self._sizes if p.startswith(folder + os.sep)]:
                    del self._sizes[path]
            shutil.rmtree(folder, ignore_errors=True)
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)

    def _make_room(self, size: int, dest: str) -> None:
        if size > self.budget_bytes:
            raise ApiError(CHECKOUT_CACHE_FULL, f"the commit's files ({size} bytes) do not fit in the checkout cache "
                           f"({self.budget_bytes} bytes, --checkout-cache-mb)")
        used = sum(self._sizes.values())
        for folder in list(self._sizes):
            if used + size <= self.budget_bytes:
                break
            if folder in self._pending:
                continue
            used -= self._sizes.pop(folder)
            shutil.rmtree(folder, ignore_errors=True)
        if used + size > self.budget_bytes:      # the rest is being written right now
            raise ApiError(CHECKOUT_CACHE_FULL, f"the checkout cache is full ({self.budget_bytes} bytes, "
                           "--checkout-cache-mb): try again shortly")

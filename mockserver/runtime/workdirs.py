"""Private, bounded folders of the processes that run untrusted code: their HOME and TMPDIR.

Code that came over HTTP or git gets a fresh folder per process (a warm worker, a checker): its
``HOME`` and ``TMPDIR``, and its working directory when it runs under another uid (then the
folder is that uid's, mode 0700, in a root folder others may enter but not list). Trusted code
(the pytest plugin's, the operator's) keeps the server's environment and is not bounded.

What one such process may write is bounded in two ways that need no privilege (no mount, no
quota support), as root or not:

* **each file** it writes, anywhere: ``RLIMIT_FSIZE`` at the bound (set at the process's boot,
  :mod:`.worker_main`); a write past it fails with ``EFBIG`` ("File too large"; Python ignores
  ``SIGXFSZ``), which the algorithm sees as an exception;
* **its folder in all**: measured after each call and every :data:`WATCH_S` seconds while the
  process lives (disk blocks, at least one 4 KiB block per entry, so a flood of empty files
  counts too). Past the bound the process is killed with its tree, its call fails with an error
  object, and the folder is emptied.

A folder is removed when its process ends (:class:`~.managed.ManagedWorker`), so reset and
shutdown, which stop every worker, remove them too; :meth:`WorkDirs.close` removes the root.
Files written outside the folder (``/tmp``, ``/dev/shm``) are bounded per file only; as root
they belong to the worker's uid and are removed when that uid is recycled or the server stops
(:mod:`.uidfiles`).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import os
import shutil
import stat
import tempfile
import threading
from typing import Optional

log = logging.getLogger("mockserver.runtime")

BLOCK = 4096                 # what one entry costs at least (an inode, a directory block)
WATCH_S = 1.0                # how often live folders are measured while their processes run
DEFAULT_QUOTA = 1024 * 1024 * 1024


def folder_bytes(path: str, limit: Optional[int] = None) -> int:
    """Disk used under ``path`` (blocks, at least :data:`BLOCK` per entry; symlinks not followed).
    Stops counting once past ``limit``."""
    total, stack = 0, [path]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue                      # removed meanwhile, or unreadable
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += max(st.st_blocks * 512, BLOCK)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                if limit is not None and total > limit:
                    return total
    return total


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything in it (symlinks removed, never followed), even folders in it
    that their owner made unreadable: not being root, the server first gives itself back access
    to its own folders (the worker ran as the same user, so this grants nothing new)."""
    if os.geteuid() != 0:
        for here, dirs, _files in os.walk(path):
            for name in dirs:
                inner = os.path.join(here, name)
                try:
                    if not os.path.islink(inner):
                        os.chmod(inner, 0o700)
                except OSError:
                    pass                  # gone, or not ours: rmtree leaves it behind
    shutil.rmtree(path, ignore_errors=True)


class WorkDir:
    """One process's folder. ``overrun``: why its process was stopped (None: within bounds)."""

    def __init__(self, owner: "WorkDirs", path: str, uid: Optional[int]):
        self.owner = owner
        self.path = path
        self.uid = uid
        self.overrun: Optional[str] = None
        self._processes: set = set()      # what to kill when the folder goes past the bound
        self._lock = threading.Lock()

    @property
    def quota(self) -> int:
        return self.owner.quota

    def attach(self, process) -> None:
        with self._lock:
            self._processes.add(process)

    def check(self) -> Optional[str]:
        """Measure the folder: None within the bound; past it, why (also kept as ``overrun``),
        after killing its processes and emptying it."""
        if self.overrun is not None:
            return self.overrun
        used = folder_bytes(self.path, self.quota)
        if used <= self.quota:
            return None
        self.overrun = (f"Algorithm wrote more than {_mib(self.quota)} to its folder (HOME, TMPDIR; "
                        "--worker-disk-mb): its process was stopped and the folder emptied")
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            process.kill()
        self.empty()
        return self.overrun

    def empty(self) -> None:
        try:
            names = os.listdir(self.path)
        except OSError:
            return
        for name in names:
            path = os.path.join(self.path, name)
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass                  # gone already

    def remove(self) -> None:
        """The process ended: the folder goes (idempotent)."""
        with self._lock:
            self._processes.clear()
        self.owner.forget(self)
        if os.path.isdir(self.path):
            remove_tree(self.path)


class WorkDirs:
    """The folders of one server process's untrusted workers and checkers (shared by sandboxes)."""

    def __init__(self, parent: Optional[str] = None, quota_bytes: int = DEFAULT_QUOTA, shared_root: bool = False):
        """``parent``: where the root folder is made (None: the system's temporary folder);
        ``quota_bytes``: what one process may write (0: no bound); ``shared_root``: processes
        run under other uids, so they must be able to enter the root (mode 0711)."""
        self.parent = parent
        self.quota = max(0, int(quota_bytes))
        self.shared_root = shared_root
        self._lock = threading.Lock()
        self._root: Optional[str] = None
        self._live: set[WorkDir] = set()
        self._numbers = itertools.count(1)
        self._watcher: Optional[threading.Thread] = None
        self._closed = threading.Event()

    @property
    def bounded(self) -> bool:
        return self.quota > 0

    @property
    def root(self) -> str:
        with self._lock:
            return self._root_locked()

    def make(self, uid: Optional[int] = None) -> WorkDir:
        """A fresh folder, the ``uid``'s (and its group's) when given, else the server's; mode 0700."""
        with self._lock:
            path = os.path.join(self._root_locked(), str(next(self._numbers)))
            os.mkdir(path, 0o700)
            if uid is not None:
                os.chown(path, uid, uid)
            workdir = WorkDir(self, path, uid)
            self._live.add(workdir)
            if self.bounded and self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="mockserver-workdirs", daemon=True)
                self._watcher.start()
            return workdir

    def forget(self, workdir: WorkDir) -> None:
        with self._lock:
            self._live.discard(workdir)

    def live(self) -> list[WorkDir]:
        with self._lock:
            return list(self._live)

    def close(self) -> None:
        """Remove every folder (the server is stopping)."""
        self._closed.set()
        with self._lock:
            root, self._root = self._root, None
            self._live.clear()
        if root:
            remove_tree(root)

    # -- internals ------------------------------------------------------------------------
    def _root_locked(self) -> str:
        if self._root is None:
            if self.parent:
                os.makedirs(self.parent, exist_ok=True)
            self._root = tempfile.mkdtemp(prefix="algorithmia-mock-workers-", dir=self.parent or None)
            os.chmod(self._root, 0o711 if self.shared_root else 0o700)   # others enter their own, never list
            atexit.register(self.close)
            if self.shared_root and (closed := _closed_ancestor(self._root)):
                log.warning("workers run under other uids but cannot enter %s (mode %o), above their folders in %s: "
                            "their HOME and TMPDIR are unusable (a temporary file then goes to /tmp, bounded per "
                            "file only); choose a --storage-dir other users may enter", closed,
                            os.stat(closed).st_mode & 0o777, self._root)
        return self._root

    def _watch(self) -> None:
        """Measure every live folder each WATCH_S: a process writing past the bound in a long call
        is stopped then, not at the call's end."""
        while not self._closed.wait(WATCH_S):
            for workdir in self.live():
                try:
                    workdir.check()
                except Exception:         # noqa: BLE001 - logged; the other folders are still watched
                    log.exception("measuring the worker folder %s failed", workdir.path)


def _closed_ancestor(path: str) -> Optional[str]:
    """The first folder above ``path`` that other users may not enter (no o+x), or None."""
    here = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            if not os.stat(here).st_mode & stat.S_IXOTH:
                return here
        except OSError:
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"

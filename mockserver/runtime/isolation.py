"""Keeping user code away from the server's secrets and from other algorithms' code.

The server process (:func:`protect_server_process`, at start-up of the ``mockserver`` command
and the WSGI entry): once the ``Settings`` are built its ``MOCKSERVER_*`` variables (control
key, admin key, ...) leave ``os.environ``, and it becomes non-dumpable (:mod:`.hardening`), so
no process of its user reads its /proc ``environ`` (which still holds the variables it started
with), memory, maps or file descriptors. Worker processes make themselves non-dumpable as
they boot, so one worker cannot read another's call keys and secrets either.

Users (:class:`Isolation`): when the server runs as root, code that came over HTTP or git runs
under other uids: every pushed commit's checkout under its own uid and group (the checkout
folder is the server's, group-readable by that group only), code bound over HTTP under one
shared uid. uids come from ``--worker-uids`` (default 50000-59999), skipping any that the
user or group database knows; a checkout's uid is recycled once its commit has no checkout left
in the cache (evicted, its algorithm deleted, a reset) and nothing of the uid remains: no
process, no file (:mod:`.uidfiles`). Every process of untrusted code gets a private folder, its
``HOME`` and ``TMPDIR``, bounded in size (:mod:`.workdirs`). Not root: workers run as the server's user (Docker image:
uid 10001), and docs/security.md says what that leaves readable. Code the pytest plugin or the
operator bound (``Binding.trusted``) runs as the server's user, as it could run in its threads.
"""
from __future__ import annotations

import atexit
import grp
import json
import logging
import os
import pwd
import stat
import subprocess
import sys
import threading
from typing import Iterable, Mapping, NamedTuple, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import BindingError, NoWorkerUid
from mockserver.runtime.childenv import child_environment
from mockserver.runtime.hardening import forbid_inspection
from mockserver.runtime.uidfiles import processes_of, remove_files_of, writable_roots
from mockserver.runtime.workdirs import DEFAULT_QUOTA, WorkDir, WorkDirs

log = logging.getLogger("mockserver.isolation")

DEFAULT_UIDS = range(50000, 60000)
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The folders a worker imports the interpreter, its libraries and this package from: it keeps
# reaching them after it drops root even where other users cannot enter (hardening.become).
INTERPRETER_DIRS = tuple(dict.fromkeys(form(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                         sys.base_exec_prefix, PACKAGE_ROOT)
                                       for form in (os.path.abspath, os.path.realpath)))
_PROBE = ("import sys, json; sys.path.insert(0, sys.argv[1]); from mockserver.runtime import hardening; "
          "hardening.become(int(sys.argv[2]), int(sys.argv[3]), tuple(json.loads(sys.argv[4]))); "
          "import mockserver.runtime.worker, email.mime.text, decimal")
_SHARED = "bound"                       # the identity of every binding set over HTTP


def protect_server_process(prefixes: tuple[str, ...] = ("MOCKSERVER_",)) -> list[str]:
    """Drop the server's settings from its environment and make it non-dumpable. Returns the
    names removed; a kernel that refuses the prctl is logged as a warning, not hidden."""
    names = sorted(name for name in os.environ if name.startswith(prefixes))
    for name in names:
        del os.environ[name]
    try:
        forbid_inspection()
    except OSError as exc:
        log.warning("the server process stays readable by processes of its user (%s): workers may "
                    "read its /proc entries", exc)
    return names


class Identity(NamedTuple):
    """The user a worker process runs as. ``problem``: why it cannot (then no worker starts).

    The worker starts as the server and becomes this user at boot, before any user code
    loads (``hardening.become``): a Python installed where other users cannot enter still
    runs it. ``home`` is its working directory, ``HOME`` and ``TMPDIR``: each process gets a
    folder of its own (:meth:`Isolation.workdir`, then ``identity._replace(home=...)``)."""
    uid: int
    gid: int
    home: str
    problem: Optional[str] = None

    def run_as(self, target: str) -> tuple[tuple, list[int]]:
        """What a worker of ``target`` needs to become this user: the spec's ``run_as`` value
        and the descriptors to pass it (its code's folder, opened by the server, which the
        caller closes once the worker started)."""
        code_dir, fds = None, []
        location = _file_of(target)
        if location is not None:
            folder = os.path.dirname(location)
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                fd = None                    # missing: the worker reports the file missing
            if fd is not None:
                code_dir, fds = (folder, fd), [fd]
        return (self.uid, self.gid, INTERPRETER_DIRS, code_dir), fds

    def cannot_read(self, target: str) -> Optional[str]:
        """Why this user cannot load ``target``'s file, or None. The worker gets its folder (not
        the folders above it), so the folder must let other users in and the file be readable
        by them; a checkout (group-readable by this user's group) always is."""
        location = _file_of(target)
        if location is None:
            return self.problem
        try:
            folder, file = os.stat(os.path.dirname(location)), os.stat(location)
        except OSError:
            return self.problem           # missing: the check says so
        for path, st, bit, what in ((os.path.dirname(location), folder, stat.S_IXOTH | stat.S_IXGRP, "enter"),
                                    (location, file, stat.S_IROTH | stat.S_IRGRP, "read")):
            allowed = bit & (stat.S_IXOTH | stat.S_IROTH) if st.st_gid != self.gid else bit & (stat.S_IXGRP | stat.S_IRGRP)
            if st.st_uid != self.uid and not st.st_mode & allowed:
                return (f"code bound over HTTP runs as uid {self.uid} (the server runs as root), which may not "
                        f"{what} {path}: let other users {what} it (chmod o+{'x' if what == 'enter' else 'r'}), "
                        "or bind it from a start-up fixture (the operator's, run as the server's user)")
        return self.problem


def parse_uid_range(text: str) -> Optional[range]:
    """``auto`` (the default range), ``off`` (None) or ``FIRST-LAST``; ValueError otherwise."""
    value = text.strip().lower()
    if value == "off":
        return None
    if value == "auto":
        return DEFAULT_UIDS
    first, sep, last = value.partition("-")
    if not sep or not first.isdigit() or not last.isdigit() or not 0 < int(first) <= int(last) < 2 ** 31:
        raise ValueError(f"expected auto, off or FIRST-LAST (e.g. 50000-59999), not {text!r}")
    return range(int(first), int(last) + 1)


class Isolation:
    """Who runs a binding's code and with which environment. One per server, shared by its
    sandboxes (a checkout folder is sealed for one uid, whichever sandbox built it)."""

    def __init__(self, uids: Optional[range] = None, passthrough: Iterable[str] = (), *,
                 storage_dir: Optional[str] = None, worker_disk_bytes: int = DEFAULT_QUOTA):
        """``uids``: switch workers of untrusted code to these (None: run them as the server's
        user); ignored, with a warning, when the server is not root. ``storage_dir``: where the
        workers' folders are made (None: the system's temporary folder); ``worker_disk_bytes``:
        what one process of untrusted code may write (0: no bound)."""
        if uids is not None and os.geteuid() != 0:
            log.warning("--worker-uids: the server is not root, so workers run as its own user")
            uids = None
        self.uids = uids
        self.passthrough = tuple(passthrough)
        self.workdirs = WorkDirs(storage_dir, worker_disk_bytes, shared_root=uids is not None)
        self._lock = threading.Lock()
        self._identities: dict[str, Identity] = {}
        self._next = uids.start if uids else 0
        self._recycled: list[int] = []          # uids handed back, ready to be handed out again
        self._released: set[str] = set()        # identities whose checkouts are all gone
        self.recycled = 0
        self._at_exit = False
        self._problem: Optional[str] = None
        self._probed = False

    @classmethod
    def from_settings(cls, worker_uids: str, worker_env: Iterable[str] = (), *, storage_dir: Optional[str] = None,
                      worker_disk_mb: int = DEFAULT_QUOTA >> 20) -> "Isolation":
        """From ``--worker-uids``, ``--worker-env``, ``--storage-dir`` and ``--worker-disk-mb``:
        ``auto`` switches uids only when root."""
        uids = parse_uid_range(worker_uids)
        if worker_uids.strip().lower() == "auto" and os.geteuid() != 0:
            uids = None
        return cls(uids, worker_env, storage_dir=storage_dir, worker_disk_bytes=max(0, worker_disk_mb) << 20)

    @property
    def switches_uids(self) -> bool:
        return self.uids is not None

    @staticmethod
    def trusted(binding: Binding) -> bool:
        """Code the plugin or the operator put there, or the mock's own template."""
        return (binding.trusted or binding.is_callable or binding.is_template) and not binding.checkout

    def identity(self, binding: Binding) -> Optional[Identity]:
        """The user ``binding``'s workers run as; None: the server's own."""
        if self.uids is None or self.trusted(binding):
            return None
        return self._identity(f"checkout:{binding.checkout}" if binding.checkout else _SHARED)

    def workdir(self, binding: Binding, identity: Optional[Identity] = None) -> Optional[WorkDir]:
        """A fresh private folder for one process running ``binding`` (its ``HOME`` and
        ``TMPDIR``, bounded: :mod:`.workdirs`), the ``identity``'s when it runs as another uid;
        None for trusted code, which keeps the server's."""
        if self.trusted(binding) or (identity is not None and identity.problem):
            return None
        return self.workdirs.make(identity.uid if identity is not None else None)

    def environment(self, binding: Binding, extra: Optional[Mapping[str, str]] = None, *, drop: Iterable[str] = (),
                    identity: Optional[Identity] = None, home: Optional[str] = None) -> dict[str, str]:
        """The environment of a process running ``binding`` (:mod:`.childenv`); ``home``: its
        folder (default: the identity's)."""
        if home is None and identity is not None and identity.home:
            home = identity.home
        return child_environment(trusted=self.trusted(binding), extra=extra, passthrough=self.passthrough,
                                 drop=drop, home=home)

    def seal(self, folder: str, commit: str) -> None:
        """Give a checkout of ``commit`` to its uid's group alone: the server owns every file,
        the commit's group may read (folders 0750, files 0640 or 0750), nobody else may enter.
        Not root: nothing to do (the cache folder is the server's, mode 0700). Raises
        :class:`NoWorkerUid` when no uid is free for the commit (none could be recycled)."""
        if self.uids is None:
            return
        identity = self._identity(f"checkout:{commit}")
        if identity.uid < 0:                 # none free: nothing may be left that no worker could read
            raise NoWorkerUid(identity.problem or "no free worker uid")
        gid = identity.gid
        owner = os.geteuid()
        for here, dirs, files in os.walk(folder):
            os.chown(here, owner, gid, follow_symlinks=False)
            os.chmod(here, 0o750)
            for name in files:
                path = os.path.join(here, name)
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode):
                    continue
                os.chown(path, owner, gid, follow_symlinks=False)
                os.chmod(path, 0o750 if st.st_mode & 0o100 else 0o640)

    def release_checkout(self, commit: str) -> None:
        """No checkout of ``commit`` is left (evicted, its algorithm deleted, a reset): its uid
        may be recycled once nothing of it remains. A new checkout of it before then keeps it."""
        with self._lock:
            if f"checkout:{commit}" in self._identities:
                self._released.add(f"checkout:{commit}")

    def close(self) -> None:
        """Remove the workers' folders, and, as root, what their uids wrote elsewhere."""
        with self._lock:
            uids = [i.uid for i in self._identities.values() if i.uid >= 0]
            self._identities.clear()
            self._released.clear()
        remove_files_of(uids, writable_roots())
        self.workdirs.close()

    # -- internals ------------------------------------------------------------------------
    def _identity(self, name: str) -> Identity:
        with self._lock:
            self._released.discard(name)               # checked out again: keeps its uid
            identity = self._identities.get(name)
            if identity is None:
                identity = self._allocate_locked()
                if not self._probed and not identity.problem:
                    self._probed = True
                    self._problem = self._probe(identity)
                    if self._problem:
                        log.warning("%s", self._problem)
                if not identity.problem:                # none free now: maybe one is recycled later
                    self._identities[name] = identity
            return identity._replace(problem=identity.problem or self._problem)

    def _allocate_locked(self) -> Identity:
        assert self.uids is not None
        while self._next < self.uids.stop and id_known(self._next):
            self._next += 1
        if self._next < self.uids.stop:
            uid = self._next
            self._next += 1
            if not self._at_exit:
                self._at_exit = True
                atexit.register(self.close)            # what the uids wrote goes when the server stops
        elif self._recycled or self._recycle_locked():
            uid = self._recycled.pop(0)
        else:
            return Identity(-1, -1, "", f"no free worker uid is left in {self.uids.start}-{self.uids.stop - 1} "
                            "(--worker-uids): each pushed commit that runs takes one, until its checkouts are "
                            "gone and no process of it runs")
        return Identity(uid, uid, "")

    def _recycle_locked(self) -> bool:
        """Hand back the uids of released identities that left nothing behind: no process runs
        as the uid (a warm worker of a gone checkout keeps it until it stops), and every file
        it wrote outside its removed folders is deleted. True when one was recycled."""
        for name in sorted(self._released):
            uid = self._identities[name].uid
            if processes_of(uid):
                continue
            remove_files_of([uid], writable_roots([self.workdirs.root]))
            del self._identities[name]
            self._released.discard(name)
            self._recycled.append(uid)
            self.recycled += 1
            log.info("worker uid %d recycled (%s: no checkout, no process, no file left)", uid, name)
        return bool(self._recycled)

    def _probe(self, identity: Identity) -> Optional[str]:
        """Why a worker cannot become ``identity`` and import what it needs (a container that
        forbids setgroups or setuid, say), or None."""
        if identity.problem:
            return identity.problem
        folder = self.workdirs.make(identity.uid)
        env = child_environment(trusted=False, home=folder.path)
        argv = [sys.executable, "-c", _PROBE, PACKAGE_ROOT, str(identity.uid), str(identity.gid),
                json.dumps(INTERPRETER_DIRS)]
        try:
            done = subprocess.run(argv, env=env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                                  cwd=folder.path)
            if done.returncode == 0:
                return None
            lines = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else f"exit code {done.returncode}"
        except (OSError, subprocess.SubprocessError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        finally:
            folder.remove()
        return (f"workers cannot run as uid {identity.uid} ({why}), so code bound over HTTP or pushed with git "
                "will not run; start the server with --worker-uids off to run that code as the server's user "
                "(not isolated)")


def _file_of(target: str) -> Optional[str]:
    """The file a binding target names, or None (a module, a callable, a bad target)."""
    try:
        kind, location, _ = Binding(target).parse()
    except BindingError:
        return None
    return location if kind == "file" else None


def id_known(uid: int) -> bool:
    """Whether the user or group database knows this id (it may own files)."""
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return True
        except KeyError:
            pass
    return False

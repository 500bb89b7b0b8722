"""What a worker uid leaves behind, found so that the uid can be handed out again (as root).

A uid may be recycled only when nothing of it is left: no process runs as it
(:func:`processes_of`, from /proc) and no file of it remains where it could write
(:func:`remove_files_of`). A worker uid has no supplementary groups and its own group, so it can
create entries only in folders it owns (its private folder, removed with its process) and in
folders anyone may write to (``/tmp``, ``/var/tmp``, ``/dev/shm`` and the like, and any folder it
or another worker made world-writable inside them). Those are walked, bounded, and every entry
owned by the uid or its group is removed (a folder with all it holds).
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from typing import Iterable

WRITABLE_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")
MAX_ENTRIES = 200_000         # a walk looks at no more entries than this (a huge /tmp is not scanned whole)
MAX_DEPTH = 16


def processes_of(uid: int) -> list[int]:
    """The pids of processes whose real, effective, saved or filesystem uid is ``uid``."""
    found = []
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Uid:"):
                        if uid in (int(field) for field in line.split()[1:]):
                            found.append(int(pid))
                        break
        except (OSError, ValueError):
            continue                      # exited meanwhile
    return found


def writable_roots(extra: Iterable[str] = ()) -> list[str]:
    """The folders a worker uid could write to besides its own: the usual world-writable ones,
    the system's temporary folder, and ``extra`` (the workers' root folder)."""
    roots = [*WRITABLE_ROOTS, tempfile.gettempdir(), *extra]
    return list(dict.fromkeys(os.path.realpath(r) for r in roots if r and os.path.isdir(r)))


def remove_files_of(ids: Iterable[int], roots: Iterable[str]) -> int:
    """Remove every entry owned by a user (or group) of ``ids`` (a worker uid's group has its
    number) in ``roots`` and in the world-writable folders below them, in one walk; returns how
    many were removed. Never follows symlinks."""
    ids = frozenset(ids)
    if not ids:
        return 0
    removed, seen = 0, 0
    stack = [(root, 0) for root in roots]
    while stack and seen < MAX_ENTRIES:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid in ids or st.st_gid in ids:
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        continue
                removed += 1
            elif stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IWOTH and depth < MAX_DEPTH:
                stack.append((entry.path, depth + 1))
    return removed

"""Finding and killing a worker's whole process tree (Linux /proc; elsewhere the group only).

A worker runs as the leader of its own session and process group, so one ``killpg`` reaches
the processes it forks. Processes that leave the group (``setsid``/``setpgid``) are still its
descendants: the worker is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so even a
double-forked daemon whose parent exited is re-parented to the worker rather than to init.
:func:`kill_tree` stops the worker's group, then kills every descendant (and its group)
found in /proc, in rounds, before killing the worker itself: killed first, the worker would
hand its orphans to init and they would escape.

Keep it light: imported by every worker process.
"""
from __future__ import annotations

import os
import signal
import sys

_ROUNDS = 4


def _table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, pgid) of every live (not zombie) process visible in /proc."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()     # after "pid (comm) "
        if len(fields) < 3 or fields[0] in (b"Z", b"X"):
            continue
        table[int(name)] = (int(fields[1]), int(fields[2]))
    return table


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """The live descendants of ``pid`` (children first)."""
    table = _table() if table is None else table
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` (a worker leading its own process group) and everything it started."""
    if not pid or pid == os.getpid():
        return
    own_group = os.getpgid(0)
    _signal(pid, signal.SIGSTOP, True)          # the group cannot fork while we look
    if sys.platform.startswith("linux"):
        for _ in range(_ROUNDS):
            table = _table()
            found = descendants(pid, table)
            if not found:
                break
            for child in found:
                _signal(child, signal.SIGSTOP, False)
            for child in found:
                group = table.get(child, (0, 0))[1]
                if group not in (own_group, 0, 1) and group != pid:
                    _signal(group, signal.SIGKILL, True)
                _signal(child, signal.SIGKILL, False)
    _signal(pid, signal.SIGKILL, True)
    _signal(pid, signal.SIGKILL, False)


def become_subreaper() -> str | None:
    """Make orphaned descendants of this process re-parent to it (Linux 3.4+): None when done,
    else why not (the worker reports it to the server, which logs it: without it, a descendant
    that double-forks escapes the kill of the worker's tree)."""
    if not sys.platform.startswith("linux"):
        return f"PR_SET_CHILD_SUBREAPER is Linux-only (this is {sys.platform})"
    try:
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:           # PR_SET_CHILD_SUBREAPER
            errno = ctypes.get_errno()
            return f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(errno)} (errno {errno})"
    except Exception as exc:       # noqa: BLE001 - no libc / no ctypes: reported, not raised
        return f"prctl(PR_SET_CHILD_SUBREAPER) unavailable: {type(exc).__name__}: {exc}"
    return None

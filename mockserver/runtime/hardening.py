"""Making a process unreadable to the other processes of its user (Linux).

``prctl(PR_SET_DUMPABLE, 0)``: the kernel then treats the process like a set-uid program.
Its /proc entries that give away memory or secrets (``environ``, ``mem``, ``maps``,
``smaps``, ``fd``, ``cwd``, ``root``, ``exe``, ``auxv``, ``stack``, ...) belong to root and
refuse every process without ``CAP_SYS_PTRACE``, same uid included; ``ptrace`` attach
(debuggers, py-spy) is refused too, and no core file is written. ``stat``, ``status``,
``statm`` and ``cmdline`` stay readable, as for any process. The process itself still reads
all of its own /proc entries. The flag is reset by ``execve``, so it is set again in every
worker process (worker boot) and in the server at start-up (:mod:`.isolation`).

Keep it light: imported by every worker process.
"""
from __future__ import annotations

import os
import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def forbid_inspection() -> None:
    """Make this process non-dumpable. Raises OSError when the kernel refuses; a no-op off Linux."""
    if sys.platform.startswith("linux") and _prctl(PR_SET_DUMPABLE, 0) != 0:
        import ctypes
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_DUMPABLE, 0) failed: {os.strerror(errno)}")


def inspection_problem() -> "str | None":
    """:func:`forbid_inspection`, as a worker reports its set-up: None when done, else why not
    (the server logs it: other processes of the worker's user may then read its environment)."""
    try:
        forbid_inspection()
    except OSError as exc:
        return (f"prctl(PR_SET_DUMPABLE, 0) unavailable ({exc}): other processes of its user may read its "
                "environment and memory")
    return None


def is_dumpable() -> bool:
    """Whether this process can be inspected by others of its user (True off Linux)."""
    return not sys.platform.startswith("linux") or _prctl(PR_GET_DUMPABLE, 0) != 0


def _prctl(option: int, arg: int) -> int:
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    zero = ctypes.c_ulong(0)
    return libc.prctl(option, ctypes.c_ulong(arg), zero, zero, zero)


# -- running as another user ---------------------------------------------------------------
# A worker of untrusted code starts as the server (root) and becomes its own user before any
# of that code loads (worker boot: spec "run_as"). Where the interpreter lives under a folder
# other users cannot enter (a Python under /root, mode 0700), the folders it imports from are
# opened first and stay reachable through those descriptors (/proc/self/fd/N): the worker may
# read its interpreter, its own code (``code_dir``, a descriptor the server passes) and
# nothing else of the server's.
_moved: dict[str, str] = {}          # unreachable folder -> /proc/self/fd/N that reaches it


def become(uid: int, gid: int, interpreter_dirs: tuple[str, ...], code_dir: "tuple[str, int] | None" = None
           ) -> None:
    """Drop to ``uid``/``gid`` with no supplementary groups and a private umask. Folders of
    ``sys.path`` under ``interpreter_dirs`` and ``code_dir`` (its path and an open descriptor)
    that the user cannot list are reached through descriptors from then on. Raises OSError
    when the kernel refuses a step."""
    held = []
    for index, path in enumerate(sys.path):
        if path and any(path == d or path.startswith(d.rstrip("/") + "/") for d in interpreter_dirs):
            try:
                held.append((path, os.open(path, os.O_RDONLY | os.O_DIRECTORY), index))
            except OSError:
                continue
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.umask(0o077)
    if code_dir is not None:
        held.append((code_dir[0], code_dir[1], None))
    for path, fd, index in held:
        try:
            os.listdir(path)
        except PermissionError:
            _moved[path] = f"/proc/self/fd/{fd}"
            if index is not None:
                sys.path[index] = _moved[path]
            continue
        except OSError:
            pass
        os.close(fd)
    if _moved:
        sys.path_importer_cache.clear()
        for module in list(sys.modules.values()):     # packages imported before the drop
            search = getattr(module, "__path__", None)
            if isinstance(search, list):
                search[:] = [reachable(entry) for entry in search]
    # No prctl needed: the kernel makes a process that changed its uids non-dumpable itself.


def reachable(path: str) -> str:
    """``path`` as this process can reach it after :func:`become` (itself when nothing moved)."""
    for folder, via in _moved.items():
        if path == folder or path.startswith(folder.rstrip("/") + "/"):
            return via + path[len(folder):]
    return path


def reachable_target(target: str) -> str:
    """A binding target ``/path/file.py:function`` with its path made :func:`reachable`."""
    head, sep, tail = target.rpartition(":")
    if sep and head.startswith("/"):
        return reachable(head) + sep + tail
    return target

"""Stack traces as the platform shows them.

An algorithm's trace (``error.stacktrace`` of a call, the import check of a build) holds only
the algorithm's frames, with the paths they have in the platform's container, so a trace names
nothing of the host and two reproducible runs give the same bytes:

==============================================  =============================================
host path                                       shown as
==============================================  =============================================
the algorithm's source root: a repository       ``/opt/algorithm`` (its code is under ``src/``)
checkout (the folder holding ``src/``), else
the folder of a bound file                      ``/opt/algorithm/src``
the interpreter's standard library              ``/usr/local/lib/pythonX.Y``
site-packages (the server's environment)        ``/usr/local/lib/pythonX.Y/site-packages``
any other file                                  ``/opt/algorithm/src/<its name>``
==============================================  =============================================

Frames of the mock itself (the ``mockserver`` package, its bundled fixture algorithms apart)
and of the import machinery (``<frozen importlib...>``) are left out. Messages are rewritten
the same way (an exception that names a file names it as shown).

Imported by worker processes: keep it light (``traceback`` and ``sysconfig`` load on first use).
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Optional

SOURCE_ROOT = "/opt/algorithm"
_PYTHON = f"python{sys.version_info[0]}.{sys.version_info[1]}"
SHOWN_STDLIB = f"/usr/local/lib/{_PYTHON}"
SHOWN_SITE_PACKAGES = f"{SHOWN_STDLIB}/site-packages"
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep     # .../mockserver/
_BUNDLED = _PACKAGE + "_bundled" + os.sep


def source_root(entry_file: str) -> tuple[str, str]:
    """(host folder, shown folder) of the algorithm whose entry file is ``entry_file``: a file
    in a ``src`` folder is a repository's (its parent is ``/opt/algorithm``); any other bound
    file's folder is shown as ``/opt/algorithm/src``."""
    folder = os.path.dirname(os.path.abspath(entry_file))
    if os.path.basename(folder) == "src":
        return os.path.dirname(folder), SOURCE_ROOT
    return folder, SOURCE_ROOT + "/src"


@functools.lru_cache(maxsize=1)
def _host_python_dirs() -> tuple[tuple[str, str], ...]:
    import site
    import sysconfig
    paths = sysconfig.get_paths()
    found: list[tuple[str, str]] = []
    sites = {paths.get("purelib"), paths.get("platlib")}
    try:
        sites.update(site.getsitepackages())
        sites.add(site.getusersitepackages())
    except AttributeError:          # an embedded or virtualenv-less site module
        pass
    for folder in sites:
        if folder:
            found.append((os.path.abspath(folder), SHOWN_SITE_PACKAGES))
    for folder in {paths.get("stdlib"), paths.get("platstdlib")}:
        if folder:
            found.append((os.path.abspath(folder), SHOWN_STDLIB))
    return tuple(found)


class Paths:
    """How one algorithm's host paths are shown (see the module's table)."""

    def __init__(self, entry_file: Optional[str] = None):
        prefixes = list(_host_python_dirs())
        if entry_file:
            prefixes.append(source_root(entry_file))
        self._prefixes: list[tuple[str, str]] = []
        for host, shown in prefixes:
            self._add(host, shown)

    def _add(self, host: str, shown: str) -> None:
        host = host.rstrip(os.sep)
        if len(host) > 1 and all(host != known for known, _ in self._prefixes):
            self._prefixes.append((host, shown))
            # Longest first: the checkout may lie in a folder another prefix covers.
            self._prefixes.sort(key=lambda pair: -len(pair[0]))

    def copy(self) -> "Paths":
        other = Paths.__new__(Paths)
        other._prefixes = list(self._prefixes)
        return other

    @classmethod
    def for_target(cls, target: Optional[str]) -> "Paths":
        """For a binding target ``path/file.py[:func]`` (other targets: no source root)."""
        location = target or ""
        if not location.endswith(".py"):
            location = location.rsplit(":", 1)[0]
        return cls(location if location.endswith(".py") else None)

    def show(self, path: str) -> str:
        """``path`` as the platform shows it."""
        if not path or path.startswith("<"):
            return path
        absolute = os.path.abspath(path)
        for host, shown in self._prefixes:
            if absolute.startswith(host + os.sep):
                return shown + absolute[len(host):].replace(os.sep, "/")
        return f"{SOURCE_ROOT}/src/{os.path.basename(absolute)}"

    def know(self, path: str) -> None:
        """Show ``path``'s folder as ``/opt/algorithm/src`` from now on, unless a known folder holds it."""
        if path and not path.startswith("<") and self.show(path).startswith(SOURCE_ROOT + "/src/") and \
                not any(os.path.abspath(path).startswith(host + os.sep) for host, _ in self._prefixes):
            self._add(os.path.dirname(os.path.abspath(path)), SOURCE_ROOT + "/src")

    def rewrite(self, text: str) -> str:
        """``text`` (a trace, a message, a log) with every known host folder shown as the platform's."""
        for host, shown in self._prefixes:
            if host in text:
                text = text.replace(host + os.sep, shown + "/")
        return text


def is_mock_frame(filename: str) -> bool:
    """A frame of the mock itself or of the import machinery, never the algorithm's."""
    name = filename or ""
    if name.startswith("<frozen "):
        return True
    absolute = os.path.abspath(name) if not name.startswith("<") else name
    return absolute.startswith(_PACKAGE) and not absolute.startswith(_BUNDLED)


def format_exception(exc: BaseException, paths: Optional[Paths] = None) -> str:
    """The formatted traceback of ``exc`` (with its chain): the algorithm's frames only, paths
    shown as the platform's. Files are read under their real names, then renamed in the text."""
    import traceback
    paths = paths.copy() if paths is not None else Paths()
    te = traceback.TracebackException.from_exception(exc)
    seen, todo = set(), [te]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        kept = [frame for frame in link.stack if not is_mock_frame(frame.filename)]
        for frame in kept:
            paths.know(frame.filename)
        link.stack = traceback.StackSummary.from_list(kept)
        if getattr(link, "filename", None):      # a SyntaxError's file
            paths.know(link.filename)
        todo.extend(x for x in (link.__cause__, link.__context__) if x is not None)
    return paths.rewrite("".join(te.format()))

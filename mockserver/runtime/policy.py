"""Which code a binding set over HTTP or in fixtures may name.

Only files under the allowed folders (``--algorithms-dir``; the bundled sandbox algorithms
and the folders of the fixture files given at start-up, ``--fixtures`` and ``--extra-fixtures``
alike) and modules under the allowed
prefixes (``--algorithm-module``). Symlinks and ``..`` are resolved before the check, so a
link inside an allowed folder that points outside it is refused. The platform template is
always allowed. What may run in the server's threads is not a matter of folders: it is the
binding's provenance (``Binding.trusted``: the pytest plugin's ``bind`` and start-up fixtures),
never where its file is; checkouts of pushed commits are never trusted (``Engine``).
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

from mockserver.runtime.binding import Binding
from mockserver.runtime.errors import BindingError


class CodePolicy:
    """``dirs`` and ``modules``: what bindings may name."""

    def __init__(self, dirs: Iterable[str] = (), modules: Iterable[str] = ()):
        self.dirs: list[str] = []
        self.modules: list[str] = []
        self._answers: dict[Binding, Optional[str]] = {}    # no path resolution on every call
        for folder in dirs:
            self.allow_dir(folder)
        for prefix in modules:
            prefix = prefix.strip().strip(".")
            if prefix and prefix not in self.modules:
                self.modules.append(prefix)

    def allow_dir(self, folder: str) -> None:
        real = os.path.realpath(os.path.expanduser(str(folder)))
        if real not in self.dirs:
            self.dirs.append(real)
            self._answers = {}

    def denial(self, binding: Binding) -> Optional[str]:
        """None if the binding may run, else why not."""
        answers = self._answers
        if binding not in answers:
            if len(answers) > 1024:
                answers.clear()
            answers[binding] = self._decide(binding)
        return answers[binding]

    def _decide(self, binding: Binding) -> Optional[str]:
        if binding.is_template:
            return None
        try:
            kind, location, _ = binding.parse()
        except BindingError as exc:
            return exc.message
        if kind == "callable":
            return "callables can only be bound by the pytest plugin, in its own process"
        if kind == "file":
            if _inside(os.path.realpath(location), self.dirs):
                return None
            where = ", ".join(self.dirs) or "none configured"
            return (f"{location} is not under an allowed folder ({where}): bindings may name files in the "
                    "bundled sandbox algorithms, the folders of the --fixtures and --extra-fixtures files given "
                    "at start-up and --algorithms-dir folders; start the server with --algorithms-dir to allow one")
        if any(location == p or location.startswith(p + ".") for p in self.modules):
            return None
        where = ", ".join(self.modules) or "none configured"
        return (f"module {location!r} is not under an allowed module prefix ({where}); "
                "start the server with --algorithm-module to allow one")


def _inside(real_path: str, folders: list[str]) -> bool:
    return any(os.path.commonpath([real_path, d]) == d for d in folders)

"""``/git/...`` requests to the git server, every other request to the API.

The git server (``git_http.py``, with dulwich's smart-HTTP server, the push and pack readers
under it) is imported on the first git request, not at start-up: it adds ~4.6 MB to the
server's resident memory, and most runs never use git (issue 31). Two first git requests at
once may each make a ``GitServer``: it holds only its settings, so either serves alike.
"""
from __future__ import annotations

from typing import Callable, Iterable

from mockserver.memory import MemoryBudget

PREFIX = "/git/"


class GitMiddleware:
    """Sends ``/git/...`` to the git server, everything else to ``app``."""

    def __init__(self, app: Callable, server, max_push_bytes: int, memory: MemoryBudget):
        self.app = app
        self.server = server       # the default sandbox; a sandbox's own comes in the environ
        self.max_push_bytes = max_push_bytes       # a pushed pack, as sent (compressed)
        self.memory = memory       # the process's budget, for pushes (edge/memory_gate.py)
        self._git: Callable | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.app(environ, start_response)
        git = self._git
        if git is None:
            git = self._git = _git_server(self.server, self.max_push_bytes, self.memory)
        return git(environ, start_response)


def _git_server(server, max_push_bytes: int, memory: MemoryBudget) -> Callable:
    from mockserver.edge.git_http import GitServer      # the first git request (see above)
    return GitServer(server, max_push_bytes, memory)

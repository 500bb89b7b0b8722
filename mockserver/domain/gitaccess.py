"""Who may clone or push an algorithm's repository (the git server's rules; edge/git_http.py
speaks the protocol).

Cloning needs the right to read the source: the algorithm's managers, or anyone who can see
it when its ``source_visibility`` is ``open``. Pushing needs management rights and a key
with ``allow_algo_management``; a server with a control key (always the case off loopback)
takes pushes only with that key too, since a push runs the pushed code. A missing or hidden
algorithm is 404, a visible one the caller may not use 403.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from mockserver.errors import GIT_FORBIDDEN, GIT_NOT_FOUND, ApiError
from mockserver.domain import algorithms, orgs
from mockserver.domain.context import Ctx
from mockserver.domain.gitbuilds import repository_of
from mockserver.domain.principal import Principal
from mockserver.domain.repository import Repository

READ, WRITE = "read", "write"


@dataclass(frozen=True)
class GitTarget:
    """The repository a git request works on, as it was when access was granted."""
    owner: str
    name: str
    algorithm_id: str
    repo: Repository

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def open_repository(ctx: Ctx, who: Principal, owner: str, name: str, access: str, *,
                    control_key: str | None = None, presented_key: str | None = None) -> GitTarget:
    """The repository ``who`` may read (``READ``) or push to (``WRITE``); else ApiError.
    ``control_key``: the server's, if it has one; ``presented_key``: what the push sent."""
    with ctx.store.read() as state:
        algo = state.algorithm_named(owner, name)        # without regard to case (docs/behaviour.md)
        if algo is not None:
            owner, name = algo.owner, algo.name          # the stored spelling from here on
        manager = algo is not None and orgs.acts_for(state, who, owner)
        if algo is None or not (manager or algorithms.is_public(algo)):
            raise ApiError(GIT_NOT_FOUND, f"repository not found: {owner}/{name}")
        if access == WRITE:
            if not manager:
                raise ApiError(GIT_FORBIDDEN, f"only the owner of {owner}/{name} (or a member of its organization) "
                               "may push to it")
            if not who.allows("allow_algo_management"):
                raise ApiError(GIT_FORBIDDEN, "this API key lacks allow_algo_management, which pushing needs")
            if control_key is not None and not (presented_key and hmac.compare_digest(
                    presented_key.encode(), control_key.encode())):
                raise ApiError(GIT_FORBIDDEN, "this server takes pushes only with its control key: "
                               'git -c http.extraHeader="X-Mock-Control-Key: KEY" push')
        elif not (manager or algo.settings.get("source_visibility") == "open"):
            raise ApiError(GIT_FORBIDDEN, f"the source of {owner}/{name} is closed: only its owner may clone it")
        return GitTarget(owner, name, algo.id, repository_of(state, algo))

"""Source code managers (seed 001 "SCMs"). The internal SCM always exists."""
from __future__ import annotations

import copy
from typing import Any

from mockserver.errors import (SCM_DEFAULT, SCM_DISABLED, SCM_DUPLICATE, SCM_IN_USE, SCM_INVALID,
                      SCM_DELETE_FAILED, SCM_MALFORMED_UPDATE, SCM_NOT_FOUND, SCM_UPDATE_FAILED, ApiError, Kind)
from mockserver.domain.store import State
from mockserver.domain.context import Ctx
from mockserver.domain.models import Scm

INTERNAL_ID = "internal"
EXTERNAL_PROVIDERS = ("github", "gitlab", "bitbucket", "bitbucket-server")
_URL_KEYS = ("api", "ssh", "web")


def find(state: State, scm_id: str) -> Scm:
    scm = state.scms.get(scm_id)
    if scm is None:
        raise ApiError(SCM_NOT_FOUND, f"The SCM configuration was not found: {scm_id}")
    return scm


def listing(ctx: Ctx) -> list[Scm]:
    """Every SCM (copies), the internal one first."""
    with ctx.store.read() as state:
        ordered = sorted(state.scms.values(), key=lambda s: (s.id != INTERNAL_ID, s.seq))
        return [copy.copy(s) for s in ordered]


def get(ctx: Ctx, scm_id: str) -> Scm:
    with ctx.store.read() as state:
        return copy.copy(find(state, scm_id))


def oauth_status(ctx: Ctx, scm_id: str) -> Scm:
    """The SCM whose OAuth status is asked (render.scm_oauth_status)."""
    return get(ctx, scm_id)


def _check_external(body: dict[str, Any], kind: Kind) -> None:
    provider = body.get("provider")
    if provider is not None and provider not in EXTERNAL_PROVIDERS:
        raise ApiError(kind, f"The provided SCM configuration is invalid: provider must be one of {', '.join(EXTERNAL_PROVIDERS)}, not {provider!r}")
    urls = body.get("urls")
    if urls is not None:
        for key in _URL_KEYS:
            value = urls.get(key)
            if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://", "ssh://", "git@"))):
                raise ApiError(kind, f"The provided SCM configuration is invalid: urls.{key} must be a URL, not {value!r}")


def create(ctx: Ctx, body: dict[str, Any]) -> Scm:
    _check_external(body, SCM_INVALID)
    oauth = body.get("oauth") or {}
    urls = body.get("urls") or {}
    missing = [n for n, v in (("provider", body.get("provider")), ("oauth.client_id", oauth.get("client_id")),
                              ("oauth.client_secret", oauth.get("client_secret")),
                              *((f"urls.{k}", urls.get(k)) for k in _URL_KEYS)) if not v]
    if missing:
        raise ApiError(SCM_INVALID, f"The provided SCM configuration is invalid: missing {', '.join(missing)}")
    with ctx.store.write() as state:
        scm_id = body.get("id") or ctx.ids.uuid()
        for other in state.scms.values():
            same = (other.provider == body["provider"] and other.oauth_client_id == oauth["client_id"]
                    and (other.urls or {}).get("web") == urls["web"])
            if other.id == scm_id or same:
                raise ApiError(SCM_DUPLICATE, f"Duplicate SCM exists that has the same id or matches provider, OAuth client ID, and web URL: {other.id}")
        scm = Scm(id=scm_id, provider=body["provider"], enabled=bool(body.get("enabled", True)), default=False,
                  oauth_client_id=oauth["client_id"], oauth_client_secret=oauth["client_secret"],
                  urls={k: urls[k] for k in _URL_KEYS}, seq=state.next_seq())
        state.put_scm(scm)
        return copy.copy(scm)


def update(ctx: Ctx, scm_id: str, body: dict[str, Any]) -> Scm:
    _check_external(body, SCM_MALFORMED_UPDATE)
    with ctx.store.write() as state:
        scm = find(state, scm_id)
        if scm.id == INTERNAL_ID and any(k in body for k in ("provider", "oauth", "urls")):
            raise ApiError(SCM_UPDATE_FAILED, "Unable to modify the referenced SCM configuration: the internal SCM has no provider, OAuth or URLs to change")
        if body.get("provider") not in (None, scm.provider):
            raise ApiError(SCM_MALFORMED_UPDATE, "Malformed update SCM payload: the provider of an SCM cannot change")
        if body.get("enabled") is False and scm.default:
            raise ApiError(SCM_DEFAULT, "Unable to perform specified action on the default SCM: make another SCM the default before disabling this one")
        if "enabled" in body:
            scm.enabled = bool(body["enabled"])
        if "oauth" in body and body["oauth"]:
            scm.oauth_client_id = body["oauth"].get("client_id", scm.oauth_client_id)
            scm.oauth_client_secret = body["oauth"].get("client_secret", scm.oauth_client_secret)
        if "urls" in body and body["urls"]:
            scm.urls = {**scm.urls, **{k: v for k, v in body["urls"].items() if k in _URL_KEYS}}
        return copy.copy(scm)


def set_default(ctx: Ctx, scm_id: str) -> None:
    with ctx.store.write() as state:
        scm = find(state, scm_id)
        if not scm.enabled:
            raise ApiError(SCM_DISABLED, "Unable to perform specified action on a disabled SCM: enable it before making it the default")
        for other in state.scms.values():
            other.default = other.id == scm_id


def delete(ctx: Ctx, scm_id: str) -> None:
    with ctx.store.write() as state:
        scm = find(state, scm_id)
        if scm.default:
            raise ApiError(SCM_DEFAULT, "Unable to perform specified action on the default SCM: it cannot be deleted")
        if scm.id == INTERNAL_ID:
            raise ApiError(SCM_DELETE_FAILED, "Unable to delete SCM configuration: the internal SCM always exists")
        users = [a.full_name for a in state.algorithms.values() if a.scm_id == scm_id]
        if users:
            raise ApiError(SCM_IN_USE, f"Unable to delete SCM configuration in use by {', '.join(users[:5])}; disable it instead")
        state.drop_scm(scm_id)


def usable(state: State, scm_id: str | None) -> Scm:
    """The SCM a new algorithm is created on: the given one, or the default."""
    if not scm_id:
        for scm in state.scms.values():
            if scm.default:
                return scm
        return state.scms[INTERNAL_ID]
    scm = find(state, scm_id)
    if not scm.enabled:
        raise ApiError(SCM_DISABLED, f"Unable to perform specified action on a disabled SCM: {scm_id}")
    return scm

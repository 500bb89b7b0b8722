"""Algorithm secrets: /v1/algorithms/{algorithm_id}/secrets[/{secret_id}] (the routes
``algorithmia`` 2.0.5's ``set_secret``/``get_secrets`` and the generated client call).

Only the algorithm's managers reach them. Values are write-only: no answer ever carries
one. At run time each secret is the environment variable ``secret_key`` of the call.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import INVALID_REQUEST, SECRET_EXISTS, SECRET_NOT_FOUND, ApiError
from mockserver.domain.algorithm_models import Algorithm, Secret, own_dict
from mockserver.domain.algorithms import find_by_id
from mockserver.domain.context import Ctx
from mockserver.domain.environments import SECRET_PROVIDERS

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_RESERVED_PREFIX = "ALGORITHMIA_"       # the variables the mock itself gives every call
_PROVIDERS = {p.id for p in SECRET_PROVIDERS}
MAX_VALUE_BYTES = 64 * 1024


def environment(algo: Algorithm) -> dict[str, str]:
    """The variables an algorithm's call gets from its secrets."""
    return {s.secret_key: s.secret_value for s in algo.secrets.values()}


def listing(ctx: Ctx, who: Principal, algorithm_id: str) -> list[Secret]:
    with ctx.store.read() as state:
        algo = find_by_id(state, who, algorithm_id)
        return [copy.copy(s) for s in algo.secrets.values()]


def create(ctx: Ctx, who: Principal, algorithm_id: str, body: dict[str, Any]) -> Secret:
    with ctx.store.write() as state:
        algo = find_by_id(state, who, algorithm_id)
        if body.get("owner_type", "algorithm") != "algorithm" or body.get("owner_id", algo.id) != algo.id:
            raise ApiError(INVALID_REQUEST, f"owner_type must be 'algorithm' and owner_id this algorithm's id ({algo.id})")
        provider = body.get("provider_id") or SECRET_PROVIDERS[0].id
        if provider not in _PROVIDERS:
            raise ApiError(INVALID_REQUEST, f"Unknown provider_id {provider!r}; see GET /v1/secret-provider")
        short_name, key, value = body["short_name"], body["secret_key"], body["secret_value"]
        _check(algo, short_name, key, value, None, body.get("description"))
        secret = Secret(id=ctx.ids.uuid(), short_name=short_name, secret_key=key, secret_value=value,
                        value_id=ctx.ids.uuid(), provider_id=provider, description=body.get("description") or "",
                        created_at=(now := ctx.clock.iso()), modified_at=now)
        own_dict(algo, "secrets")[secret.id] = secret
        return copy.copy(secret)


def update(ctx: Ctx, who: Principal, algorithm_id: str, secret_id: str, body: dict[str, Any]) -> Secret:
    with ctx.store.write() as state:
        algo = find_by_id(state, who, algorithm_id)
        secret = _find(algo, secret_id)
        short_name = body.get("short_name") or secret.short_name
        key = body.get("secret_key") or secret.secret_key
        value = body.get("secret_value")
        _check(algo, short_name, key, secret.secret_value if value is None else value, secret.id,
               body.get("description"))
        secret.short_name, secret.secret_key = short_name, key
        if body.get("description") is not None:
            secret.description = body["description"]
        if value is not None:
            secret.secret_value, secret.value_id = value, ctx.ids.uuid()
        secret.modified_at = ctx.clock.iso()
        return copy.copy(secret)


def delete(ctx: Ctx, who: Principal, algorithm_id: str, secret_id: str) -> None:
    with ctx.store.write() as state:
        algo = find_by_id(state, who, algorithm_id)
        del algo.secrets[_find(algo, secret_id).id]


def _find(algo: Algorithm, secret_id: str) -> Secret:
    secret = algo.secrets.get(secret_id)
    if secret is None:
        raise ApiError(SECRET_NOT_FOUND, f"No secret {secret_id} on algorithm {algo.full_name}")
    return secret


def _check(algo: Algorithm, short_name: str, key: str, value: str, own_id: str | None,
           description: str | None) -> None:
    for field, text in (("short_name", short_name), ("secret_value", value), ("description", description or "")):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(INVALID_REQUEST, f"{field} is not valid Unicode (a lone surrogate)") from None
    if not short_name.strip():
        raise ApiError(INVALID_REQUEST, "short_name must not be empty")
    if not _ENV_NAME.fullmatch(key) or key.upper().startswith(_RESERVED_PREFIX):
        raise ApiError(INVALID_REQUEST, f"secret_key {key!r} must be an environment variable name (letters, digits, "
                       f"underscores; not starting with a digit) that does not start with {_RESERVED_PREFIX}")
    if "\0" in value or len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ApiError(INVALID_REQUEST, f"secret_value must be at most {MAX_VALUE_BYTES} bytes with no NUL character")
    for other in algo.secrets.values():
        if other.id != own_id and (other.short_name == short_name or other.secret_key == key):
            raise ApiError(SECRET_EXISTS, f"Algorithm {algo.full_name} already has a secret named {short_name!r} "
                           f"or using secret_key {key!r}")

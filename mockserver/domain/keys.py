"""API keys: the credentials principals are resolved from."""
from __future__ import annotations

import copy
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import ApiError, REQUEST_INVALID, not_authorized
from mockserver.domain.store import State
from mockserver.domain.context import Ctx
from mockserver.domain.models import KEY_TYPES, PERMISSION_NAMES, ApiKey, full_permissions
from mockserver.domain.users import find as find_user


def permissions_from(body: dict[str, Any] | None, key_type: str) -> dict[str, Any]:
    base = full_permissions()
    if key_type == "AlgorithmKey":   # a key for calling algorithms, not for managing them
        base.update(allow_algo_management=False)
    base.update({k: v for k, v in (body or {}).items() if k in PERMISSION_NAMES or k == "algo_acl"})
    return base


def add(state: State, ctx: Ctx, owner: str | None, *, label: str = "", key_type: str = "ManagementKey",
        permissions: dict[str, Any] | None = None, secret: str | None = None,
        algorithm: str | None = None) -> ApiKey:
    if key_type not in KEY_TYPES:
        raise ApiError(REQUEST_INVALID, f"key_type must be one of {', '.join(KEY_TYPES)}")
    key = ApiKey(api_key=secret or ctx.ids.api_key(), id=ctx.ids.uuid(), owner=owner, key_label=label,
                 key_type=key_type, permissions=permissions_from(permissions, key_type),
                 created_at=ctx.clock.iso(), seq=state.next_seq(), algorithm=algorithm)
    state.put_key(key)
    return key


def create(ctx: Ctx, who: Principal, username: str, body: dict[str, Any]) -> ApiKey:
    key_type = body.get("key_type") or "ManagementKey"
    if not who.is_admin and (who.username != username or key_type == "PlatformAdminKey"):
        raise not_authorized("Caller is not authorized to create this key")
    with ctx.store.write() as state:
        find_user(state, username)
        key = add(state, ctx, username, label=body.get("key_label") or "", key_type=key_type,
                  permissions=body.get("permissions"))
        return copy.deepcopy(key)


def listing(ctx: Ctx, who: Principal, username: str) -> list[ApiKey]:
    """A bare array, oldest first: the generated client reads ``list[ApiKey]``."""
    if not who.is_admin and who.username != username:
        raise not_authorized("Caller is not authorized to list another user's keys")
    with ctx.store.read() as state:
        find_user(state, username)
        mine = sorted((k for k in state.keys_of(username) if k.algorithm is None), key=lambda k: k.seq)
        return [copy.deepcopy(k) for k in mine]

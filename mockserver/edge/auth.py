"""Who is calling: the Authorization header resolved to a principal.

Accepted forms: ``Simple KEY`` (docs, Node.js), a bare ``KEY`` (the Python
client) and ``Bearer KEY`` (the Python client with a bearer token).
"""
from __future__ import annotations

from mockserver.domain.principal import Principal
from mockserver.errors import AUTHORIZATION_REQUIRED, INVALID_API_KEY, NOT_AUTHORIZED, ApiError
from mockserver.domain.store import Store

_SCHEMES = ("simple", "bearer")


def key_from_header(header: str | None) -> str | None:
    if not header or not header.strip():
        return None
    parts = header.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() in _SCHEMES:
        return parts[1].strip()
    return parts[0] if len(parts) == 1 else header.strip()


def resolve(store: Store, header: str | None) -> Principal | None:
    """The caller, None when no key was sent; ApiError 2002 for an unknown key."""
    secret = key_from_header(header)
    if secret is None:
        return None
    with store.read() as state:
        key = state.keys.get(secret) or store.call_keys.get(state, secret)   # a running call's own key
    if key is None:
        raise ApiError(INVALID_API_KEY, "Unknown or invalid API key")
    return Principal(key)


def enforce(access: str, permission: str | None, principal: Principal | None) -> None:
    """The access level an operation declares in the spec (x-mock-access / x-mock-permission)."""
    if access == "public":
        return
    if principal is None:
        raise ApiError(AUTHORIZATION_REQUIRED, "Authorization required: send 'Authorization: Simple YOUR_API_KEY'")
    if access == "admin" and not principal.is_admin:
        raise ApiError(NOT_AUTHORIZED, "Caller is not authorized to perform the operation: an admin API key is required")
    if permission:
        principal.require(permission)

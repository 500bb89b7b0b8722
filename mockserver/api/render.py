"""The wire form of what the domain returns: field selection and links.

The domain answers with its objects (copies taken under the store's lock); handlers
render them here, with links built on the request's base URL (``common.base_url()``).
Field order is the wire order.
"""
from __future__ import annotations

from typing import Any

from mockserver.domain.models import PERMISSION_NAMES, ApiKey, Membership, Organization, User, full_permissions
from mockserver.domain.orgs import DEFAULT_TYPE


def user(u: User, base_url: str) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "email": u.email,
            "fullname": u.fullname, "company_name": u.company_name,
            "company_role": u.company_role, "resource_type": "user",
            "self_link": f"{base_url}/v1/users/{u.username}"}


def org(o: Organization, base_url: str) -> dict[str, Any]:
    return {"org_name": o.org_name, "org_label": o.org_label,
            "org_contact_name": o.org_contact_name, "org_email": o.org_email,
            "org_url": o.org_url, "type_id": o.type_id or DEFAULT_TYPE,
            "resource_type": "organization", "self_link": f"{base_url}/v1/organizations/{o.org_name}",
            "owner_ids": o.owners()}


def member(m: Membership, base_url: str) -> dict[str, Any]:
    return {"username": m.username, "role": m.role,
            "user_link": f"{base_url}/v1/users/{m.username}", "resource_type": "organization_member"}


def mask(secret: str) -> str:
    return secret[:3] + "*" * max(len(secret) - 7, 4) + secret[-4:]


def key(k: ApiKey, *, reveal: bool) -> dict[str, Any]:
    """An API key; its secret in full only in the answer that created it."""
    perms = {**full_permissions(), **k.permissions}
    return {"username": k.owner or "", "owner_name": k.owner or "",
            "key_label": k.key_label, "created_at": k.created_at,
            "api_key_mask": mask(k.api_key),
            "api_key": k.api_key if reveal else mask(k.api_key),
            "key_type": k.key_type,
            "permissions": {**{n: bool(perms.get(n)) for n in PERMISSION_NAMES},
                            "algo_acl": list(perms.get("algo_acl") or [])}}

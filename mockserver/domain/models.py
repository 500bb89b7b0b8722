"""Records of the admin resources: users, API keys, organizations, SCMs.

Plain dataclasses; the rules that change them live in the sibling modules.
Algorithm, build and version records live in ``algorithm_models``; data in
``data_models``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PERMISSION_NAMES = ("allow_algo", "allow_data", "allow_data_write",
                    "allow_algo_management", "allow_web_algo")
KEY_TYPES = ("ManagementKey", "AlgorithmKey", "PlatformAdminKey")


def full_permissions() -> dict[str, Any]:
    return {**{name: True for name in PERMISSION_NAMES}, "algo_acl": ["*"]}


@dataclass
class User:
    username: str
    email: str
    fullname: str
    id: str
    company_name: str | None = None
    company_role: str | None = None
    created_at: str = ""
    seq: int = 0


@dataclass
class ApiKey:
    api_key: str
    id: str
    owner: str | None           # username; None for a platform admin key with no user
    key_label: str = ""
    key_type: str = "ManagementKey"
    permissions: dict[str, Any] = field(default_factory=full_permissions)
    created_at: str = ""
    seq: int = 0
    # A key the runtime hands to a running algorithm ("algo://owner/name"): it may
    # read collections whose ACL is algo://.my/*.
    algorithm: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.key_type == "PlatformAdminKey"

    def allows(self, permission: str) -> bool:
        return self.is_admin or bool(self.permissions.get(permission, False))


@dataclass
class Organization:
    org_name: str
    org_label: str
    org_contact_name: str
    org_email: str
    id: str
    org_url: str | None = None
    type_id: str | None = None
    created_at: str = ""                 # answered as org_created_at
    seq: int = 0
    members: dict[str, str] = field(default_factory=dict)   # username -> owner|member, insertion ordered
    external_id: str | None = None       # an outside system's id for it, kept as sent

    def owners(self) -> list[str]:
        return [u for u, role in self.members.items() if role == "owner"]


@dataclass
class Scm:
    id: str
    provider: str
    enabled: bool = True
    default: bool = False
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    urls: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    # OAuth status as GET /v1/scms/{id}/oauth/status reports it.
    oauth_status: str = "unauthorized"


def internal_scm() -> Scm:
    """The platform's own SCM: always present, the default until another is made so."""
    return Scm(id="internal", provider="internal", enabled=True, default=True)


@dataclass(frozen=True)
class Membership:
    """One member of an organization, as the member routes answer it."""
    org_name: str
    username: str
    role: str

"""Who is calling, as the domain sees it: the API key a request was resolved to.

The HTTP edge (``edge/auth.py``) turns an Authorization header into a Principal; the
domain only reads it.
"""
from __future__ import annotations

from dataclasses import dataclass

from mockserver.domain.models import ApiKey
from mockserver.errors import NOT_AUTHORIZED, ApiError


@dataclass(frozen=True)
class Principal:
    key: ApiKey

    @property
    def username(self) -> str | None:
        return self.key.owner

    @property
    def is_admin(self) -> bool:
        return self.key.is_admin

    def allows(self, permission: str) -> bool:
        return self.key.allows(permission)

    def require(self, permission: str) -> None:
        if not self.allows(permission):
            raise ApiError(NOT_AUTHORIZED, f"Caller is not authorized to perform the operation: the API key lacks {permission}")

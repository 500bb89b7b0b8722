"""Organizations and their members (seed 001 "Organizations", "Organization Members")."""
from __future__ import annotations

import dataclasses
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import (LAST_OWNER, MALFORMED_ORG, MEMBER_NOT_FOUND, ORG_EXISTS, ORG_NOT_FOUND,
                               ORG_USER_RESERVATION_FAILED, ApiError, not_authorized)
from mockserver.pagination import Page, paginate, sorted_dict_source, sorted_source
from mockserver.domain.store import State
from mockserver.domain.context import Ctx
from mockserver.domain.models import Membership, Organization
from mockserver.domain.names import check_email, check_name
from mockserver.domain.users import find as find_user


@dataclasses.dataclass(frozen=True)
class OrgType:
    id: str
    name: str


# GET /v1/organization/types: ids are stable so fixtures and clients can name them.
ORG_TYPES = (OrgType("7f0a3c2e-5d0b-4b0e-9a51-000000000001", "legacy"),
             OrgType("7f0a3c2e-5d0b-4b0e-9a51-000000000002", "basic"),
             OrgType("7f0a3c2e-5d0b-4b0e-9a51-000000000003", "pro"))
_TYPE_IDS = {t.id for t in ORG_TYPES}
_TYPE_BY_NAME = {t.name: t.id for t in ORG_TYPES}
DEFAULT_TYPE = _TYPE_BY_NAME["basic"]
_REQUIRED = ("org_name", "org_label", "org_contact_name", "org_email")
_EDITABLE = ("org_label", "org_contact_name", "org_email", "org_url", "external_id")
ROLES = ("owner", "member")


def _copy(org: Organization) -> Organization:
    """What a caller may keep after the lock is released."""
    return dataclasses.replace(org, members=dict(org.members))


def find(state: State, org_name: str) -> Organization:
    org = state.orgs.get(org_name)
    if org is None:
        raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
    return org


def is_member(state: State, org_name: str, username: str | None) -> bool:
    org = state.orgs.get(org_name)
    return bool(org and username in org.members)


def acts_for(state: State, who: Principal, owner: str) -> bool:
    """Whether the caller may act for ``owner`` (a user or an organization): admins, that
    user, or a member of that organization. Managing algorithms, writing data and seeing
    an algorithm's stdout and stack traces all follow this one rule."""
    key = who.key                   # Principal.is_admin and .username, read once (every request)
    if key.is_admin:
        return True
    username = key.owner
    if username is None:
        return False
    if username == owner:
        return True
    org = state.orgs.get(owner)
    return org is not None and username in org.members


def _type_id(value: Any) -> str:
    if value in (None, ""):
        return DEFAULT_TYPE
    if value in _TYPE_IDS:
        return value
    if value in _TYPE_BY_NAME:       # accept the type's name too
        return _TYPE_BY_NAME[value]
    raise ApiError(MALFORMED_ORG, f"Malformed organization JSON in request: unknown type_id {value!r}; see GET /v1/organization/types")


def _can_manage(state: State, who: Principal, org: Organization) -> bool:
    return who.is_admin or org.members.get(who.username or "") == "owner"


def create(ctx: Ctx, who: Principal, body: dict[str, Any]) -> Organization:
    missing = [f for f in _REQUIRED if not (isinstance(body.get(f), str) and body[f].strip())]
    if missing:
        raise ApiError(MALFORMED_ORG, f"Malformed organization JSON in request: missing {', '.join(missing)}")
    name = check_name(body["org_name"], "org_name", MALFORMED_ORG)
    check_email(body["org_email"], MALFORMED_ORG)
    with ctx.store.write() as state:
        taken = state.owner_named(name)              # names are unique without regard to case
        if taken in state.orgs:
            raise ApiError(ORG_EXISTS, f"An organization already exists with this name: {taken}")
        if taken in state.users:
            raise ApiError(ORG_USER_RESERVATION_FAILED, f"Failed to reserve an organization user while adding an organization: {taken} is a username")
        org = Organization(org_name=name, org_label=body["org_label"], org_contact_name=body["org_contact_name"],
                           org_email=body["org_email"], org_url=body.get("org_url"), id=ctx.ids.uuid(),
                           type_id=_type_id(body.get("type_id")), created_at=ctx.clock.iso(), seq=state.next_seq(),
                           external_id=body.get("external_id"))
        state.put_org(org)
        if who.username and who.username in state.users:
            state.put_member(name, who.username, "owner")
        return _copy(org)


def listing(ctx: Ctx, who: Principal, **page: Any) -> Page:
    with ctx.store.read() as state:
        if who.is_admin:
            source = sorted_dict_source(state.orgs)
        else:   # a user's own organizations: few, filtered then sorted
            source = sorted_source(state.orgs_of(who.username or ""), key=lambda o: o.org_name)
        return paginate(source, list_id="orgs", render=_copy, **page)


def get(ctx: Ctx, who: Principal, org_name: str) -> Organization:
    with ctx.store.read() as state:
        org = find(state, org_name)
        if not (who.is_admin or who.username in org.members):
            raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
        return _copy(org)


def update(ctx: Ctx, who: Principal, org_name: str, body: dict[str, Any]) -> Organization:
    if body.get("org_name") not in (None, org_name):
        raise ApiError(MALFORMED_ORG, f"Malformed organization JSON in request: org_name {body['org_name']!r} does not match the path ({org_name}); organizations cannot be renamed")
    with ctx.store.write() as state:
        org = find(state, org_name)
        if not _can_manage(state, who, org):
            raise not_authorized("Only an owner of the organization or an admin may update it")
        type_id = _type_id(body["type_id"]) if "type_id" in body else org.type_id
        changes = {f: body[f] for f in _EDITABLE if f in body}
        for field in _REQUIRED[1:]:
            if field in changes and not (isinstance(changes[field], str) and changes[field].strip()):
                raise ApiError(MALFORMED_ORG, f"Malformed organization JSON in request: {field} cannot be empty")
        if "org_email" in changes:
            check_email(changes["org_email"], MALFORMED_ORG)
        for field, value in changes.items():
            setattr(org, field, value)
        org.type_id = type_id
        return _copy(org)


def delete(ctx: Ctx, org_name: str) -> None:
    with ctx.store.write() as state:
        find(state, org_name)
        state.drop_org(org_name)           # with memberships, algorithms and data


def members(ctx: Ctx, who: Principal, org_name: str, **page: Any) -> Page:
    """A page of Memberships, in the order members joined."""
    with ctx.store.read() as state:
        org = find(state, org_name)
        if not (who.is_admin or who.username in org.members):
            raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
        order = {u: i for i, u in enumerate(org.members)}
        return paginate(sorted_source(list(org.members), key=lambda u: order[u]), list_id=f"members:{org_name}",
                        render=lambda u: Membership(org_name, u, org.members[u]), **page)


def member(ctx: Ctx, who: Principal, org_name: str, username: str) -> Membership:
    with ctx.store.read() as state:
        org = find(state, org_name)
        if not (who.is_admin or who.username in org.members):
            raise ApiError(ORG_NOT_FOUND, f"The requested organization was not found: {org_name}")
        if username not in org.members:
            raise ApiError(MEMBER_NOT_FOUND, f"The requested user was not found in organization {org_name}: {username}")
        return Membership(org_name, username, org.members[username])


def put_member(ctx: Ctx, who: Principal, org_name: str, username: str, role: str | None) -> None:
    """Add a member, or change a member's role (role defaults to member for a newcomer)."""
    if role is not None and role not in ROLES:
        raise ApiError(MALFORMED_ORG, f"role must be one of {', '.join(ROLES)}, not {role!r}")
    with ctx.store.write() as state:
        org = find(state, org_name)
        if not _can_manage(state, who, org):
            raise not_authorized("Only an owner of the organization or an admin may change its members")
        find_user(state, username)
        new_role = role or org.members.get(username, "member")
        if org.members.get(username) == "owner" and new_role != "owner" and org.owners() == [username]:
            raise ApiError(LAST_OWNER, f"Unable to remove the last owner of an organization: {username} is the only owner of {org_name}")
        state.put_member(org_name, username, new_role)


def remove_member(ctx: Ctx, who: Principal, org_name: str, username: str) -> None:
    with ctx.store.write() as state:
        org = find(state, org_name)
        if not (_can_manage(state, who, org) or who.username == username):
            raise not_authorized("Only an owner of the organization or an admin may remove members")
        if username not in org.members:
            raise ApiError(MEMBER_NOT_FOUND, f"The requested user was not found in organization {org_name}: {username}")
        if org.owners() == [username]:
            raise ApiError(LAST_OWNER, f"Unable to remove the last owner of an organization: {username} is the only owner of {org_name}")
        state.drop_member(org_name, username)

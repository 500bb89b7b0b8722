"""Users: create, list, get, update, delete (seed 001 "Users")."""
from __future__ import annotations

import copy
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import (EMAIL_CHANGE, EMAIL_TAKEN, LAST_OWNER, MALFORMED_USER, MISSING_FIELDS,
                      USER_NOT_FOUND, USERNAME_MISMATCH, USERNAME_TAKEN, ApiError, not_authorized)
from mockserver.pagination import Page, paginate, sorted_dict_source
from mockserver.domain.store import State
from mockserver.domain.context import Ctx
from mockserver.domain.models import User
from mockserver.domain.names import check_email, check_name

_REQUIRED = ("username", "email", "fullname")


def find(state: State, username: str) -> User:
    user = state.users.get(username)
    if user is None:
        raise ApiError(USER_NOT_FOUND, f"The requested user was not found: {username}")
    return user


def _required(body: dict[str, Any]) -> None:
    missing = [f for f in _REQUIRED if not (isinstance(body.get(f), str) and body[f].strip())]
    if missing:
        raise ApiError(MISSING_FIELDS, f"Not all required fields have been provided: missing {', '.join(missing)}")


def _email_owner(state: State, email: str) -> str | None:
    return state.emails.get(email.casefold())


def create(ctx: Ctx, body: dict[str, Any]) -> User:
    _required(body)
    username = check_name(body["username"], "username", MALFORMED_USER)
    check_email(body["email"], MALFORMED_USER)
    with ctx.store.write() as state:
        taken = state.owner_named(username)          # names are unique without regard to case
        if taken is not None:
            raise ApiError(USERNAME_TAKEN, f"The username is already taken: {taken}")
        if _email_owner(state, body["email"]):
            raise ApiError(EMAIL_TAKEN, f"The email address is already taken by a different username: {body['email']}")
        user = User(username=username, email=body["email"], fullname=body["fullname"],
                    id=ctx.ids.uuid(), company_name=body.get("company_name"),
                    company_role=body.get("company_role"), created_at=ctx.clock.iso(),
                    seq=state.next_seq())
        state.put_user(user)
        return copy.copy(user)


def get(ctx: Ctx, who: Principal, username: str) -> User:
    if not who.is_admin and who.username != username:
        raise not_authorized("Caller is not authorized to read another user")
    with ctx.store.read() as state:
        return copy.copy(find(state, username))


def listing(ctx: Ctx, **page: Any) -> Page:
    """A page of users (copies), by username."""
    with ctx.store.read() as state:
        return paginate(sorted_dict_source(state.users), list_id="users",
                        render=copy.copy, **page)


def update(ctx: Ctx, username: str, body: dict[str, Any]) -> User:
    _required(body)
    if body["username"] != username:
        raise ApiError(USERNAME_MISMATCH, f"The username in the request body ({body['username']}) does not match the username in the request path ({username})")
    with ctx.store.write() as state:
        user = find(state, username)
        if body["email"].casefold() != user.email.casefold():
            raise ApiError(EMAIL_CHANGE, "Updating the email of a user is not allowed")
        user.fullname = body["fullname"]
        for field in ("company_name", "company_role"):
            if field in body:
                setattr(user, field, body[field])
        return copy.copy(user)


def delete(ctx: Ctx, username: str) -> None:
    with ctx.store.write() as state:
        find(state, username)
        sole_owner_of = [o.org_name for o in state.orgs_of(username) if o.owners() == [username]]
        if sole_owner_of:
            raise ApiError(LAST_OWNER, f"Unable to remove the last owner of an organization: {username} is the only owner of {', '.join(sole_owner_of)}")
        state.drop_user(username)          # with keys, memberships, algorithms and data

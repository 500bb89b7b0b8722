"""Users, API keys, organizations, members and SCMs."""
from __future__ import annotations

from mockserver.domain import keys, orgs, scms, users
from mockserver.api import render
from mockserver.web.handlers import Handlers
from mockserver.api.common import base_url, caller, ctx, no_content, ok, page_args, paged

ops = Handlers()


# -- users --------------------------------------------------------------------
@ops("createUser")
def create_user(inp):
    return ok(render.user(users.create(ctx(), inp.body), base_url()))


@ops("listUsers")
def list_users(inp):
    return paged(users.listing(ctx(), **page_args()), render.user)


@ops("getUser")
def get_user(inp):
    return ok(render.user(users.get(ctx(), caller(), inp.path["username"]), base_url()))


@ops("updateUser")
def update_user(inp):
    return ok(render.user(users.update(ctx(), inp.path["username"], inp.body), base_url()))


@ops("deleteUser")
def delete_user(inp):
    users.delete(ctx(), inp.path["username"])
    return no_content()


# -- API keys -----------------------------------------------------------------
@ops("createUserKey", "adminCreateUserKey")
def create_key(inp):
    return ok(render.key(keys.create(ctx(), caller(), inp.path["username"], inp.body or {}), reveal=True))


@ops("listUserKeys")
def list_keys(inp):
    return ok([render.key(k, reveal=False) for k in keys.listing(ctx(), caller(), inp.path["username"])])


# -- organizations ------------------------------------------------------------
@ops("createOrganization")
def create_org(inp):
    return ok(render.org(orgs.create(ctx(), caller(), inp.body), base_url()))


@ops("listOrganizations")
def list_orgs(inp):
    return paged(orgs.listing(ctx(), caller(), **page_args()), render.org)


@ops("getOrganization")
def get_org(inp):
    return ok(render.org(orgs.get(ctx(), caller(), inp.path["org_name"]), base_url()))


@ops("updateOrganization")
def update_org(inp):
    orgs.update(ctx(), caller(), inp.path["org_name"], inp.body or {})
    return no_content()


@ops("deleteOrganization")
def delete_org(inp):
    orgs.delete(ctx(), inp.path["org_name"])
    return no_content()


@ops("listOrganizationMembers")
def list_members(inp):
    return paged(orgs.members(ctx(), caller(), inp.path["org_name"], **page_args()), render.member)


@ops("getOrganizationMember")
def get_member(inp):
    return ok(render.member(orgs.member(ctx(), caller(), inp.path["org_name"], inp.path["username"]), base_url()))


@ops("addOrganizationMember")
def put_member(inp):
    role = (inp.body or {}).get("role") if isinstance(inp.body, dict) else None
    orgs.put_member(ctx(), caller(), inp.path["org_name"], inp.path["username"], role)
    return no_content()


@ops("removeOrganizationMember")
def remove_member(inp):
    orgs.remove_member(ctx(), caller(), inp.path["org_name"], inp.path["username"])
    return no_content()


# -- SCMs ---------------------------------------------------------------------
@ops("listScms")
def list_scms(inp):
    return ok({"results": [render.scm(s) for s in scms.listing(ctx())]})


@ops("getScm")
def get_scm(inp):
    return ok(render.scm(scms.get(ctx(), inp.path["scm_id"])))


@ops("getScmOAuthStatus")
def scm_oauth_status(inp):
    return ok(render.scm_oauth_status(scms.oauth_status(ctx(), inp.path["scm_id"])))


@ops("createScm")
def create_scm(inp):
    return ok(render.scm(scms.create(ctx(), inp.body)))


@ops("updateScm")
def update_scm(inp):
    return ok(render.scm(scms.update(ctx(), inp.path["scm_id"], inp.body or {})))


@ops("setDefaultScm")
def set_default_scm(inp):
    scms.set_default(ctx(), inp.path["scm_id"])
    return no_content()


@ops("deleteScm")
def delete_scm(inp):
    scms.delete(ctx(), inp.path["scm_id"])
    return no_content()

"""Drives the mock with the generated client, algorithmia-api-client 1.5.1 or 1.5.5.

Run in a subprocess: python this.py URL ADMIN USER VERSION, with that version first on
sys.path (1.5.1 is the one algorithmia 2.0.5 pins, in the test environment; 1.5.5 cannot share
that environment and comes from a ``pip --target`` folder on PYTHONPATH). 1.5.1 has one
``DefaultApi``; 1.5.5 splits it into one class per tag and adds secrets and key import.
Every call deserializes the answer into the client's models, which validate required fields
and enums; any exception fails the run.
"""
import json
import sys
import urllib.request
from importlib import metadata

import algorithmia_api_client as g

url, admin_key, user_key, version = sys.argv[1:5]
assert metadata.version("algorithmia-api-client") == version, (metadata.version("algorithmia-api-client"), version)
# the packages' own __version__ strings: 1.5.1 says 1.3.1, 1.5.5 says 1.6.0
assert g.__version__ == {"1.5.1": "1.3.1", "1.5.5": "1.6.0"}[version], g.__version__
SPLIT = version != "1.5.1"


def api(key, validate=True):
    # 1.5.1's paths have no /v1 (its default host ends in /v1, as algorithmia 2.0.5 sets it)
    config = g.Configuration(host=url if SPLIT else f"{url}/v1")
    config.api_key["Authorization"] = f"Simple {key}"
    config.client_side_validation = validate
    # A few operations (PUT /v1/organizations/{org}, POST /v1/admin/users/{u}/keys)
    # carry no auth settings in this client (the console uses a session cookie):
    # a default header is the client's own way to authenticate them.
    return g.ApiClient(config, header_name="Authorization", header_value=f"Simple {key}")


def tagged(name, client):
    """1.5.5's per-tag API class, or 1.5.1's DefaultApi (the same method names)."""
    return getattr(g, name)(client) if SPLIT else g.DefaultApi(client)


admin, user = api(admin_key), api(user_key)


def paged(call, *args, **kwargs):
    """The generator merged every paged item type into PagedResultListObjects and made
    all their fields required at once (event listener, secret, org, member and user
    fields together), and its models ignore client_side_validation: no server's answer
    can deserialize. Paged lists are therefore read raw; single objects are validated."""
    return json.loads(call(*args, _preload_content=False, **kwargs).data)


users = tagged("UsersApi", admin)
created = users.create_user(g.User(username="gen_user", email="Gen@Example.com", fullname="Gen User", resource_type="user",
                                   company_name="G", company_role="QA"))
assert created.username == "gen_user" and created.resource_type == "user"
assert users.get_user("gen_user").email == "Gen@Example.com"
page = paged(users.get_users, limit=2)
assert len(page["results"]) == 2 and page["marker"]
updated = users.update_user("gen_user", g.User(username="gen_user", email="Gen@Example.com", fullname="Renamed", resource_type="user"))
assert updated.fullname == "Renamed"

orgs = tagged("OrganizationsApi", admin)
types = orgs.get_all_organization_types()
assert {t.name for t in types} == {"legacy", "basic", "pro"}
org = orgs.create_organization(g.Organization(org_name="genorg", org_label="Gen Org", org_contact_name="Gen",
                                              org_email="gen@genorg.io", type_id=types[0].id, resource_type="organization"))
assert org.type_id == types[0].id
assert orgs.get_organization("genorg").org_label == "Gen Org"
orgs.edit("genorg", g.Organization(org_name="genorg", org_label="Gen Org 2", org_contact_name="Gen",
                                   org_email="gen@genorg.io", type_id=types[0].id, resource_type="organization"))
assert orgs.get_organization("genorg").org_label == "Gen Org 2"
assert paged(orgs.get_organizations)["results"]
orgs.add_organization_member("genorg", "gen_user")
members = paged(orgs.list_members, "genorg")
assert "gen_user" in {m["username"] for m in members["results"]}
orgs.remove_organization_member("genorg", "gen_user")
orgs.delete_organization("genorg")

scm = tagged("ScmApi", user)
listed = scm.list_scms()
assert any(s.provider == "internal" for s in listed.results)
assert scm.get_scm("github").provider == "github"
assert scm.get_scm_status("internal").authorization_status == "unauthorized"
admin_scm = tagged("ScmApi", admin)
# 1.5.1 knows two providers (internal, github) and names the request model Scm
ScmRequest = g.ScmConfigurationRequestDto if SPLIT else g.Scm
made = admin_scm.create_scm(ScmRequest(
    id="gl", provider="gitlab" if SPLIT else "github", enabled=True, oauth=g.ScmOAuthConfiguration(client_id="cid", client_secret="sec"),
    urls=g.ScmUrls(api="https://gl.example/api", ssh="ssh://git@gl.example", web="https://gl.example")))
assert made.id == "gl"
admin_scm.set_default_scm("gl")
admin_scm.set_default_scm("internal")
admin_scm.delete_scm("gl")

auth = tagged("AuthApi", user)
key = auth.create_key_for_user("demo", g.ApiKeyCreation(key_label="gen", key_type="AlgorithmKey",
                                                        permissions=g.AuthPermissions(
                                                            allow_data=True, allow_data_write=False, allow_algo=True,
                                                            allow_web_algo=False, algo_acl=["*"])))
assert key.api_key.startswith("sim") and key.key_type == "AlgorithmKey"


def keys_import_and_secrets():
    """What came with 1.5.5: a user's key list, key import, algorithm secrets."""
    assert any(k.key_label == "gen" for k in auth.get_keys_for_user("demo"))
    imported = g.AdminApi(admin).import_api_key("gen_user")
    assert imported.username == "gen_user"

    # Algorithm secrets, by the algorithm's id (demo owns demo/Hello in the sandbox fixtures).
    with urllib.request.urlopen(urllib.request.Request(f"{url}/v1/algorithms/demo/Hello",
                                                       headers={"Authorization": f"Simple {user_key}"})) as r:
        hello_id = json.loads(r.read())["id"]
    secrets = g.SecretsApi(user)
    made = secrets.create_algorithm_secret(hello_id, g.AlgorithmSecretCreateRequest(
        short_name="gen", description="by the generated client", owner_type="algorithm", owner_id=hello_id,
        secret_key="GEN_SECRET", secret_value="s3cret", provider_id="00000000-0000-4000-8000-000000000001"))
    assert made.short_name == "gen" and made.owner_id == hello_id
    assert [s.id for s in secrets.get_algorithm_secrets(hello_id).results] == [made.id]
    edited = secrets.edit_algorithm_secret(hello_id, made.id, g.AlgorithmSecretEditRequest(
        short_name="gen", description="edited", secret_key="GEN_SECRET", secret_value="n3w"))
    assert edited.id == made.id and edited.default_secret_value_id != made.default_secret_value_id
    secrets.delete_algorithm_secret(hello_id, made.id)
    assert secrets.get_algorithm_secrets(hello_id).results == []


if SPLIT:
    keys_import_and_secrets()

users.delete_user("gen_user")
print(f"generated client {version}: all admin calls ok")

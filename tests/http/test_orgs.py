from conftest import ALICE, BOB, error_of

ORG = {"org_name": "globex", "org_label": "Globex", "org_contact_name": "Hank",
       "org_email": "Hank@Globex.com", "org_url": "https://globex.example",
       "type_id": "7f0a3c2e-5d0b-4b0e-9a51-000000000003", "resource_type": "organization"}


def test_org_types_bare_array(api):
    r = api.get("/v1/organization/types")
    assert r.status_code == 200
    types = r.get_json()
    assert isinstance(types, list) and {t["name"] for t in types} == {"legacy", "basic", "pro"}
    assert all(set(t) == {"id", "name"} for t in types)


def test_create_get_org(admin):
    r = admin.post("/v1/organizations", ORG)
    assert r.status_code == 200, r.data
    org = r.get_json()
    assert org["org_email"] == "Hank@Globex.com" and org["resource_type"] == "organization"
    assert org["self_link"].endswith("/v1/organizations/globex")
    assert admin.get("/v1/organizations/globex").get_json()["org_label"] == "Globex"


def test_org_exists_3101(admin):
    error_of(admin.post("/v1/organizations", {**ORG, "org_name": "acme"}), 409, 3101)


def test_org_name_rules(admin):
    error_of(admin.post("/v1/organizations", {**ORG, "org_name": "bad-name"}), 400, 3103)
    error_of(admin.post("/v1/organizations", {**ORG, "org_name": "_x"}), 400, 3103)


def test_org_missing_field(admin):
    body = dict(ORG)
    del body["org_email"]
    error_of(admin.post("/v1/organizations", body), 400, 3103)


def test_org_not_found_3100(admin):
    error_of(admin.get("/v1/organizations/nope"), 404, 3100)


def test_update_org_accepts_get_body(api):
    alice = api.as_(ALICE)
    got = alice.get("/v1/organizations/acme").get_json()
    got["org_label"] = "Acme Labs Intl"
    r = alice.put("/v1/organizations/acme", got)
    assert r.status_code in (200, 204), r.data
    assert alice.get("/v1/organizations/acme").get_json()["org_label"] == "Acme Labs Intl"


def test_member_cannot_update_org(api):
    got = api.get("/v1/organizations/acme").get_json()
    error_of(api.put("/v1/organizations/acme", {**got, "org_label": "x"}), 403, 2001)


def test_org_invisible_to_outsiders(api):
    error_of(api.as_(BOB).get("/v1/organizations/acme"), 404, 3100)


def test_members_list_add_role_remove(api, admin):
    alice = api.as_(ALICE)
    members = alice.get("/v1/organizations/acme/members").get_json()
    assert {(m["username"], m["role"]) for m in members["results"]} == {("alice", "owner"), ("demo", "member")}
    assert members["results"][0]["resource_type"] == "organization_member"
    assert alice.put("/v1/organizations/acme/members/bob").status_code == 200
    assert alice.put("/v1/organizations/acme/members/demo", {"role": "owner"}).status_code == 200
    roles = {m["username"]: m["role"] for m in alice.get("/v1/organizations/acme/members").get_json()["results"]}
    assert roles == {"alice": "owner", "demo": "owner", "bob": "member"}
    assert alice.delete("/v1/organizations/acme/members/bob").status_code == 204
    error_of(alice.get("/v1/organizations/acme/members/bob"), 404)


def test_last_owner_3102(api):
    alice = api.as_(ALICE)
    error_of(alice.delete("/v1/organizations/acme/members/alice"), 400, 3102)
    error_of(alice.put("/v1/organizations/acme/members/alice", {"role": "member"}), 400, 3102)
    roles = {m["username"]: m["role"] for m in alice.get("/v1/organizations/acme/members").get_json()["results"]}
    assert roles["alice"] == "owner"


def test_add_unknown_user_3000(api):
    error_of(api.as_(ALICE).put("/v1/organizations/acme/members/ghost"), 404, 3000)


def test_delete_org(admin):
    admin.post("/v1/organizations", ORG)
    assert admin.delete("/v1/organizations/globex").status_code == 204
    error_of(admin.get("/v1/organizations/globex"), 404, 3100)

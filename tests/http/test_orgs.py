from support.api import ALICE, BOB, error_of

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


def test_update_org_accepts_get_body(admin):
    got = admin.get("/v1/organizations/acme").get_json()
    got["org_label"] = "Acme Labs Intl"
    r = admin.put("/v1/organizations/acme", got)
    assert r.status_code == 204 and r.data == b"", r.data            # the spec's only success status
    assert admin.get("/v1/organizations/acme").get_json()["org_label"] == "Acme Labs Intl"


ORG_MANAGEMENT = (("GET", "/v1/organizations", None), ("POST", "/v1/organizations", ORG),
                  ("GET", "/v1/organizations/acme", None), ("PUT", "/v1/organizations/acme", {"org_label": "x"}),
                  ("DELETE", "/v1/organizations/acme", None), ("GET", "/v1/organizations/acme/members", None),
                  ("GET", "/v1/organizations/acme/members/demo", None),
                  ("PUT", "/v1/organizations/acme/members/bob", None),
                  ("DELETE", "/v1/organizations/acme/members/demo", None))


def test_org_management_needs_an_admin_key(api, admin):
    """Seed 001: "you must pass an admin API key", for members and owners too; nothing changes."""
    before = admin.get("/v1/organizations/acme/members").get_json()
    for key in (api.key, ALICE, BOB):                                # member, owner, outsider
        for method, path, body in ORG_MANAGEMENT:
            err = error_of(api.as_(key).call(method, path, body), 403, 2001)
            assert "admin API key" in err["message"]
    assert admin.get("/v1/organizations/acme/members").get_json() == before
    assert admin.get("/v1/organizations/acme").get_json()["org_label"] != "x"


def test_members_list_add_role_remove(admin):
    members = admin.get("/v1/organizations/acme/members").get_json()
    assert {(m["username"], m["role"]) for m in members["results"]} == {("alice", "owner"), ("demo", "member")}
    assert members["results"][0]["resource_type"] == "organization_member"
    assert admin.put("/v1/organizations/acme/members/bob").status_code == 200
    assert admin.put("/v1/organizations/acme/members/demo", {"role": "owner"}).status_code == 200
    roles = {m["username"]: m["role"] for m in admin.get("/v1/organizations/acme/members").get_json()["results"]}
    assert roles == {"alice": "owner", "demo": "owner", "bob": "member"}
    assert admin.delete("/v1/organizations/acme/members/bob").status_code == 204
    error_of(admin.get("/v1/organizations/acme/members/bob"), 404)


def test_last_owner_3102(admin):
    error_of(admin.delete("/v1/organizations/acme/members/alice"), 400, 3102)
    error_of(admin.put("/v1/organizations/acme/members/alice", {"role": "member"}), 400, 3102)
    roles = {m["username"]: m["role"] for m in admin.get("/v1/organizations/acme/members").get_json()["results"]}
    assert roles["alice"] == "owner"


def test_add_unknown_user_3000(admin):
    error_of(admin.put("/v1/organizations/acme/members/ghost"), 404, 3000)


def test_delete_org(admin):
    admin.post("/v1/organizations", ORG)
    assert admin.delete("/v1/organizations/globex").status_code == 204
    error_of(admin.get("/v1/organizations/globex"), 404, 3100)

from support.api import BOB, error_of

NEW = {"username": "carol", "email": "Carol@Example.com", "fullname": "Carol C",
       "company_name": "C Inc", "company_role": "CTO"}


def test_create_user_returns_user_object(admin):
    r = admin.post("/v1/users", NEW)
    assert r.status_code == 200, r.data
    body = r.get_json()
    assert body["username"] == "carol" and body["email"] == "Carol@Example.com"   # case kept
    assert body["resource_type"] == "user"
    assert body["self_link"].endswith("/v1/users/carol") and body["self_link"].startswith("http")
    assert len(body["id"]) == 36


def test_create_user_needs_admin(api):
    error_of(api.post("/v1/users", NEW), 403, 2001)


def test_username_taken_3003(admin):
    error_of(admin.post("/v1/users", {**NEW, "username": "demo"}), 409, 3003)


def test_org_name_is_taken_too(admin):
    error_of(admin.post("/v1/users", {**NEW, "username": "acme"}), 409, 3003)


def test_email_taken_3004_case_insensitive(admin):
    error_of(admin.post("/v1/users", {**NEW, "email": "DEMO@example.com"}), 409, 3004)


def test_missing_fields_3005(admin):
    err = error_of(admin.post("/v1/users", {"username": "x1", "email": "x@y.z"}), 400, 3005)
    assert "fullname" in err["message"]


def test_malformed_user_json_3001(admin):
    error_of(admin.post("/v1/users", {**NEW, "fullname": 42}), 400, 3001)
    error_of(admin.post("/v1/users", {**NEW, "username": "9lives"}), 400, 3001)


def test_unknown_field_refused(admin):
    err = error_of(admin.post("/v1/users", {**NEW, "shoe_size": 42}), 400)
    assert "shoe_size" in err["message"]


def test_update_accepts_what_get_returned(admin):
    got = admin.get("/v1/users/demo").get_json()
    got["fullname"] = "Demo Renamed"
    r = admin.put("/v1/users/demo", got)
    assert r.status_code == 200, r.data
    assert admin.get("/v1/users/demo").get_json()["fullname"] == "Demo Renamed"


def test_update_username_mismatch_3007(admin):
    got = admin.get("/v1/users/demo").get_json()
    error_of(admin.put("/v1/users/demo", {**got, "username": "other"}), 400, 3007)


def test_update_email_change_3008_and_nothing_changes(admin):
    got = admin.get("/v1/users/demo").get_json()
    error_of(admin.put("/v1/users/demo", {**got, "email": "new@example.com", "fullname": "X"}), 400, 3008)
    assert admin.get("/v1/users/demo").get_json() == got


def test_get_unknown_user_3000(admin):
    error_of(admin.get("/v1/users/nobody"), 404, 3000)


def test_user_management_needs_an_admin_key(api, admin):
    """Seed 001: "you must provide an admin API key", to read oneself too."""
    for path in ("/v1/users/demo", "/v1/users/alice", "/v1/users"):
        err = error_of(api.get(path), 403, 2001)
        assert "admin API key" in err["message"]
    error_of(api.put("/v1/users/demo", {"username": "demo", "email": "demo@example.com", "fullname": "D"}), 403, 2001)
    error_of(api.delete("/v1/users/demo"), 403, 2001)
    assert admin.get("/v1/users/demo").get_json()["username"] == "demo"


def test_list_users_paginates(admin):
    first = admin.get("/v1/users", limit=2).get_json()
    assert len(first["results"]) == 2 and first["marker"] and first["next_link"].startswith("http")
    rest = admin.get("/v1/users", limit=2, marker=first["marker"]).get_json()
    names = [u["username"] for u in first["results"] + rest["results"]]
    assert names == sorted(names) and set(names) == {"alice", "bob", "demo"}
    assert rest["marker"] is None and rest["next_link"] is None


def test_list_users_bad_limit_and_marker(admin):
    error_of(admin.get("/v1/users", limit=0), 400, 5003)
    error_of(admin.get("/v1/users", limit="ten"), 400, 5003)
    error_of(admin.get("/v1/users", limit=100000), 400, 5003)
    error_of(admin.get("/v1/users", marker="nope"), 400, 5002)


def test_delete_user_removes_keys_and_membership(admin, api):
    admin.post("/v1/users", NEW)
    assert admin.delete("/v1/users/bob").status_code == 204
    error_of(admin.get("/v1/users/bob"), 404, 3000)
    error_of(api.as_(BOB).get("/v1/scms"), 401, 2002)


def test_delete_last_owner_refused(admin):
    error_of(admin.delete("/v1/users/alice"), 400, 3102)
    assert admin.get("/v1/users/alice").status_code == 200


def test_keys_create_and_list(api):
    r = api.post("/v1/users/demo/keys", {"key_label": "ci", "key_type": "AlgorithmKey",
                                         "permissions": {"allow_algo": True, "allow_data": False,
                                                         "allow_data_write": False, "allow_algo_management": False,
                                                         "allow_web_algo": False, "algo_acl": ["*"]}})
    assert r.status_code == 200, r.data
    key = r.get_json()
    assert key["api_key"].startswith("sim") and key["key_type"] == "AlgorithmKey"
    assert key["permissions"]["allow_data"] is False
    # the new key works, and only for what it allows
    assert api.as_(key["api_key"]).get("/v1/scms").status_code == 200
    listed = api.get("/v1/users/demo/keys").get_json()
    assert key["key_label"] in [k["key_label"] for k in listed]
    assert all("*" in k["api_key"] for k in listed)   # secrets are masked in lists


def test_key_lists_are_oldest_first_and_survive_state_import(api):
    before = [k["key_label"] for k in api.get("/v1/users/demo/keys").get_json()]
    for label in ("k-one", "k-two", "k-three"):
        assert api.post("/v1/users/demo/keys", {"key_label": label, "key_type": "ManagementKey"}).status_code == 200
    listed = [k["key_label"] for k in api.get("/v1/users/demo/keys").get_json()]
    assert listed == before + ["k-one", "k-two", "k-three"]
    exported = api.get("/_mock/state").get_json()
    assert "keys_by_owner" not in exported
    api.post("/_mock/reset")
    assert api.put("/_mock/state", exported).status_code == 200          # the per-owner index is rebuilt
    assert [k["key_label"] for k in api.get("/v1/users/demo/keys").get_json()] == listed


def test_admin_creates_key_for_user(admin):
    r = admin.post("/v1/admin/users/alice/keys", {"key_label": "from admin", "key_type": "ManagementKey"})
    assert r.status_code == 200, r.data
    assert r.get_json()["username"] == "alice"


def test_user_cannot_mint_keys_for_others_or_admin_keys(api):
    error_of(api.post("/v1/users/alice/keys", {"key_label": "x", "key_type": "ManagementKey"}), 403, 2001)
    error_of(api.post("/v1/users/demo/keys", {"key_label": "x", "key_type": "PlatformAdminKey"}), 403, 2001)
    error_of(api.post("/v1/admin/users/demo/keys", {"key_label": "x", "key_type": "ManagementKey"}), 403, 2001)


def test_bad_key_type_refused(api):
    error_of(api.post("/v1/users/demo/keys", {"key_label": "x", "key_type": "SuperKey"}), 400)


def test_email_index_survives_delete_and_state_import(admin, api):
    admin.post("/v1/users", NEW)
    error_of(admin.post("/v1/users", {**NEW, "username": "carol2"}), 409, 3004)
    assert admin.delete("/v1/users/carol").status_code == 204
    assert admin.post("/v1/users", {**NEW, "username": "carol3"}).status_code == 200   # email free again
    exported = api.get("/_mock/state").get_json()
    assert "emails" not in exported                    # derived, rebuilt on import
    api.post("/_mock/reset")
    assert api.put("/_mock/state", exported).status_code == 200
    error_of(admin.post("/v1/users", {**NEW, "username": "carol4"}), 409, 3004)

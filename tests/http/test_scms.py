from support.api import error_of

GITLAB = {"id": "gitlab1", "provider": "gitlab", "enabled": True,
          "oauth": {"client_id": "abc", "client_secret": "s3cret"},
          "urls": {"api": "https://gitlab.example/api", "ssh": "ssh://git@gitlab.example", "web": "https://gitlab.example"}}


def test_list_scms_with_user_key_includes_internal(api):
    r = api.get("/v1/scms")
    assert r.status_code == 200
    scms = r.get_json()["results"]
    internal = next(s for s in scms if s["provider"] == "internal")
    assert internal["id"] == "internal" and internal["enabled"] is True
    assert all("client_secret" not in str(s) for s in scms)


def test_oauth_status_internal_unauthorized(api):
    assert api.get("/v1/scms/internal/oauth/status").get_json()["authorization_status"] == "unauthorized"


def test_create_get_scm(admin):
    r = admin.post("/v1/admin/scms", GITLAB)
    assert r.status_code == 200, r.data
    assert admin.get("/v1/scms/gitlab1").get_json()["urls"]["web"] == "https://gitlab.example"


def test_duplicate_4044(admin):
    admin.post("/v1/admin/scms", GITLAB)
    error_of(admin.post("/v1/admin/scms", GITLAB), 409, 4044)
    error_of(admin.post("/v1/admin/scms", {**GITLAB, "id": "other"}), 409, 4044)


def test_invalid_scm_4020(admin):
    error_of(admin.post("/v1/admin/scms", {**GITLAB, "provider": "svn"}), 400, 4020)
    body = {k: v for k, v in GITLAB.items() if k != "oauth"}
    error_of(admin.post("/v1/admin/scms", body), 400, 4020)


def test_scm_not_found_4009(api):
    error_of(api.get("/v1/scms/nope"), 404, 4009)


def test_default_rules_4041_4042(admin):
    admin.post("/v1/admin/scms", {**GITLAB, "enabled": False})
    error_of(admin.post("/v1/admin/scms/gitlab1/default"), 400, 4042)
    error_of(admin.patch("/v1/admin/scms/internal", {"enabled": False}), 400, 4041)
    error_of(admin.delete("/v1/admin/scms/internal"), 400, 4041)
    assert admin.patch("/v1/admin/scms/gitlab1", {"enabled": True}).get_json()["enabled"] is True
    assert admin.post("/v1/admin/scms/gitlab1/default").status_code == 204
    scms = {s["id"]: s for s in admin.get("/v1/scms").get_json()["results"]}
    assert scms["gitlab1"]["default"] and not scms["internal"]["default"]
    error_of(admin.delete("/v1/admin/scms/gitlab1"), 400, 4041)


def test_malformed_update_4021(admin):
    error_of(admin.patch("/v1/admin/scms/github", {"enabled": "yes"}), 400, 4021)


def test_delete_scm(admin):
    admin.post("/v1/admin/scms", GITLAB)
    assert admin.delete("/v1/admin/scms/gitlab1").status_code == 204
    error_of(admin.get("/v1/scms/gitlab1"), 404, 4009)


def test_admin_scm_routes_need_admin(api):
    error_of(api.post("/v1/admin/scms", GITLAB), 403, 2001)

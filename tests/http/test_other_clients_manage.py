"""Data, organizations and algorithm management as the R and Ruby clients send them (issue 28
items 2, 3, 4, 7). Each request replays the client's source: algorithmia-r R/Client.r,
R/DataDirectory.r, R/DataFile.r; algorithmia-ruby lib/algorithmia/{client,algorithm,requester}.rb
and spec/spec_helper.rb."""
import json

import pytest

from support.algorithms import SETTINGS
from support.api import ADMIN, DEMO, error_of

R_HEADERS = {"Authorization": DEMO, "Content-Type": "application/json"}


def ruby_headers(key):
    return {"Authorization": key, "Content-Type": "application/json", "User-Agent": "Algorithmia Ruby Client"}


def r_json(api, method, path, value, key=DEMO):
    """R's postJsonHelper / putHelper: a JSON text, Content-Type application/json, the bare key."""
    return api.call(method, path, raw=json.dumps(value).encode(), key=None,
                    headers={**R_HEADERS, "Authorization": key})


def r_list_directory(api, path):
    """R's AlgorithmiaDirectoryIterator: GET the directory, then ?marker=... while the answer
    *has* a "marker" key (``if ("marker" %in% names(data))``; a null would be a character NA)."""
    names, marker, pages = [], None, 0
    while True:
        query = {"marker": marker} if marker else {}
        r = api.get(path, key=None, headers={"Authorization": DEMO}, **query)
        assert r.status_code == 200, r.data
        data, pages = r.get_json(), pages + 1
        names += [f["filename"] for f in data["files"]]
        if "marker" not in data:
            return names, pages
        marker = data["marker"]
        assert isinstance(marker, str) and marker, data       # present means a next page
        assert pages < 100


# -- item 2: the last page of a data listing has no marker ---------------------------------------
def test_r_pages_a_data_directory_to_its_end(api):
    assert r_json(api, "POST", "/v1/data/.my", {"name": "rdir"}).status_code == 200      # dir$create()
    for i in range(3):
        assert r_json(api, "PUT", f"/v1/data/.my/rdir/f{i}.txt", f"text {i}").status_code == 200   # file$put
    assert r_list_directory(api, "/v1/data/.my/rdir") == (["f0.txt", "f1.txt", "f2.txt"], 1)
    for i in range(3, 57):                             # past one page (50 by default): a marker, then none
        r_json(api, "PUT", f"/v1/data/.my/rdir/f{i:02d}.txt", "x")
    names, pages = r_list_directory(api, "/v1/data/.my/rdir")
    assert pages == 2 and len(names) == 57 == len(set(names))


def test_an_empty_directory_and_the_root_list_without_a_marker(api):
    r_json(api, "POST", "/v1/data/.my", {"name": "empty"})
    assert api.get("/v1/data/.my/empty").get_json() == {"folders": [], "files": []}
    root = api.get("/v1/data/.my").get_json()
    assert "marker" not in root and "empty" in {f["name"] for f in root["folders"]}
    page = api.get("/v1/data/.my", limit=1).get_json()               # a next page: the marker is there
    assert isinstance(page["marker"], str) and "next_link" not in page


def test_the_seeds_collection_listings_keep_null_on_their_last_page(api):
    """Seed 002 "Pagination": both marker and next_link are null when there is no next page."""
    for path, key in (("/v1/algorithms/demo/Hello/versions", DEMO), ("/v1/algorithms/demo/Hello/builds", DEMO),
                      ("/v1/users/demo/algorithms", DEMO), ("/v1/organizations", ADMIN), ("/v1/users", ADMIN),
                      ("/v1/organizations/acme/members", ADMIN)):
        body = api.get(path, key=key).get_json()
        assert body["marker"] is None and body["next_link"] is None, path


# -- item 3: a JSON null body where the seeds send none ---------------------------------------------
def test_r_compiles_with_a_null_body(api):
    created = api.post("/v1/algorithms/demo", {"name": "RCompiled", "details": {"label": "R"}, "settings": SETTINGS})
    assert created.status_code == 200
    compiled = api.call("POST", "/v1/algorithms/demo/RCompiled/compile", raw=b"null", key=None, headers=R_HEADERS)
    assert compiled.status_code == 200, compiled.data
    assert len(compiled.get_json()["version_info"]["git_hash"]) == 40 and compiled.get_json()["build"]["status"] == "succeeded"


def test_other_bodiless_operations_take_null_as_no_body(api):
    admin = api.as_(ADMIN)
    null = {"raw": b"null", "headers": {"Content-Type": "application/json"}}
    assert admin.call("PUT", "/v1/organizations/acme/members/bob", **null).status_code == 200      # seed: no body
    members = admin.get("/v1/organizations/acme/members").get_json()["results"]
    assert {"username": "bob", "role": "member"}.items() <= next(m for m in members if m["username"] == "bob").items()
    assert admin.call("POST", "/v1/admin/scms/github/default", **null).status_code == 204
    assert admin.call("DELETE", "/v1/organizations/acme/members/bob", **null).status_code == 204   # never read


def test_operations_that_need_a_body_still_refuse_null(api):
    null = {"raw": b"null", "headers": {"Content-Type": "application/json"}}
    error_of(api.call("POST", "/v1/algorithms/demo", **null), 400)
    error_of(api.call("PUT", "/v1/algorithms/demo/Hello", **null), 400)
    error_of(api.as_(ADMIN).call("POST", "/v1/organizations", **null), 400)
    error_of(api.call("POST", "/v1/algorithms/demo/Hello/compile", raw=b"[]",
                      headers={"Content-Type": "application/json"}), 400)          # null only, not any JSON


# -- item 4: organizations keep external_id and carry id, org_created_at ----------------------------
def ruby_org_types(api):
    """Ruby's get_organization_type_id: GET /v1/organization/types, the id of a name."""
    types = api.get("/v1/organization/types", key=None, headers={"Authorization": ADMIN}).get_json()
    return {t["name"]: t["id"] for t in types}


def test_ruby_creates_gets_lists_and_updates_an_organization(api):
    types = ruby_org_types(api)
    org = {"org_name": "MyOrg1700000000", "org_label": "myLabel", "org_contact_name": "some owner",
           "org_email": "MyOrg1700000000@algo.com", "org_url": "https://MyOrg1700000000algo.com",
           "external_id": "ext_1700000000", "type_id": types["basic"], "resource_type": "organization"}
    created = api.call("POST", "/v1/organizations", raw=json.dumps(org).encode(), key=None, headers=ruby_headers(ADMIN))
    assert created.status_code == 200, created.data
    body = created.get_json()
    assert {k: body[k] for k in org} == org                             # the Ruby spec's expectations
    assert body["id"] and body["org_created_at"].endswith("Z")
    got = api.get("/v1/organizations/MyOrg1700000000", key=ADMIN).get_json()
    assert {k: got[k] for k in ("id", "org_created_at", "external_id")} == \
        {k: body[k] for k in ("id", "org_created_at", "external_id")}
    listed = next(o for o in api.get("/v1/organizations", key=ADMIN).get_json()["results"]
                  if o["org_name"] == "MyOrg1700000000")
    assert listed["id"] == body["id"] and listed["external_id"] == "ext_1700000000" and listed["org_created_at"]
    # update_organization: the created answer sent back whole, label and contact changed, type by id
    changed = {**body, "org_label": "MyOrgLabel", "org_contact_name": "NewContactName", "type_id": types["legacy"]}
    updated = api.call("PUT", "/v1/organizations/MyOrg1700000000", raw=json.dumps(changed).encode(), key=None,
                       headers=ruby_headers(ADMIN))
    assert updated.status_code == 204, updated.data
    after = api.get("/v1/organizations/MyOrg1700000000", key=ADMIN).get_json()
    assert (after["org_label"], after["org_contact_name"], after["type_id"]) == ("MyOrgLabel", "NewContactName",
                                                                                 types["legacy"])
    assert (after["id"], after["org_created_at"], after["external_id"]) == (body["id"], body["org_created_at"],
                                                                            "ext_1700000000")


def test_r_edit_org_sends_id_and_resource_type(api):
    """R's test.edit_Org body: an id (of another object even) and resource_type are ignored."""
    before = api.get("/v1/organizations/acme", key=ADMIN).get_json()
    body = {"id": "b85d8c4e-7f3c-40b9-9659-6adc2cb0e16f", "org_label": "some other label",
            "org_contact_name": "Some owner", "org_email": "a_myOrg84@algo.com", "org_url": "https://algorithmia.com",
            "type_id": ruby_org_types(api)["basic"], "resource_type": "organization"}
    assert r_json(api, "PUT", "/v1/organizations/acme", body, key=ADMIN).status_code == 204
    after = api.get("/v1/organizations/acme", key=ADMIN).get_json()
    assert after["id"] == before["id"] and after["org_label"] == "some other label"
    assert after["org_created_at"] == before["org_created_at"] and after["external_id"] is None


def test_external_id_survives_export_import_and_comes_from_fixtures(api):
    admin = api.as_(ADMIN)
    admin.post("/v1/organizations", {"org_name": "kept", "org_label": "K", "org_contact_name": "C",
                                     "org_email": "k@example.com", "external_id": "sso-42"})
    before = admin.get("/v1/organizations/kept").get_json()
    state = api.get("/_mock/state").get_json()
    assert api.post("/_mock/reset").status_code == 200
    assert admin.get("/v1/organizations/kept").status_code == 404
    assert api.put("/_mock/state", state).status_code == 200
    assert admin.get("/v1/organizations/kept").get_json() == before
    fixture = ("organizations:\n  - {org_name: fixed, org_label: F, org_contact_name: C, org_email: f@example.com,"
               " external_id: ext-7}\n")
    loaded = api.call("POST", "/_mock/fixtures", raw=fixture.encode(), headers={"Content-Type": "application/x-yaml"})
    assert loaded.status_code == 200, loaded.data
    fixed = admin.get("/v1/organizations/fixed").get_json()
    assert fixed["external_id"] == "ext-7" and fixed["id"] and fixed["org_created_at"]


def test_external_id_keeps_its_type(api):
    error_of(api.as_(ADMIN).post("/v1/organizations", {"org_name": "typed", "org_label": "T", "org_contact_name": "C",
                                                       "org_email": "t@example.com", "external_id": 42}), 400)


# -- item 7: unknown settings keys are ignored, license defaults -------------------------------------
RUBY_TEST_ALGO = {"name": "CreateAlgoTest1700000000", "details": {"label": "CreateAlgoTest"},
                  "settings": {"environment": "cpu", "language": "java", "licence": "ap1", "network_access": "full",
                               "pipeline_enabled": True, "source_visibility": "open"}}


def test_ruby_creates_an_algorithm_with_licence_and_no_license(api):
    """spec_helper.rb create_test_algo, then delete_algo (which expects an empty body)."""
    since = api.get("/_mock/journal").get_json()["last"]
    r = api.call("POST", "/v1/algorithms/demo", raw=json.dumps(RUBY_TEST_ALGO).encode(), key=None,
                 headers=ruby_headers(DEMO))
    assert r.status_code == 200, r.data
    settings = r.get_json()["settings"]
    assert settings["license"] == "apl" and "licence" not in settings and settings["language"] == "java"
    entry = next(e for e in api.get("/_mock/journal", since=since).get_json()["entries"]
                 if e["operation"] == "createAlgorithm")
    assert entry["notes"] == ["settings keys the platform does not know were ignored: licence",
                              "settings.license was not given: defaulted to 'apl'"]
    gone = api.call("DELETE", "/v1/algorithms/demo/CreateAlgoTest1700000000", key=None,
                    headers={"Authorization": DEMO, "User-Agent": "Algorithmia Ruby Client"})
    assert gone.status_code == 204 and gone.data == b""


def test_update_ignores_unknown_keys_and_keeps_the_license(api):
    api.post("/v1/algorithms/demo", {"name": "Licensed", "details": {"label": "L"},
                                     "settings": {**SETTINGS, "source_visibility": "open", "license": "mit"}})
    since = api.get("/_mock/journal").get_json()["last"]
    settings = {k: v for k, v in SETTINGS.items() if k != "license"}
    r = api.put("/v1/algorithms/demo/Licensed", {"settings": {**settings, "source_visibility": "open",
                                                              "colour": "blue", "gpu_count": 2}})
    assert r.status_code == 200, r.data
    assert r.get_json()["settings"]["license"] == "mit" and "colour" not in r.get_json()["settings"]
    entries = api.get("/_mock/journal", since=since).get_json()["entries"]
    assert [e["notes"] for e in entries if e["operation"] == "updateAlgorithm"] == \
        [["settings keys the platform does not know were ignored: colour, gpu_count"]]
    assert all(e["notes"] is None for e in entries if e["operation"] != "updateAlgorithm")


@pytest.mark.parametrize("field, value", [("license", "ap1"), ("pipeline_enabled", "yes"), ("environment", 5),
                                          ("source_visibility", "secret"), ("royalty_microcredits", -1),
                                          ("network_access", None)])
def test_known_settings_keep_their_checks(api, field, value):
    body = {"name": "Strict", "details": {"label": "S"}, "settings": {**SETTINGS, "licence": "x", field: value}}
    err = error_of(api.post("/v1/algorithms/demo", body), 400)
    assert field in err["message"]
    assert api.get("/v1/algorithms/demo/Strict").status_code == 404


def test_the_settings_known_are_the_spec_s(server):
    from mockserver.domain.algorithm_settings import KNOWN_SETTINGS
    schema = server.spec.document["components"]["schemas"]
    assert set(KNOWN_SETTINGS) == set(schema["AlgorithmSettingsCreate"]["properties"]) \
        == set(schema["AlgorithmSettingsRequest"]["properties"])



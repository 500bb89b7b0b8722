"""The algorithm lifecycle over HTTP: every response is checked against the spec (conftest.Api)."""
import re
import uuid

import pytest

from support.algorithms import SETTINGS, compile_, create, publish_request
from support.api import ALICE, BOB, error_of

HEX40 = re.compile(r"^[0-9a-f]{40}$")
NAME = "MyAlgo"


def test_create_answers_the_algorithm_object(api):
    r = create(api, NAME, version_info={"sample_input": "Mia"})
    assert r.status_code == 200, r.data
    body = r.get_json()
    uuid.UUID(body["id"])
    assert body["name"] == "MyAlgo" and body["details"] == {"label": "MyAlgo label"}
    assert body["settings"] == {**SETTINGS, "algorithm_callability": "private"}
    assert body["source"]["scm"] == {"id": "internal", "name": "Internal", "provider": "internal",
                                     "default": True, "enabled": True}
    assert body["resource_type"] == "algorithm"
    assert "build" not in body and "self_link" not in body and "compilation" not in body
    assert body["version_info"]["sample_input"] == "Mia"
    assert api.get("/v1/algorithms/demo/MyAlgo/builds").get_json()["results"] == []     # no build


def test_org_member_may_create_under_the_org(api):
    assert create(api, NAME, owner="acme").status_code == 200
    assert api.as_(ALICE).get("/v1/algorithms/acme/MyAlgo").status_code == 200          # alice owns acme
    error_of(create(api.as_(ALICE), "Other", owner="demo"), 403, 2001)
    error_of(create(api, NAME, owner="nobody_here"), 404, 3000)


def test_key_without_management_permission(api):
    error_of(create(api.as_(BOB), NAME, owner="bob"), 403, 2001)


@pytest.mark.parametrize("name", ["1abc", "has-dash", "has space", "_under", "", "x" * 65])
def test_name_rules(api, name):
    error_of(create(api, name), 400, 2015)


def test_duplicate_names(api):
    assert create(api, NAME).status_code == 200
    error_of(create(api, NAME), 409, 1002)
    error_of(create(api, "MYALGO"), 409, 1002)
    assert create(api, NAME, owner="acme").status_code == 200                 # other owner, same name


def test_a_deleted_name_is_free_again_in_any_case(api):
    assert create(api, NAME).status_code == 200
    assert api.delete("/v1/algorithms/demo/MyAlgo").status_code == 204
    assert create(api, "MYALGO").status_code == 200
    error_of(create(api, "myalgo"), 409, 1002)


def test_names_taken_survive_a_state_export_and_import(api):
    assert create(api, NAME).status_code == 200
    exported = api.get("/_mock/state").json
    assert api.put("/_mock/state", exported).status_code == 200
    error_of(create(api, "myAlgo"), 409, 1002)


@pytest.mark.parametrize("settings,status,code,words", [
    ({"language": "cobol"}, 400, 4001, "cobol"),
    ({"environment": "tpu"}, 400, 4004, "tpu"),
    ({"license": "mit"}, 400, 2015, "apl"),                             # closed needs apl
    ({"license": "wtfpl", "source_visibility": "open"}, 400, 2015, "license"),
    ({"network_access": "partial"}, 400, 2015, "network_access"),
])
def test_settings_enumerations(api, settings, status, code, words):
    err = error_of(create(api, NAME, settings=settings), status, code)
    assert words in err["message"]


def test_open_source_with_other_licenses(api):
    r = create(api, NAME, settings={"license": "mit", "source_visibility": "open"})
    assert r.status_code == 200 and r.get_json()["settings"]["license"] == "mit"


def test_scm_choice(api, admin):
    error_of(create(api, NAME, source={"scm": "nope"}), 404, 4009)
    r = create(api, NAME, source={"scm": "github"})
    assert r.status_code == 200, r.data
    source = r.get_json()["source"]
    assert source["scm"]["provider"] == "github" and source["repository_name"] == "MyAlgo"
    assert source["repository_https_url"] == "https://github.com/demo/MyAlgo"
    status = api.get("/v1/algorithms/demo/MyAlgo/scm/status").get_json()
    assert status["scm_connection_status"] == "active" and status["repository_webhook_url"].endswith("/scm/webhook")
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", status["repository_webhook_secret"])
    # an internal repository has no webhook, and no secret for one
    assert create(api, "Internal").status_code == 200
    internal = api.get("/v1/algorithms/demo/Internal/scm/status").get_json()
    assert internal["scm_connection_status"] == "active" and "repository_webhook_secret" not in internal
    assert admin.patch("/v1/admin/scms/github", {"enabled": False}).status_code == 200
    error_of(create(api, "Other", source={"scm_id": "github"}), 400, 4042)


def assert_no_such_algorithm(response):
    """The real service's exact body for a missing algorithm (CLIENTS.md), byte for byte."""
    assert response.status_code == 404
    assert response.data == b'{"error":"No such algorithm"}'


def test_visibility_and_management_rights(api):
    create(api, NAME)
    alice = api.as_(ALICE)
    assert_no_such_algorithm(alice.get("/v1/algorithms/demo/MyAlgo"))     # private: as if missing
    assert_no_such_algorithm(api.get("/v1/algorithms/demo/Missing"))
    for call in (lambda a: a.put("/v1/algorithms/demo/MyAlgo", {"details": {"label": "x"}, "settings": SETTINGS}),
                 lambda a: a.delete("/v1/algorithms/demo/MyAlgo"),
                 lambda a: a.post("/v1/algorithms/demo/MyAlgo/compile")):
        error_of(call(alice), 404, 1000)                               # invisible, not forbidden
    sha = compile_(api, NAME)["version_info"]["git_hash"]
    assert publish_request(api, NAME).status_code == 200
    got = alice.get("/v1/algorithms/demo/MyAlgo")                       # public now
    assert got.status_code == 200 and got.get_json()["version_info"]["git_hash"] == sha
    compile_(api, NAME)                                                      # unpublished: hidden from others
    assert alice.get("/v1/algorithms/demo/MyAlgo").get_json()["version_info"]["git_hash"] == sha
    assert [v["version_info"]["git_hash"] for v in alice.get("/v1/algorithms/demo/MyAlgo/versions").get_json()["results"]] == [sha]
    error_of(alice.put("/v1/algorithms/demo/MyAlgo", {"details": {"label": "x"}, "settings": SETTINGS}), 403, 2001)
    error_of(alice.delete("/v1/algorithms/demo/MyAlgo"), 403, 2001)
    error_of(alice.post("/v1/algorithms/demo/MyAlgo/compile"), 403, 2001)
    error_of(alice.get("/v1/algorithms/demo/MyAlgo/builds"), 403, 2001)
    error_of(alice.post("/v1/algorithms/demo/MyAlgo/versions", {}), 403, 2001)
    error_of(api.as_(BOB).put("/v1/algorithms/demo/MyAlgo", {"details": {"label": "x"}, "settings": SETTINGS}), 403, 2001)


def test_update(api, admin):
    create(api, NAME)
    r = api.put("/v1/algorithms/demo/MyAlgo", {"details": {"label": "Better", "tagline": "t"},
                                              "settings": {**SETTINGS, "environment": "gpu",
                                                           "algorithm_callability": "public"}})
    assert r.status_code == 200, r.data
    body = r.get_json()
    assert body["details"] == {"label": "Better", "tagline": "t"}
    assert body["settings"]["environment"] == "gpu" and body["settings"]["algorithm_callability"] == "private"
    err = error_of(api.put("/v1/algorithms/demo/MyAlgo", {"name": "Renamed", "settings": SETTINGS}), 400, 2015)
    assert "renamed" in err["message"]
    error_of(api.put("/v1/algorithms/demo/MyAlgo", {"settings": {**SETTINGS, "license": "gpl3"}}), 400, 2015)   # closed needs apl
    assert admin.put("/v1/algorithms/demo/MyAlgo", {"details": {"summary": "by admin"},
                                                    "settings": SETTINGS}).status_code == 200
    assert api.get("/v1/algorithms/demo/MyAlgo").get_json()["details"]["summary"] == "by admin"


# license too in seed 001, but the live API did not insist (create defaults it: test_other_clients_manage.py)
REQUIRED = ("network_access", "pipeline_enabled", "source_visibility")


def test_create_and_update_need_the_seeds_required_settings(api):
    """Seed 001 marks these settings Required on create and on update; environment when language is given."""
    for field in (*REQUIRED, "environment"):
        partial = {k: v for k, v in SETTINGS.items() if k != field}
        err = error_of(api.post("/v1/algorithms/demo", {"name": "Partial", "details": {"label": "P"},
                                                "settings": partial}), 400, 2015)
        assert field in err["message"]
    assert api.get("/v1/algorithms/demo/Partial").status_code == 404
    assert create(api, NAME).status_code == 200
    before = api.get("/v1/algorithms/demo/MyAlgo").get_json()
    for body in ({"details": {"label": "No settings"}}, {"settings": {}}, {"settings": {"environment": "gpu"}},
                 *({"settings": {k: v for k, v in SETTINGS.items() if k != field}} for field in (*REQUIRED, "environment"))):
        err = error_of(api.put("/v1/algorithms/demo/MyAlgo", body), 400, 2015)
        assert "settings" in err["message"]
    assert api.get("/v1/algorithms/demo/MyAlgo").get_json() == before                     # nothing changed
    no_language = {k: v for k, v in SETTINGS.items() if k not in ("language", "environment")}
    assert api.put("/v1/algorithms/demo/MyAlgo", {"settings": no_language}).status_code == 200   # keeps its language


def test_form_encoded_body_to_a_json_operation_is_refused(api):
    """What algorithmia 2.0.5's algo.update() sends: only the keys of nested dicts. An error, not a silent 200."""
    create(api, NAME)
    before = api.get("/v1/algorithms/demo/MyAlgo").get_json()
    r = api.call("PUT", "/v1/algorithms/demo/MyAlgo", raw="details=label&settings=license",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    err = error_of(r, 400, 2015)
    assert "application/json" in err["message"]
    assert api.get("/v1/algorithms/demo/MyAlgo").get_json() == before


def test_delete_erases_and_frees_the_name(api):
    create(api, NAME)
    compile_(api, NAME)
    publish_request(api, NAME)
    r = api.delete("/v1/algorithms/demo/MyAlgo")
    assert r.status_code == 204 and r.data == b""
    assert_no_such_algorithm(api.get("/v1/algorithms/demo/MyAlgo"))
    assert create(api, NAME).status_code == 200                             # free again at once
    assert api.get("/v1/algorithms/demo/MyAlgo/builds").get_json()["results"] == []
    assert api.get("/v1/algorithms/demo/MyAlgo/versions").get_json()["results"] == []


def test_compile_and_builds(api):
    create(api, NAME)
    first = compile_(api, NAME)
    assert HEX40.match(first["version_info"]["git_hash"])
    assert first["compilation"]["successful"] is True
    assert first["self_link"].endswith(f"/v1/algorithms/demo/MyAlgo/versions/{first['version_info']['git_hash']}")
    build = first["build"]
    uuid.UUID(build["build_id"])
    assert build["status"] == "succeeded" and build["commit_sha"] == first["version_info"]["git_hash"]
    assert "version_info" not in build
    ids = [build["build_id"]] + [compile_(api, NAME)["build"]["build_id"] for _ in range(2)]
    listed = api.get("/v1/algorithms/demo/MyAlgo/builds", limit=2).get_json()
    assert [b["build_id"] for b in listed["results"]] == ids[::-1][:2]          # newest first
    rest = api.get("/v1/algorithms/demo/MyAlgo/builds", limit=2, marker=listed["marker"]).get_json()
    assert [b["build_id"] for b in rest["results"]] == [ids[0]] and rest["marker"] is None
    one = api.get(f"/v1/algorithms/demo/MyAlgo/builds/{ids[0]}").get_json()
    assert one == build
    logs = api.get(f"/v1/algorithms/demo/MyAlgo/builds/{ids[0]}/logs").get_json()["logs"]
    assert "Beginning container customization" in logs and "python3-1" in logs and "cpu" in logs
    error_of(api.get(f"/v1/algorithms/demo/MyAlgo/builds/{uuid.uuid4()}"), 404, 1000)
    error_of(api.get(f"/v1/algorithms/demo/MyAlgo/builds/{uuid.uuid4()}/logs"), 404, 1000)
    assert api.get("/v1/algorithms/demo/MyAlgo").get_json()["build"]["build_id"] == ids[-1]


def test_failed_build_when_the_callable_cannot_be_imported(api, server):
    create(api, NAME)
    with server.ctx.store.write() as state:
        state.algorithms["demo/MyAlgo"].binding = "no_such_module_for_sure:apply"
    out = compile_(api, NAME)
    assert out["build"]["status"] == "failed" and out["compilation"]["successful"] is False
    assert "no_such_module_for_sure" in out["compilation"]["output"]
    error_of(publish_request(api, NAME), 400, 2012)


def test_publish_rules_and_versions(api):
    create(api, NAME)
    error_of(publish_request(api, NAME), 400, 2012)                                       # nothing compiled
    h1 = compile_(api, NAME)["version_info"]["git_hash"]
    r = publish_request(api, NAME, "minor", "public", release_notes="First", sample_input="Mia",
                        sample_output="Hello Mia")
    assert r.status_code == 200, r.data
    v = r.get_json()
    assert v["version_info"] == {"git_hash": h1, "semantic_version": "0.1.0", "release_notes": "First",
                                 "sample_input": "Mia", "sample_output": "Hello Mia", "insights_enabled": False}
    assert v["build"]["version_info"] == {"semantic_version": "0.1.0"} and v["settings"]["algorithm_callability"] == "public"
    error_of(publish_request(api, NAME), 400, 1007)                                       # once
    h2 = compile_(api, NAME)["version_info"]["git_hash"]
    revision = publish_request(api, NAME, "revision", path="version")
    assert revision.get_json()["version_info"]["semantic_version"] == "0.1.1"
    h3 = compile_(api, NAME)["version_info"]["git_hash"]
    err = error_of(publish_request(api, NAME, "patch", "private"), 400, 2015)             # breaking: needs minor
    assert "minor" in err["message"] and "algorithm_callability" in err["message"]
    assert publish_request(api, NAME, "minor", "private").get_json()["version_info"]["semantic_version"] == "0.2.0"
    h4 = compile_(api, NAME)["version_info"]["git_hash"]

    def hashes(**query):
        return [x["version_info"]["git_hash"] for x in api.get("/v1/algorithms/demo/MyAlgo/versions", **query).get_json()["results"]]

    assert hashes() == [h4, h3, h2, h1]
    assert hashes(published="true") == [h3, h2, h1]
    assert hashes(published="false") == [h4]
    assert hashes(callable="true") == [h2, h1]
    assert hashes(callable="false") == [h4, h3]
    assert hashes(callable="false", published="true") == [h3]
    page = api.get("/v1/algorithms/demo/MyAlgo/versions", limit=3).get_json()
    assert len(page["results"]) == 3 and page["next_link"]
    unpublished = api.get(f"/v1/algorithms/demo/MyAlgo/versions/{h4}").get_json()
    assert "semantic_version" not in unpublished["version_info"] and unpublished["settings"]["algorithm_callability"] == "private"
    assert api.get(f"/v1/algorithms/demo/MyAlgo/versions/{h1}").get_json()["version_info"]["semantic_version"] == "0.1.0"
    error_of(api.get(f"/v1/algorithms/demo/MyAlgo/versions/{'0' * 40}"), 404, 1001)
    error_of(api.get("/v1/algorithms/demo/MyAlgo/versions", limit=0), 400, 5003)
    error_of(api.get("/v1/algorithms/demo/MyAlgo/versions", marker="garbage"), 400, 5002)


def test_user_algorithms_and_error_lists(api):
    listed = api.get("/v1/users/demo/algorithms").get_json()
    names = [a["name"] for a in listed["results"]]
    assert "Hello" in names and "Sandbox" in names                          # from the default fixtures
    theirs = [a["name"] for a in api.as_(ALICE).get("/v1/users/demo/algorithms").get_json()["results"]]
    assert "Hello" in theirs and "Sandbox" not in theirs
    error_of(api.get("/v1/users/nobody_here/algorithms"), 404, 3000)
    create(api, NAME)
    algo_id = api.get("/v1/algorithms/demo/MyAlgo").get_json()["id"]
    assert api.get("/v1/algorithms/demo/MyAlgo/errors").get_json() == []
    assert api.get(f"/v1/algorithms/{algo_id}/errors").get_json() == []
    assert api.get(f"/v1/algorithms/{algo_id}/secrets").get_json() == {"results": [], "secrets": []}
    error_of(api.get(f"/v1/algorithms/{uuid.uuid4()}/errors"), 404, 1009)
    assert api.get("/v1/users/demo/errors").get_json() == []
    assert api.get("/v1/organizations/acme/errors").get_json() == []
    error_of(api.as_(ALICE).get("/v1/users/demo/errors"), 403, 2001)
    error_of(api.as_(BOB).get("/v1/organizations/acme/errors"), 404, 3100)


def test_failed_invocations_are_listed(api):
    r = api.call("POST", "/v1/algo/demo/Failing", raw=b'"x"', headers={"Content-Type": "application/json"})
    assert "error" in r.get_json()
    errors = api.get("/v1/algorithms/demo/Failing/errors").get_json()
    assert len(errors) == 1 and errors[0]["algorithm"] == "demo/Failing"
    assert api.get("/v1/users/demo/errors").get_json()[0]["id"] == errors[0]["id"]


def pages(client, url, limit):
    """Every name of a paginated algorithm listing, following markers."""
    names, marker = [], None
    while True:
        body = client.get(url, limit=limit, **({"marker": marker} if marker else {})).get_json()
        names += [a["name"] for a in body["results"]]
        marker = body["marker"]
        if not marker:
            return names


def test_an_owners_algorithms_page_in_name_order_for_owner_and_outsiders(api):
    """Listings read a per-owner sorted index: owners see all, outsiders only public
    algorithms, with the hidden ones skipped across page boundaries."""
    before = pages(api, "/v1/users/demo/algorithms", 50)
    public_before = pages(api.as_(BOB), "/v1/users/demo/algorithms", 50)
    made = [f"Zlist{i:02d}" for i in range(23)]
    for i, name in enumerate(made):
        assert create(api, name).status_code == 200
        if i % 3 == 0:
            compile_(api, name)
            assert publish_request(api, name).status_code == 200
    public = [n for i, n in enumerate(made) if i % 3 == 0]
    assert pages(api, "/v1/users/demo/algorithms", 4) == sorted(before + made)
    assert pages(api.as_(BOB), "/v1/users/demo/algorithms", 2) == sorted(public_before + public)

    assert api.delete("/v1/algorithms/demo/Zlist03").status_code == 204
    exported = api.get("/_mock/state").get_json()
    assert "algorithms_by_owner" not in exported and "algorithm_ids" not in exported
    api.post("/_mock/reset")
    assert api.put("/_mock/state", exported).status_code == 200          # indexes rebuilt on import
    assert pages(api, "/v1/users/demo/algorithms", 5) == sorted(before + [n for n in made if n != "Zlist03"])
    algo_id = api.get("/v1/algorithms/demo/Zlist06").get_json()["id"]
    assert api.get(f"/v1/algorithms/{algo_id}/errors").status_code == 200
    error_of(api.get("/v1/users/demo/algorithms", marker="garbage"), 400, 5002)


def test_algorithms_named_errors_and_secrets_are_algorithms(api):
    """/v1/algorithms/{x}/errors is the by-id list only when x has an id's (UUID) shape."""
    for name in ("errors", "secrets"):
        assert create(api, name).status_code == 200
        got = api.get(f"/v1/algorithms/demo/{name}")
        assert got.status_code == 200 and got.get_json()["name"] == name
        algo_id = got.get_json()["id"]
        updated = api.put(f"/v1/algorithms/demo/{name}", {"details": {"label": "Renamed label"}, "settings": SETTINGS})
        assert updated.status_code == 200 and updated.get_json()["details"]["label"] == "Renamed label"
        assert compile_(api, name)["name"] == name
        assert api.get(f"/v1/algorithms/demo/{name}/errors").get_json() == []
        assert api.get(f"/v1/algorithms/{algo_id}/errors").get_json() == []
        assert api.delete(f"/v1/algorithms/demo/{name}").status_code == 204
        assert api.get(f"/v1/algorithms/demo/{name}").data == b'{"error":"No such algorithm"}'


def test_secrets_create_list_update_delete_never_show_values(api):
    create(api, NAME)
    algo_id = api.get("/v1/algorithms/demo/MyAlgo").get_json()["id"]
    base = f"/v1/algorithms/{algo_id}/secrets"
    body = {"owner_type": "algorithm", "owner_id": algo_id, "short_name": "db", "secret_key": "DB_PASSWORD",
            "secret_value": "hunter2", "description": " ", "provider_id": "00000000-0000-4000-8000-000000000001"}
    made = api.post(base, body)
    assert made.status_code == 200, made.data
    secret = made.get_json()
    assert secret["short_name"] == "db" and secret["owner_id"] == algo_id and secret["owner_type"] == "algorithm"
    assert b"hunter2" not in made.data
    # As algorithmia 2.0.5's recorded answers: the variable name, created and modified (issue 27 item 5).
    assert secret["secret_key"] == "DB_PASSWORD" and secret["created"] == secret["modified"]
    listed = api.get(base)
    assert listed.get_json()["results"] == listed.get_json()["secrets"] == [secret] and b"hunter2" not in listed.data
    error_of(api.post(base, {**body, "secret_value": "other"}), 409, 2015)                  # same name and key
    for bad in ({**body, "short_name": "x", "secret_key": "1BAD"}, {**body, "short_name": "x", "secret_key": "ALGORITHMIA_API"},
                {**body, "short_name": "x", "secret_key": "K", "owner_id": "someone-else"},
                {**body, "short_name": "x", "secret_key": "K", "provider_id": "nope"},
                {"short_name": "x", "secret_key": "K"}, {**body, "short_name": "x", "secret_key": "K", "extra": 1}):
        error_of(api.post(base, bad), 400, 2015)
    for key, status, code in ((ALICE, 404, 1009), (BOB, 403, 2001)):       # not a manager; a read-only key
        error_of(api.as_(key).get(base), 404, 1009)
        error_of(api.as_(key).post(base, {**body, "short_name": "x", "secret_key": "K"}), status, code)
    changed = api.put(f"{base}/{secret['id']}", {"secret_value": "correct horse"})
    assert changed.status_code == 200 and b"correct horse" not in changed.data
    assert changed.get_json()["default_secret_value_id"] != secret["default_secret_value_id"]
    assert changed.get_json()["created"] == secret["created"] and changed.get_json()["modified"] >= secret["modified"]
    error_of(api.put(f"{base}/{uuid.uuid4()}", {"secret_value": "x"}), 404, 5004)
    assert api.delete(f"{base}/{secret['id']}").status_code == 204
    assert api.get(base).get_json() == {"results": [], "secrets": []}
    error_of(api.delete(f"{base}/{secret['id']}"), 404, 5004)


def test_algorithms_created_with_equal_settings_change_apart(api):
    """Equal settings are stored once (algorithm_settings._shared): an update of one algorithm,
    and a publish that changes its settings, must leave the other's settings as they were."""
    assert create(api, "Twin1").status_code == 200 and create(api, "Twin2").status_code == 200
    before = api.get("/v1/algorithms/demo/Twin2").get_json()["settings"]
    assert api.put("/v1/algorithms/demo/Twin1", {"settings": {**SETTINGS, "royalty_microcredits": 9,
                                                               "license": "mit", "source_visibility": "open"}}
                   ).status_code == 200
    assert api.get("/v1/algorithms/demo/Twin1").get_json()["settings"]["license"] == "mit"
    assert api.get("/v1/algorithms/demo/Twin2").get_json()["settings"] == before


def test_algorithms_created_empty_fill_apart(api):
    """New algorithms share one read-only empty dict for builds, secrets, source and version
    info (algorithm_models.NO_ENTRIES): a build, a version and a secret of one must not show on
    its twin, and each then fills its own."""
    assert create(api, "Empty1").status_code == 200 and create(api, "Empty2").status_code == 200
    twin = api.get("/v1/algorithms/demo/Empty2").get_json()
    compile_(api, "Empty1")
    assert publish_request(api, "Empty1").status_code == 200
    one_id = api.get("/v1/algorithms/demo/Empty1").get_json()["id"]
    secret = {"short_name": "token", "secret_key": "TOKEN", "secret_value": "s3cret", "provider_id": "00000000-0000-4000-8000-000000000001"}
    assert api.post(f"/v1/algorithms/{one_id}/secrets", secret).status_code == 200
    assert len(api.get("/v1/algorithms/demo/Empty1/builds").get_json()["results"]) == 1
    assert api.get("/v1/algorithms/demo/Empty2").get_json() == twin
    assert api.get("/v1/algorithms/demo/Empty2/builds").get_json()["results"] == []
    assert api.get("/v1/algorithms/demo/Empty2/versions").get_json()["results"] == []
    assert api.get(f"/v1/algorithms/{twin['id']}/secrets").get_json()["results"] == []
    compile_(api, "Empty2")
    assert len(api.get("/v1/algorithms/demo/Empty1/builds").get_json()["results"]) == 1
    assert len(api.get("/v1/algorithms/demo/Empty2/builds").get_json()["results"]) == 1

"""Sandboxes through the Flask test client: routing, isolation, lifecycle and limits."""
import json

import pytest

from support.api import ADMIN, DEMO, error_of
from mockserver.app import create_app
from mockserver.settings import Settings

JSON = {"Content-Type": "application/json"}


def auth(key=DEMO):
    return {"Authorization": f"Simple {key}"}


@pytest.fixture(scope="module")
def app():
    app = create_app(Settings(profile_scale=0.0, sandbox_max=3))
    yield app
    app.extensions["mockserver.sandboxes"].close_all()


@pytest.fixture()
def client(app):
    app.extensions["mockserver.sandboxes"].close_all()
    app.extensions["mockserver"].reset()
    return app.test_client()


def create(client, body=None, status=201):
    response = client.post("/_mock/sandboxes", headers=JSON, data=json.dumps(body) if body is not None else None)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_sandbox_answers_under_its_prefix_with_links_that_keep_it(client):
    box = create(client, {"name": "ci shard 1"})
    assert box["base_url"] == f"http://localhost/sandboxes/{box['id']}" and box["name"] == "ci shard 1"
    base = f"/sandboxes/{box['id']}"
    user = client.get(f"{base}/v1/users/demo", headers=auth(ADMIN)).get_json()
    assert user["self_link"] == f"http://localhost{base}/v1/users/demo"
    page = client.get(f"{base}/v1/users", headers=auth(ADMIN), query_string={"limit": 1}).get_json()
    assert page["next_link"].startswith(f"http://localhost{base}/v1/users?")
    # the root is still the default sandbox, with unprefixed links
    assert client.get("/v1/users/demo", headers=auth(ADMIN)).get_json()["self_link"] == "http://localhost/v1/users/demo"


def test_objects_keys_faults_and_journal_stay_in_their_sandbox(client):
    own_key = "users:\n  - username: carol\n    email: carol@example.com\n    fullname: Carol\n" \
              "    keys: [{key: simCarolOnlyInOne0000000000}]\n"
    one, two = f"/sandboxes/{create(client, {'fixtures': own_key})['id']}", f"/sandboxes/{create(client)['id']}"
    body = {"username": "shared", "email": "shared@example.com", "fullname": "In One"}
    assert client.post(f"{one}/v1/users", headers={**auth(ADMIN), **JSON}, data=json.dumps(body)).status_code == 200
    error_of(client.get(f"{two}/v1/users/shared", headers=auth(ADMIN)), 404)
    error_of(client.get("/v1/users/shared", headers=auth(ADMIN)), 404)
    # a key of one sandbox is unknown in another
    assert client.get(f"{one}/v1/users/carol/algorithms", headers=auth("simCarolOnlyInOne0000000000")).status_code == 200
    error_of(client.get(f"{two}/v1/users/demo", headers=auth("simCarolOnlyInOne0000000000")), 401)
    fault = {"path": "/v1/scms", "status": 503, "code": 5001, "message": "down in one"}
    assert client.post(f"{one}/_mock/faults", headers=JSON, data=json.dumps(fault)).status_code == 201
    assert client.get(f"{one}/v1/scms", headers=auth()).status_code == 503
    assert client.get(f"{two}/v1/scms", headers=auth()).status_code == 200
    assert client.get("/v1/scms", headers=auth()).status_code == 200
    assert client.get(f"{two}/_mock/faults").get_json() == {"faults": []}
    journal = client.get(f"{two}/_mock/journal").get_json()["entries"]
    assert [(e["path"], e["status"]) for e in journal] == [("/v1/users/shared", 404), ("/v1/users/demo", 401),
                                                          ("/v1/scms", 200)]
    assert 'status="503"' in client.get(f"{one}/_mock/metrics").get_data(as_text=True)
    assert 'status="503"' not in client.get(f"{two}/_mock/metrics").get_data(as_text=True)


def test_reset_in_one_sandbox_leaves_the_other_intact(client):
    one, two = (f"/sandboxes/{create(client)['id']}" for _ in range(2))
    for base in (one, two):
        body = {"username": "keep", "email": "keep@example.com", "fullname": "Keep"}
        assert client.post(f"{base}/v1/users", headers={**auth(ADMIN), **JSON}, data=json.dumps(body)).status_code == 200
    assert client.post(f"{one}/_mock/reset", headers=JSON).get_json() == {"status": "reset"}
    error_of(client.get(f"{one}/v1/users/keep", headers=auth(ADMIN)), 404)
    assert client.get(f"{two}/v1/users/keep", headers=auth(ADMIN)).status_code == 200


def test_state_export_and_import_are_per_sandbox(client):
    one, two = (f"/sandboxes/{create(client)['id']}" for _ in range(2))
    body = {"username": "moved", "email": "moved@example.com", "fullname": "Moved"}
    client.post(f"{one}/v1/users", headers={**auth(ADMIN), **JSON}, data=json.dumps(body))
    state = client.get(f"{one}/_mock/state").get_json()
    assert client.put(f"{two}/_mock/state", headers=JSON, data=json.dumps(state)).status_code == 200
    assert client.get(f"{two}/v1/users/moved", headers=auth(ADMIN)).status_code == 200
    error_of(client.get("/v1/users/moved", headers=auth(ADMIN)), 404)


def test_custom_fixtures_seed_and_clock_per_sandbox(client):
    fixtures = "users:\n  - username: extra\n    email: extra@example.com\n    fullname: Extra\n"
    box = create(client, {"fixtures": fixtures, "seed": 7, "clock": "frozen"})
    base = f"/sandboxes/{box['id']}"
    assert box["seed"] == 7 and box["clock"] == "frozen"
    assert client.get(f"{base}/v1/users/extra", headers=auth(ADMIN)).status_code == 200
    assert client.get(f"{base}/v1/users/demo/algorithms", headers=auth()).status_code == 200     # on top of the server's
    error_of(client.get("/v1/users/extra", headers=auth(ADMIN)), 404)
    client.post(f"{base}/_mock/reset", headers=JSON)          # reset returns to these fixtures
    assert client.get(f"{base}/v1/users/extra", headers=auth(ADMIN)).status_code == 200
    # the same seed gives the same ids in two sandboxes, and again after a reset
    body = {"username": "same", "email": "same@example.com", "fullname": "Same"}
    bases = [f"/sandboxes/{create(client, {'seed': 7, 'clock': 'frozen'})['id']}" for _ in range(2)]
    made = [client.post(f"{b}/v1/users", headers={**auth(ADMIN), **JSON}, data=json.dumps(body)).get_json()
            for b in bases]
    client.post(f"{bases[0]}/_mock/reset", headers=JSON)
    made.append(client.post(f"{bases[0]}/v1/users", headers={**auth(ADMIN), **JSON}, data=json.dumps(body)).get_json())
    assert made[0]["id"] == made[1]["id"] == made[2]["id"]


def test_bad_create_bodies_answer_error_objects(client):
    error_of(client.post("/_mock/sandboxes", headers=JSON, data=json.dumps({"fixtures": "users: [{nope: 1}]"})), 400)
    error_of(client.post("/_mock/sandboxes", headers=JSON, data=json.dumps({"fixtures": "algorithms:\n  - owner: demo\n"
                                                                            "    name: X\n    path: /etc/passwd\n"})), 400)
    error_of(client.post("/_mock/sandboxes", headers=JSON, data=json.dumps({"clock": "sideways"})), 400)
    error_of(client.post("/_mock/sandboxes", headers=JSON, data=json.dumps({"surprise": 1})), 400)
    error_of(client.post("/_mock/sandboxes", headers={"Content-Type": "text/plain"}, data="{}"), 415)
    assert client.get("/_mock/sandboxes").get_json()["sandboxes"] == []     # nothing half-made


def test_unknown_deleted_and_nested_sandboxes(client):
    err = error_of(client.get("/sandboxes/nope/v1/users/demo", headers=auth()), 404)
    assert "nope" in err["message"]
    box = create(client)
    base = f"/sandboxes/{box['id']}"
    error_of(client.post(f"{base}/_mock/sandboxes", headers=JSON), 404)     # managed at the root only
    listed = client.get("/_mock/sandboxes").get_json()
    assert [s["id"] for s in listed["sandboxes"]] == [box["id"]] and listed["limits"]["count"] == 1
    assert client.get(f"/_mock/sandboxes/{box['id']}").get_json()["base_url"] == box["base_url"]
    assert client.delete(f"/_mock/sandboxes/{box['id']}", headers=JSON).get_json() == {"status": "deleted"}
    assert "deleted" in error_of(client.get(f"{base}/v1/users/demo", headers=auth()), 404)["message"]
    error_of(client.delete(f"/_mock/sandboxes/{box['id']}", headers=JSON), 404)


def test_the_count_limit_answers_429(client):
    for _ in range(3):
        create(client)
    err = error_of(client.post("/_mock/sandboxes", headers=JSON), 429)
    assert "MOCKSERVER_SANDBOX_MAX" in err["message"]


def test_idle_sandboxes_expire_after_the_ttl(app, client):
    registry = app.extensions["mockserver.sandboxes"]
    idle, used = create(client), create(client)
    ttl = app.extensions["mockserver"].settings.sandbox_ttl
    for box in (idle, used):
        registry.get(box["id"]).last_used -= ttl + 1          # both idle past the TTL...
    assert client.get(f"/sandboxes/{used['id']}/v1/users/demo", headers=auth()).status_code == 404
    err = error_of(client.get(f"/sandboxes/{idle['id']}/v1/users/demo", headers=auth()), 404)
    assert "expired" in err["message"] and "MOCKSERVER_SANDBOX_TTL" in err["message"]
    fresh = create(client)
    registry.get(fresh["id"]).last_used -= ttl - 60           # idle, but within the TTL
    assert client.get(f"/sandboxes/{fresh['id']}/v1/users/demo/algorithms", headers=auth()).status_code == 200
    assert [s["id"] for s in client.get("/_mock/sandboxes").get_json()["sandboxes"]] == [fresh["id"]]


def test_listing_drops_expired_sandboxes_and_frees_their_slots(app, client):
    registry = app.extensions["mockserver.sandboxes"]
    boxes = [create(client) for _ in range(3)]
    error_of(client.post("/_mock/sandboxes", headers=JSON), 429)
    registry.get(boxes[0]["id"]).last_used -= app.extensions["mockserver"].settings.sandbox_ttl + 1
    create(client)                                             # the expired one's slot is free again
    assert len(client.get("/_mock/sandboxes").get_json()["sandboxes"]) == 3


def test_the_memory_budget_answers_507():
    app = create_app(Settings(profile_scale=0.0, sandbox_memory_mb=1))
    err = error_of(app.test_client().post("/_mock/sandboxes", headers=JSON), 507)
    assert "MOCKSERVER_SANDBOX_MEMORY_MB" in err["message"]


def test_sandbox_control_calls_need_the_control_key():
    app = create_app(Settings(profile_scale=0.0, control_key="s3cret"))
    client = app.test_client()
    error_of(client.post("/_mock/sandboxes", headers=JSON), 401)
    box = client.post("/_mock/sandboxes", headers={**JSON, "X-Mock-Control-Key": "s3cret"}).get_json()
    base = f"/sandboxes/{box['id']}"
    error_of(client.post(f"{base}/_mock/reset", headers=JSON), 401)
    error_of(client.get(f"{base}/_mock/state"), 401)
    assert client.post(f"{base}/_mock/reset", headers={**JSON, "X-Mock-Control-Key": "s3cret"}).status_code == 200
    error_of(client.get(f"{base}/_mock/state", headers={"X-Mock-Control-Key": "s3cret", "Origin": "http://evil.example"}), 403)
    app.extensions["mockserver.sandboxes"].close_all()


def test_the_dashboard_lists_sandboxes_and_each_has_its_own(client):
    box = create(client, {"name": "shard-7"})
    page = client.get("/_mock").get_data(as_text=True)
    assert f'href="{box["base_url"]}/_mock/"' in page and "shard-7" in page
    inner = client.get(f"/sandboxes/{box['id']}/_mock").get_data(as_text=True)
    assert f"{box['base_url']}/v1" in inner and 'id="sandboxes"' not in inner


def test_a_mount_prefix_carries_into_sandbox_urls(client):
    """Behind a router, container n runs with SCRIPT_NAME=/c{n} (gunicorn strips it from the path)."""
    mounted = "http://localhost/c2"                  # the test client's SCRIPT_NAME
    response = client.post("/_mock/sandboxes", headers=JSON, base_url=mounted)
    box = response.get_json()
    assert box["base_url"] == f"http://localhost/c2/sandboxes/{box['id']}"
    user = client.get(f"/sandboxes/{box['id']}/v1/users/demo", headers=auth(ADMIN), base_url=mounted).get_json()
    assert user["self_link"] == f"{box['base_url']}/v1/users/demo"

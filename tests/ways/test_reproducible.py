"""--seed + --clock: the same requests give byte-identical responses (ids, keys, request ids, times)."""
import pytest

from mockserver.app import create_app
from mockserver.config import Settings

from conftest import ADMIN, DEMO

ALGO_SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl",
                 "network_access": "full", "pipeline_enabled": True, "environment": "cpu"}

SEQUENCE = [
    ("POST", "/v1/users", ADMIN, {"username": "carol", "email": "carol@example.com", "fullname": "Carol C"}),
    ("POST", "/v1/users/demo/keys", DEMO, {"key_label": "ci", "key_type": "ManagementKey"}),
    ("POST", "/v1/organizations", ADMIN, {"org_name": "globex", "org_label": "Globex", "org_contact_name": "Hank",
                                         "org_email": "hank@globex.com", "org_url": "https://globex.example",
                                         "type_id": "7f0a3c2e-5d0b-4b0e-9a51-000000000003",
                                         "resource_type": "organization"}),
    ("GET", "/v1/users/carol", ADMIN, None),
    ("GET", "/v1/users?limit=2", ADMIN, None),
    ("POST", "/v1/algorithms/demo", DEMO, {"name": "Snap", "details": {"label": "Snap"}, "settings": ALGO_SETTINGS}),
    ("POST", "/v1/algorithms/demo/Snap/compile", DEMO, None),
    ("GET", "/v1/algorithms/demo/Snap/builds", DEMO, None),
    ("POST", "/v1/algo/demo/Snap", DEMO, "world"),
    ("GET", "/v1/users/nobody", ADMIN, None),            # an error object: its id is seeded too
]


def run(seed, clock="step"):
    app = create_app(Settings(profile_scale=0.0, seed=seed, clock=clock))
    c = app.test_client()
    out = []
    for method, path, key, body in SEQUENCE:
        kwargs = {"headers": {"Authorization": f"Simple {key}"}}
        if isinstance(body, str):
            kwargs["data"], kwargs["content_type"] = body, "text/plain"
        elif body is not None:
            kwargs["json"] = body
        r = c.open(path, method=method, **kwargs)
        out.append((method, path, r.status_code, r.headers.get("X-Request-Id"), r.get_data()))
    app.extensions["mockserver"].ctx.engine.shutdown()
    return out


def test_same_seed_same_requests_same_bytes():
    first, second = run(7), run(7)
    assert first[0][2] == 200 and first[1][2] == 200 and first[2][2] == 200, first[:3]
    for a, b in zip(first, second):
        assert a == b, f"{a[0]} {a[1]} differs:\n{a[2:]}\n{b[2:]}"


def test_a_reset_restarts_the_sequences():
    app = create_app(Settings(profile_scale=0.0, seed=7, clock="step"))
    c = app.test_client()
    auth = {"Authorization": f"Simple {ADMIN}"}
    body = {"username": "carol", "email": "carol@example.com", "fullname": "Carol C"}
    one = c.post("/v1/users", json=body, headers=auth)
    c.post("/_mock/reset", json={})
    two = c.post("/v1/users", json=body, headers=auth)
    assert one.get_data() == two.get_data() and one.headers["X-Request-Id"] == two.headers["X-Request-Id"]


def test_another_seed_gives_other_ids():
    assert run(7)[0][4] != run(8)[0][4]


def test_frozen_clock_timestamps():
    app = create_app(Settings(profile_scale=0.0, seed=1, clock="frozen"))
    r = app.test_client().post("/v1/users", json={"username": "carol", "email": "c@example.com", "fullname": "C"},
                               headers={"Authorization": f"Simple {ADMIN}"})
    assert r.status_code == 200
    state = app.test_client().get("/_mock/state").get_json()
    assert state["users"]["carol"]["created_at"] == "2026-01-01T00:00:00.000Z"


def test_which_steps_ran():
    """Not an assertion on the mock: tells the reader which lifecycle routes took part."""
    statuses = {path: status for _m, path, status, _rid, _b in run(7)}
    if statuses["/v1/algorithms/demo/Snap/compile"] == 501:
        pytest.skip("compile answers 501 (lifecycle not emulated yet): the algorithm steps compared error objects")

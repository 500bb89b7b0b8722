"""--seed + --clock: the same requests give byte-identical responses (ids, keys, request ids, times)."""
import json

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings

from support.algorithms import SETTINGS as ALGO_SETTINGS
from support.api import ADMIN, DEMO


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
    """SEQUENCE on a new app: (method, path, status, request id, body) of each answer."""
    return run_with(seed, clock, 0.0, ())


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


def test_every_step_answers_its_contract_status():
    """The compared bytes are the real answers: every step succeeds except the two meant to fail
    (no public version of Snap to call yet; no user ``nobody``)."""
    steps = run(7)
    assert [status for _m, _p, status, _rid, _b in steps] == [200] * 8 + [404, 404]
    assert [json.loads(body)["error"]["code"] for *_rest, body in steps[-2:]] == [1001, 3000]


INTERLUDES = [("GET", "/_mock/health"), ("GET", "/_mock/journal"), ("GET", "/_mock/state"),
              ("GET", "/_mock/metrics"), ("GET", "/_mock/faults"), ("GET", "/_mock/"), ("GET", "/favicon.ico")]


def run_with(seed, clock, scale, interludes):
    """SEQUENCE, with control-plane and dashboard requests in between when ``interludes``."""
    app = create_app(Settings(profile_scale=scale, seed=seed, clock=clock))
    c = app.test_client()
    out = []
    for i, (method, path, key, body) in enumerate(SEQUENCE):
        for control_method, control_path in interludes[: i % (len(interludes) + 1)]:
            expected = 404 if control_path == "/favicon.ico" else 200      # the dashboard has no icon
            assert c.open(control_path, method=control_method).status_code == expected, control_path
        kwargs = {"headers": {"Authorization": f"Simple {key}"}}
        if isinstance(body, str):
            kwargs["data"], kwargs["content_type"] = body, "text/plain"
        elif body is not None:
            kwargs["json"] = body
        r = c.open(path, method=method, **kwargs)
        out.append((method, path, r.status_code, r.headers.get("X-Request-Id"), r.get_data()))
    app.extensions["mockserver"].ctx.engine.shutdown()
    return out


@pytest.mark.parametrize("clock", ["frozen", "step"])
def test_control_plane_requests_in_between_change_no_byte(clock):
    plain, busy = run_with(42, clock, 0.0, []), run_with(42, clock, 0.0, INTERLUDES)
    for a, b in zip(plain, busy):
        assert a == b, f"{a[0]} {a[1]} differs:\n{a[2:]}\n{b[2:]}"


def test_simulated_durations_are_reproducible_with_a_frozen_clock():
    """metadata.duration leaves the code's real run time out; cold start and overhead stay in."""
    first, second = invoke_twice("frozen"), invoke_twice("frozen", interlude=True)
    assert first == second
    cold, warm = (json.loads(body)["metadata"]["duration"] for body in first)
    # python3-cpu: the cold call pays cold_start_s (0.25) and overhead_s (0.002), the warm one
    # the overhead only, times the scale
    assert (cold, warm) == (round((0.25 + 0.002) * 0.01, 6), round(0.002 * 0.01, 6))


def invoke_twice(clock, interlude=False):
    app = create_app(Settings(profile_scale=0.01, seed=42, clock=clock))
    c = app.test_client()
    bodies = []
    for _ in range(2):
        if interlude:
            c.get("/_mock/health")
        r = c.post("/v1/algo/demo/Hello", json="Neo", headers={"Authorization": f"Simple {DEMO}"})
        assert r.status_code == 200 and r.get_json()["result"] == "Hello Neo", r.data
        bodies.append(r.get_data())
    app.extensions["mockserver"].ctx.engine.shutdown()
    return bodies


def test_real_clock_reports_measured_durations():
    cold, warm = (json.loads(body)["metadata"]["duration"] for body in invoke_twice("real"))
    assert cold > 0.25 * 0.01 and warm > 0.002 * 0.01     # simulated delays plus the real run time


def test_object_ids_do_not_depend_on_unrelated_requests():
    def created_algorithm_id(before):
        app = create_app(Settings(profile_scale=0.0, seed=42, clock="frozen"))
        c = app.test_client()
        for method, path, key in before:
            c.open(path, method=method, headers={"Authorization": f"Simple {key}"} if key else {})
        r = c.post("/v1/algorithms/demo", json={"name": "Snap", "details": {"label": "Snap"},
                                                "settings": ALGO_SETTINGS},
                   headers={"Authorization": f"Simple {DEMO}"})
        assert r.status_code == 200, r.data
        app.extensions["mockserver"].ctx.engine.shutdown()
        return r.get_json()["id"]
    alone = created_algorithm_id([])
    assert alone == created_algorithm_id([("GET", "/_mock/health", None)])
    assert alone == created_algorithm_id([("GET", "/v1/users/demo", DEMO), ("GET", "/v1/users/nobody", ADMIN),
                                          ("GET", "/v1/users/demo", "simWrongKey")])

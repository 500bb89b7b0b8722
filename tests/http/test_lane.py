"""The lane (web/lane.py) answers its operations exactly as Flask does: the same requests sent to
an app with the lane and to one without it give the same answers, journal entries and metrics."""
from __future__ import annotations

import json
import re

import pytest

from mockserver.app import LANE_OPERATIONS, create_app
from mockserver.web.lane import ROUTE_PATH_MAX
from mockserver.settings import Settings
from support.api import BOB, DEMO

AUTH = {"Authorization": f"Simple {DEMO}"}
JSON = {**AUTH, "Content-Type": "application/json"}
CREATE = json.dumps({"name": "Made", "details": {"label": "x"},
                     "settings": {"source_visibility": "open", "license": "apl", "royalty_microcents": 0,
                                  "network_access": "isolated", "pipeline_enabled": False}})

# (method, path, body, headers): every way into the lane's operations, and a few beside them.
REQUESTS = [
    ("GET", "/v1/algorithms/demo/Hello", None, AUTH),
    ("GET", "/v1/algorithms/demo/Hello/", None, AUTH),                      # trailing slash
    ("GET", "/v1/algorithms/demo/NoSuch", None, AUTH),
    ("GET", "/v1/algorithms/demo/Hello", None, {}),                         # no key
    ("GET", "/v1/algorithms/demo/Hello", None, {"Authorization": "Simple nope"}),
    ("GET", "/v1/algorithms/demo/Hello", None, {**AUTH, "Origin": "http://localhost:3000"}),
    ("GET", "/v1/algorithms/demo/Hello?unknown=1", None, AUTH),
    ("HEAD", "/v1/algorithms/demo/Hello", None, AUTH),                      # Flask's, beside the lane
    ("POST", "/v1/algorithms/demo", CREATE, JSON),
    ("POST", "/v1/algorithms/demo", CREATE, JSON),                          # the name is taken
    ("POST", "/v1/algorithms/demo", CREATE.replace("Made", "Made2"), AUTH),  # no Content-Type
    ("POST", "/v1/algorithms/demo", CREATE.replace("Made", "Noted").replace('"license"', '"colour": 1, "license"'),
     JSON),                                                                 # an ignored settings key: a note
    ("POST", "/v1/algorithms/demo", '{"name": ', JSON),                     # not JSON
    ("POST", "/v1/algorithms/demo", '{"name": 5}', JSON),                   # not the schema
    ("POST", "/v1/algorithms/demo", "", JSON),                              # no body
    ("POST", "/v1/algorithms/demo", "name=x", {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}),
    ("POST", "/v1/algorithms/bob", CREATE, JSON),                           # someone else's account
    ("POST", "/v1/algorithms/demo", CREATE.replace("Made", "ByBob"), {"Authorization": f"Simple {BOB}",
                                                                      "Content-Type": "application/json"}),
    ("GET", "/v1/algorithms/demo/Made", None, AUTH),
    ("POST", "/v1/algo/demo/Hello", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Hello", "Neo", {**AUTH, "Content-Type": "text/plain"}),
    ("POST", "/v1/algo/demo/Hello?output=raw", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Hello?stdout=true&timeout=30", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Hello?timeout=soon", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Hello/1.0.0", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Hello/9.9.9", '"Neo"', JSON),
    ("POST", "/v1/algo/demo/Failing", '"x"', JSON),
    ("POST", "/v1/algo/demo/Failing?output=raw", '"x"', JSON),
    ("POST", "/v1/algo/demo/NoSuch", '"x"', JSON),
    ("POST", "/v1/algo/demo/JsonTransform", '{"a": [1, 2]}', JSON),
    ("POST", "/v1/algo/demo/Hello", '"Neo"', {}),
    ("PUT", "/v1/algo/demo/Hello", '"Neo"', JSON),                          # 405, Flask's
    ("POST", "/v1/algo/demo/Hello", '"Neo"', {**JSON, "Transfer-Encoding": "chunked"}),
]

_DURATION = re.compile(rb'"duration":[0-9.e-]+')


def _app(lane: bool):
    return create_app(Settings(profile_scale=0.0, seed=99, clock="frozen"), lane=lane)


@pytest.fixture(scope="module")
def apps():
    made = {lane: _app(lane) for lane in (True, False)}
    yield made
    for app in made.values():
        app.extensions["mockserver"].close()


def _answer(app, method, path, body, headers):
    path, _, query = path.partition("?")
    r = app.test_client().open(path, method=method, data=body, headers=headers, query_string=query or None)
    return r.status, sorted(r.headers.items()), _DURATION.sub(b'"duration":0', r.data)


def _journal(app):
    entries = app.extensions["mockserver"].journal.entries()
    for entry in entries:
        entry.pop("time"), entry.pop("duration_ms")
        entry["response_body"] = re.sub(r'"duration": ?[0-9.e-]+', '"duration":0', str(entry["response_body"]))
    return entries


def _request_counts(app):
    text = app.test_client().get("/_mock/metrics").get_data(as_text=True)
    return sorted(line for line in text.splitlines() if line.startswith(("mockserver_requests_total",
                                                                         "mockserver_invocations_total",
                                                                         "mockserver_faults_injected_total")))


def _both(apps, method, path, body=None, headers=None):
    with_lane, without = (_answer(apps[lane], method, path, body, headers or {}) for lane in (True, False))
    assert with_lane == without, f"{method} {path}"
    return with_lane


def test_the_lane_answers_as_flask_does(apps):
    for request in REQUESTS:
        _both(apps, *request)
    assert _journal(apps[True]) == _journal(apps[False])
    assert _request_counts(apps[True]) == _request_counts(apps[False])


def test_the_lane_serves_its_operations_and_only_those(apps):
    lane = apps[True].wsgi_app
    while not hasattr(lane, "routes"):
        lane = lane.app
    lane.routes.clear()
    for request in REQUESTS:
        _both(apps, *request)
    served = {route[0] for route in lane.routes.values() if route}
    assert served == LANE_OPERATIONS


def test_injected_faults_and_cors_apply_in_the_lane(apps):
    for app in apps.values():
        r = app.test_client().post("/_mock/faults", json={"method": "POST", "path": "/v1/algo/demo/Hello",
                                                          "status": 503, "times": 1})
        assert r.status_code in (200, 201), r.data
    status, headers, _ = _both(apps, "POST", "/v1/algo/demo/Hello", '"Neo"', {**JSON, "Origin": "https://app.example"})
    assert status.startswith("503") and ("Access-Control-Allow-Origin", "*") in headers
    assert _both(apps, "POST", "/v1/algo/demo/Hello", '"Neo"', JSON)[0].startswith("200")   # the fault is spent
    assert _journal(apps[True]) == _journal(apps[False])


@pytest.mark.parametrize("path", ["/v1/algo/demo/Hello", "/v1/algorithms/demo"])
def test_a_body_cut_off_gets_the_same_answer(apps, path):
    answers = [apps[lane].test_client().open(path, method="POST", data=b'"Ne', headers=JSON,
                                             environ_overrides={"CONTENT_LENGTH": "10"}) for lane in (True, False)]
    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].get_json() == answers[1].get_json()
    assert answers[0].get_json()["error"]["message"] == "The request body was cut off"
    assert _journal(apps[True]) == _journal(apps[False])


def test_the_route_cache_is_bounded(apps):
    lane = apps[True].wsgi_app
    while not hasattr(lane, "routes"):
        lane = lane.app
    lane.routes_max = 64
    for i in range(100):        # to both apps: every test keeps their id sequences in step
        _both(apps, "GET", f"/v1/algorithms/demo/N{i}", None, AUTH)
    assert len(lane.routes) <= lane.routes_max
    long = "L" * ROUTE_PATH_MAX
    assert _both(apps, "GET", f"/v1/algorithms/demo/{long}", None, AUTH)[0].startswith("404")
    assert not any(len(path) > ROUTE_PATH_MAX for _method, path in lane.routes)


def test_cors_with_an_origin_list_applies_in_the_lane():
    """With named origins every answer varies on Origin (the lane's answers add it as Werkzeug's do)."""
    made = {lane: create_app(Settings(profile_scale=0.0, seed=99, clock="frozen",
                                      cors_origins="http://localhost:3000"), lane=lane) for lane in (True, False)}
    try:
        for origin in ({"Origin": "http://localhost:3000"}, {"Origin": "https://elsewhere.example"}, {}):
            for request in (("GET", "/v1/algorithms/demo/Hello", None, AUTH),
                            ("GET", "/v1/algorithms/demo/NoSuch", None, AUTH),
                            ("POST", "/v1/algo/demo/Hello?output=raw", '"Neo"', JSON),
                            ("POST", "/v1/algorithms/demo", '{"name": 5}', JSON)):
                method, path, body, headers = request
                _, answer, _ = _both(made, method, path, body, {**headers, **origin})
                assert ("Vary", "Origin") in answer
                assert (("Access-Control-Allow-Origin", "http://localhost:3000") in answer) == bool(
                    origin.get("Origin") == "http://localhost:3000")
    finally:
        for app in made.values():
            app.extensions["mockserver"].close()

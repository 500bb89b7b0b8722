"""Fault injection: POST/GET/DELETE /_mock/faults, matching, counts, probability, drop, delay."""
import time

import pytest
import requests

from support.api import DEMO, error_of


def add(client, **fault):
    r = client.post("/_mock/faults", json=fault)
    assert r.status_code == 201, r.data
    return r.get_json()


@pytest.fixture()
def c(app, server):
    return app.test_client()


H = {"Authorization": f"Simple {DEMO}"}


def test_times_then_gone_and_listed_with_remaining(c):
    f = add(c, method="GET", path="/v1/users/*", status=503, code=5001, message="down for maintenance", times=2)
    assert f["remaining"] == 2 and f["id"] == "fault-1"
    err = error_of(c.get("/v1/users/demo/algorithms", headers=H), 503, 5001)
    assert err["message"] == "down for maintenance"
    assert c.get("/_mock/faults").get_json()["faults"][0]["remaining"] == 1
    error_of(c.get("/v1/users/demo/algorithms", headers=H), 503)
    assert c.get("/v1/users/demo/algorithms", headers=H).status_code == 200
    assert c.get("/_mock/faults").get_json() == {"faults": []}


def test_method_and_pattern_must_match(c):
    add(c, method="POST", path="/v1/users/*", status=500)
    assert c.get("/v1/users/demo/algorithms", headers=H).status_code == 200          # other method
    add(c, path="^/v1/organizations/[a-z]+$", status=418, code=6001)       # regex
    error_of(c.get("/v1/organizations/acme", headers=H), 418, 6001)
    assert c.get("/v1/scms", headers=H).status_code == 200


def test_glob_matches_across_slashes_and_default_code(c):
    add(c, path="/v1/*", status=500)
    error_of(c.get("/v1/users/demo/keys", headers=H), 500, 5001)
    add(c, path="/v2/*", status=404)
    error_of(c.get("/v2/x", headers=H), 404, 6001)


def test_delete_clears_and_delete_one(c):
    a = add(c, path="/v1/scms", status=500)
    add(c, path="/v1/users", status=500)
    assert len(c.delete(f"/_mock/faults/{a['id']}", content_type="application/json").get_json()["faults"]) == 1
    error_of(c.delete("/_mock/faults/fault-99", content_type="application/json"), 404, 6001)
    assert c.delete("/_mock/faults", content_type="application/json").get_json() == {"faults": []}
    assert c.get("/v1/scms", headers=H).status_code == 200


def test_reset_clears_faults(c):
    add(c, path="/v1/scms", status=500)
    c.post("/_mock/reset", json={})
    assert c.get("/_mock/faults").get_json() == {"faults": []}
    assert c.get("/v1/scms", headers=H).status_code == 200


def test_control_api_is_never_faulted(c):
    add(c, path="*", status=500)
    assert c.get("/_mock/health").status_code == 200
    assert c.get("/_mock/faults").status_code == 200


def test_probability_with_seed_is_reproducible(c):
    def pattern():
        c.delete("/_mock/faults", content_type="application/json")
        add(c, path="/v1/scms", status=500, probability=0.5, seed=42)
        return [c.get("/v1/scms", headers=H).status_code for _ in range(20)]
    first = pattern()
    assert first == pattern()
    assert 500 in first and 200 in first


def test_probability_and_times_combine(c):
    add(c, path="/v1/scms", status=500, probability=1.0, times=1)
    assert [c.get("/v1/scms", headers=H).status_code for _ in range(3)] == [500, 200, 200]


def test_delay_only_passes_through(c):
    add(c, path="/v1/scms", delay_ms=150, times=1)
    started = time.perf_counter()
    r = c.get("/v1/scms", headers=H)
    assert r.status_code == 200 and time.perf_counter() - started >= 0.15


def test_fault_runs_before_the_gate(c):
    # no Authorization at all: the fault answers, not 2002
    add(c, path="/v1/scms", status=503, times=1)
    error_of(c.get("/v1/scms"), 503)


@pytest.mark.parametrize("body, words", [
    ({"path": "/x"}, "effect"),
    ({"status": 500}, "path"),
    ({"path": "/x", "status": 99}, "status"),
    ({"path": "/x", "status": 500, "drop": True}, "exclude"),
    ({"path": "/x", "status": 500, "times": 0}, "times"),
    ({"path": "/x", "status": 500, "probability": 2}, "probability"),
    ({"path": "/x", "status": "500"}, "status"),
    ({"path": "/x", "status": 500, "method": "FETCH"}, "method"),
    ({"path": "^(", "status": 500}, "regular expression"),
    ({"path": "/x", "status": 500, "colour": 1}, "'colour' was unexpected"),
    ([1], "is not of type 'object'"),
])
def test_bad_fault_is_an_error_object(c, body, words):
    err = error_of(c.post("/_mock/faults", json=body), 400, 6001)
    assert words in err["message"]


def test_bad_json(c):
    error_of(c.post("/_mock/faults", data="{", content_type="application/json"), 400, 2013)


def test_drop_under_test_client_explains(c):
    add(c, path="/v1/scms", drop=True)
    err = error_of(c.get("/v1/scms", headers=H), 502)
    assert "live server" in err["message"]


def test_drop_breaks_the_answer_under_waitress(live_server):
    """waitress: the head and one byte of a longer body, then the connection closes."""
    url = live_server.url
    requests.post(f"{url}/_mock/faults", json={"path": "/v1/scms", "drop": True, "times": 1}).raise_for_status()
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="Connection broken: IncompleteRead"):
        requests.get(f"{url}/v1/scms", headers=H, timeout=5)
    assert requests.get(f"{url}/v1/scms", headers=H, timeout=5).status_code == 200
    entry = requests.get(f"{url}/_mock/journal").json()["entries"][0]
    assert entry["fault"] == "fault-1"


def test_official_client_retries_compile_once(live_server):
    """algo.compile() retries once on a non-2xx answer (Algorithmia/algorithm.py: retry=True)."""
    import Algorithmia
    url = live_server.url
    client = Algorithmia.client(DEMO, url)
    algo = client.algo("demo/RetryMe")
    algo.create(details={"label": "RetryMe"},
                settings={"language": "python3-1", "source_visibility": "closed", "license": "apl",
                          "network_access": "full", "pipeline_enabled": True, "environment": "cpu"})
    requests.post(f"{url}/_mock/faults", json={"method": "POST", "path": "/v1/algorithms/demo/RetryMe/compile",
                                               "status": 500, "times": 1}).raise_for_status()
    algo.compile()
    entries = requests.get(f"{url}/_mock/journal").json()["entries"]
    compiles = [e["status"] for e in entries if e["path"].endswith("/RetryMe/compile")]
    assert compiles[:2] == [500, 200], compiles
    # twice in a row: the one retry is not enough, the client raises
    requests.post(f"{url}/_mock/faults", json={"method": "POST", "path": "*/compile", "status": 500, "times": 2})
    with pytest.raises(Exception):
        algo.compile()

"""CORS on every route; preflights answered before routing and auth."""
import pytest

from mockserver.app import create_app
from mockserver.settings import Settings

from support.api import DEMO


@pytest.fixture(scope="module")
def listed():
    return create_app(Settings(profile_scale=0.0, cors_origins="http://localhost:3000, https://app.example")).test_client()


PREFLIGHT = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.mark.parametrize("path", ["/v1/users/demo/algorithms", "/v1/algo/demo/Hello", "/v1/data/.my/x", "/no/such/route"])
def test_preflight_204_on_any_route(app, server, path):
    r = app.test_client().open(path, method="OPTIONS", headers=PREFLIGHT)
    assert r.status_code == 204 and r.data == b""
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in r.headers["Access-Control-Allow-Methods"] and "DELETE" in r.headers["Access-Control-Allow-Methods"]


def test_simple_responses_and_errors_carry_cors_headers(app, server):
    c = app.test_client()
    ok = c.get("/v1/users/demo/algorithms", headers={"Origin": "http://x", "Authorization": f"Simple {DEMO}"})
    err = c.get("/v1/users/demo/algorithms", headers={"Origin": "http://x"})              # 401 error object
    missing = c.get("/nope", headers={"Origin": "http://x"})                     # 404 error object
    for r in (ok, err, missing):
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        exposed = r.headers["Access-Control-Expose-Headers"]
        assert "X-Request-Id" in exposed and "X-Data-Type" in exposed


def test_options_without_preflight_headers_is_an_error_object(app, server):
    r = app.test_client().open("/v1/users/demo/algorithms", method="OPTIONS")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == 6001


def test_configured_origins_are_echoed_others_refused(listed):
    r = listed.open("/v1/users/demo/algorithms", method="OPTIONS", headers=PREFLIGHT)
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Origin" in r.headers["Vary"]
    other = listed.get("/v1/users/demo/algorithms", headers={"Origin": "https://evil.example", "Authorization": f"Simple {DEMO}"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]
    ok = listed.get("/v1/users/demo/algorithms", headers={"Origin": "https://app.example", "Authorization": f"Simple {DEMO}"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_env_var(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_CORS_ORIGINS", "https://a.example")
    assert Settings.from_env().cors_origins == "https://a.example"

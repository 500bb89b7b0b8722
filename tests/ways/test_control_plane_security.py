"""The control plane (/_mock) under attack: cross-site requests, DNS rebinding, no key, a state wipe.

Each test plays one attack from issue 14 and checks the error object, that the state is
intact, and that /v1 (the frontend sandbox) still works as before.
"""
import shutil
import subprocess

import pytest
import requests

from mockserver.app import create_app
from mockserver.settings import Settings

from support.api import ADMIN, DEMO, error_of
from support.processes import served

KEY = "test-control-key-0123456789"
JSON = {"Content-Type": "application/json"}
NEW_USER = {"username": "carol", "email": "carol@example.com", "fullname": "Carol"}


@pytest.fixture(scope="module")
def keyed():
    """A loopback server whose control key is set: then it is always required."""
    return create_app(Settings(profile_scale=0.0, control_key=KEY))


@pytest.fixture()
def kc(keyed):
    keyed.extensions["mockserver"].reset()
    return keyed.test_client()


def _user_count(app):
    with app.extensions["mockserver"].ctx.store.read() as state:
        return len(state.users)


# ------------------------------------------------------------------ cross-site

def test_cross_origin_binding_put_is_refused_without_cors(app, server):
    c = app.test_client()
    r = c.put("/_mock/algorithms/demo/Hello/binding", json={"target": "os:system"},
              headers={"Origin": "https://evil.example"})
    error_of(r, 403, 2001)
    assert "Access-Control-Allow-Origin" not in r.headers
    assert c.get("/_mock/algorithms/bindings").get_json() == {}


def test_control_preflight_is_refused_and_carries_no_cors(app, server):
    r = app.test_client().open("/_mock/algorithms/demo/Hello/binding", method="OPTIONS",
                               headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    error_of(r, 403, 2001)
    assert not [h for h in r.headers.keys() if h.lower().startswith("access-control-")]


def test_no_cors_headers_on_control_answers_even_for_same_origin(app, server):
    r = app.test_client().get("/_mock/health", headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_same_origin_page_may_call_the_control_api(app, server):
    r = app.test_client().post("/_mock/reset", json={}, headers={"Origin": "http://localhost"})
    assert r.status_code == 200


@pytest.mark.parametrize("origin", ["null", "http://localhost:3000", "http://localhost.evil.example",
                                    "https://localhost", "garbage"])
def test_every_other_origin_is_refused(app, server, origin):
    before = _user_count(app)
    r = app.test_client().post("/_mock/reset", json={}, headers={"Origin": origin})
    error_of(r, 403, 2001)
    assert _user_count(app) == before


def test_cross_site_fetch_metadata_without_origin_is_refused(app, server):
    error_of(app.test_client().get("/_mock/state", headers={"Sec-Fetch-Site": "cross-site"}), 403, 2001)
    error_of(app.test_client().get("/_mock/state", headers={"Sec-Fetch-Site": "same-site"}), 403, 2001)
    assert app.test_client().get("/_mock/health", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_simple_request_content_types_cannot_change_state(app, server, content_type):
    c = app.test_client()
    c.post("/v1/users", json=NEW_USER, headers={"Authorization": f"Simple {ADMIN}"})
    headers = {"Content-Type": content_type} if content_type else {}
    error_of(c.post("/_mock/reset", data="{}", headers=headers), 415, 6001)
    error_of(c.put("/_mock/state", data="{}", headers=headers), 415, 6001)
    error_of(c.post("/_mock/fixtures", data="users: []", headers=headers), 415, 6001)
    if content_type:        # a bodiless call with a Content-Type header (what an empty form sends)
        error_of(c.delete("/_mock/faults", headers=headers), 415, 6001)
        error_of(c.post("/_mock/reset", headers=headers), 415, 6001)
    assert c.get("/v1/users/carol", headers={"Authorization": f"Simple {ADMIN}"}).status_code == 200


# ------------------------------------------------------------------ bodiless calls from scripts

def test_bodiless_calls_without_browser_headers_need_no_content_type(app, server):
    """curl -X POST .../_mock/reset, as WireMock's and moto's resets take it."""
    c = app.test_client()
    c.post("/v1/users", json=NEW_USER, headers={"Authorization": f"Simple {ADMIN}"})
    r = c.post("/_mock/reset")
    assert r.status_code == 200 and r.get_json() == {"status": "reset"}
    error_of(c.get("/v1/users/carol", headers={"Authorization": f"Simple {ADMIN}"}), 404)
    assert c.delete("/_mock/faults").status_code == 200
    sandbox = c.post("/_mock/sandboxes", json={}).get_json()["id"]
    assert c.delete(f"/_mock/sandboxes/{sandbox}").status_code == 200
    assert c.get(f"/_mock/sandboxes/{sandbox}").status_code == 404


@pytest.mark.parametrize("browser", [{"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}])
def test_bodiless_calls_from_a_browser_keep_the_content_type_rule(app, server, browser):
    c = app.test_client()
    err = error_of(c.post("/_mock/reset", headers=browser), 415, 6001)
    assert "application/json" in err["message"]
    sandbox = c.post("/_mock/sandboxes", json={}).get_json()["id"]
    error_of(c.delete(f"/_mock/sandboxes/{sandbox}", headers=browser), 415, 6001)
    assert c.get(f"/_mock/sandboxes/{sandbox}").status_code == 200          # still there
    assert c.post("/_mock/reset", headers={**browser, **JSON}).status_code == 200


@pytest.mark.parametrize("browser", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_bodiless_calls_from_another_site_are_refused(app, server, browser):
    c = app.test_client()
    c.post("/v1/users", json=NEW_USER, headers={"Authorization": f"Simple {ADMIN}"})
    error_of(c.post("/_mock/reset", headers=browser), 403, 2001)
    sandbox = c.post("/_mock/sandboxes", json={}).get_json()["id"]
    error_of(c.delete(f"/_mock/sandboxes/{sandbox}", headers=browser), 403, 2001)
    assert c.get("/v1/users/carol", headers={"Authorization": f"Simple {ADMIN}"}).status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_curl_resets_a_loopback_server_and_a_foreign_origin_cannot():
    """Issue 30: on the mockserver command (loopback, no control key), exactly as a user types it."""
    def curl(*args: str) -> tuple[int, str]:
        out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                             timeout=30).stdout
        body, _, status = out.rpartition("\n")
        return int(status), body

    with served() as (url, _port, _proc):
        admin = {"Authorization": f"Simple {ADMIN}"}
        requests.post(f"{url}/v1/users", json=NEW_USER, headers=admin, timeout=10).raise_for_status()
        status, body = curl("-X", "POST", "-H", "Origin: http://evil.example", f"{url}/_mock/reset")
        assert status == 403 and '"code":2001' in body
        assert requests.get(f"{url}/v1/users/carol", headers=admin, timeout=10).status_code == 200
        assert curl("-X", "POST", f"{url}/_mock/reset") == (200, '{"status":"reset"}')
        assert requests.get(f"{url}/v1/users/carol", headers=admin, timeout=10).status_code == 404
        sandbox = requests.post(f"{url}/_mock/sandboxes", json={}, timeout=10).json()["id"]
        assert curl("-X", "DELETE", "-H", "Origin: http://evil.example", f"{url}/_mock/sandboxes/{sandbox}")[0] == 403
        assert curl("-X", "DELETE", f"{url}/_mock/sandboxes/{sandbox}")[0] == 200
        assert requests.get(f"{url}/_mock/sandboxes/{sandbox}", timeout=10).status_code == 404
        status, body = curl("-X", "POST", "-d", "{}", f"{url}/_mock/reset")       # a body: the rule applies
        assert status == 415 and "application/json" in body


def test_bodiless_calls_still_need_the_control_key(kc, keyed):
    before = _user_count(keyed)
    error_of(kc.post("/_mock/reset"), 401, 2001)
    assert _user_count(keyed) == before
    assert kc.post("/_mock/reset", headers={"X-Mock-Control-Key": KEY}).status_code == 200


def test_v1_keeps_cors_for_the_frontend_sandbox(app, server):
    r = app.test_client().get("/v1/users/demo/algorithms", headers={"Origin": "https://app.example",
                                                          "Authorization": f"Simple {DEMO}"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


# ------------------------------------------------------------------ DNS rebinding

@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8080", "rebind.127.0.0.1.nip.io"])
def test_dns_rebinding_host_is_refused(app, server, host):
    error_of(app.test_client().get("/_mock/state", headers={"Host": host}), 403, 6001)
    error_of(app.test_client().post("/_mock/reset", json={}, headers={"Host": host}), 403, 6001)


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080",
                                  "app.localhost", "10.1.2.3:8080", "[fd00::1]"])
def test_loopback_names_and_address_literals_are_fine(app, server, host):
    assert app.test_client().get("/_mock/health", headers={"Host": host}).status_code == 200


def test_configured_public_names_are_fine():
    app = create_app(Settings(profile_scale=0.0, public_names=["mock"]))
    c = app.test_client()
    assert c.get("/_mock/health", headers={"Host": "mock:8080"}).status_code == 200
    error_of(c.get("/_mock/health", headers={"Host": "mock.evil:8080"}), 403, 6001)


def test_public_names_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_PUBLIC_NAMES", "mock, api.test")
    assert Settings.from_env().public_names == ["mock", "api.test"]


# ------------------------------------------------------------------ the control key

def test_with_a_key_every_control_call_needs_it(kc, keyed):
    assert kc.get("/_mock/health").status_code == 200                  # liveness stays open
    error_of(kc.get("/_mock/state"), 401, 2001)
    error_of(kc.get("/_mock/journal"), 401, 2001)
    error_of(kc.get("/_mock/metrics"), 401, 2001)
    error_of(kc.get("/_mock/openapi"), 401, 2001)
    error_of(kc.get("/_mock/state", headers={"X-Mock-Control-Key": "wrong"}), 401, 2002)
    assert kc.get("/_mock/state", headers={"X-Mock-Control-Key": KEY}).status_code == 200


def test_state_wipe_without_key_is_refused_and_state_kept(kc, keyed):
    before = _user_count(keyed)
    error_of(kc.put("/_mock/state", json={}), 401, 2001)
    error_of(kc.post("/_mock/reset", json={}), 401, 2001)
    assert _user_count(keyed) == before and before > 0
    assert kc.get("/v1/users/demo/algorithms", headers={"Authorization": f"Simple {DEMO}"}).status_code == 200


def test_fixture_cannot_plant_an_admin_key_without_the_key(kc, keyed):
    body = "admin_keys: [{key: plantedAdminKey000000000000}]"
    error_of(kc.post("/_mock/fixtures", data=body, content_type="application/x-yaml"), 401, 2001)
    error_of(kc.get("/v1/users", headers={"Authorization": "Simple plantedAdminKey000000000000"}), 401, 2002)
    ok = kc.post("/_mock/fixtures", data=body, content_type="application/x-yaml", headers={"X-Mock-Control-Key": KEY})
    assert ok.status_code == 200


def test_off_loopback_a_key_is_generated_and_required():
    app = create_app(Settings(profile_scale=0.0, host="0.0.0.0"))
    server = app.extensions["mockserver"]
    assert server.control_key_generated and len(server.control_key) >= 24
    c = app.test_client()
    error_of(c.post("/_mock/reset", json={}), 401, 2001)
    assert c.post("/_mock/reset", json={}, headers={"X-Mock-Control-Key": server.control_key}).status_code == 200
    assert c.get("/_mock/health").status_code == 200
    other = create_app(Settings(profile_scale=0.0, host="0.0.0.0")).extensions["mockserver"]
    assert other.control_key != server.control_key                     # random, not a constant


def test_a_configured_key_is_used_off_loopback(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_CONTROL_KEY", KEY)
    monkeypatch.setenv("MOCKSERVER_HOST", "0.0.0.0")
    server = create_app(Settings.from_env(profile_scale=0.0)).extensions["mockserver"]
    assert server.control_key == KEY and not server.control_key_generated


def test_loopback_without_a_key_stays_open(app, server):
    assert server.control_key is None
    assert app.test_client().get("/_mock/state").status_code == 200


# ------------------------------------------------------------------ the dashboard

def test_dashboard_shows_no_secret_before_sign_in(kc, keyed):
    page = kc.get("/_mock/").get_data(as_text=True)
    assert "sign-in" in page and KEY not in page
    for secret in (DEMO, ADMIN, "simAliceSandboxKey", "demo", "acme"):
        assert secret not in page


def test_dashboard_sign_in_sets_a_session_that_opens_the_control_api(kc, keyed):
    error_of(kc.post("/_mock/session", json={"control_key": "nope"}), 401, 2002)
    r = kc.post("/_mock/session", json={"control_key": KEY})
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and KEY not in cookie
    page = kc.get("/_mock/").get_data(as_text=True)
    assert DEMO in page and "Request journal" in page
    assert kc.get("/_mock/state").status_code == 200                     # the cookie authorizes the page's fetches
    kc.delete("/_mock/session", content_type="application/json")
    error_of(kc.get("/_mock/state"), 401, 2001)


def test_session_cookie_does_not_help_a_cross_site_request(kc, keyed):
    kc.post("/_mock/session", json={"control_key": KEY})
    error_of(kc.post("/_mock/reset", json={}, headers={"Origin": "https://evil.example"}), 403, 2001)


# ------------------------------------------------------------------ the control spec

def test_control_api_is_described_by_its_own_openapi_document(kc):
    doc = kc.get("/_mock/openapi", headers={"X-Mock-Control-Key": KEY}).get_json()
    assert doc["info"]["title"] == "algorithmia-mock control API"
    assert {"/_mock/reset", "/_mock/state", "/_mock/faults", "/_mock/fixtures"} <= set(doc["paths"])


def test_control_bodies_are_validated_by_the_spec(app, server):
    c = app.test_client()
    err = error_of(c.put("/_mock/algorithms/demo/Hello/binding", json={"target": 7}), 400, 6001)
    assert "body.target" in err["message"]
    err = error_of(c.post("/_mock/faults", json={"path": "/x", "status": 500, "times": "2"}), 400, 6001)
    assert "body.times" in err["message"]
    error_of(c.get("/_mock/journal", query_string={"limit": 0}), 400)

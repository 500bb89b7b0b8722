"""The control API: health, reset, journal, state export/import."""
import time

from support.api import error_of

NEW = {"username": "carol", "email": "carol@example.com", "fullname": "Carol"}


def test_health(api):
    r = api.get("/_mock/health", key=None)
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_reset_restores_loaded_fixtures_exactly(api, admin):
    before = api.get("/_mock/state").get_json()
    admin.post("/v1/users", NEW)
    admin.delete("/v1/organizations/acme")
    assert api.post("/_mock/reset").status_code == 200
    assert api.get("/_mock/state").get_json() == before
    error_of(admin.get("/v1/users/carol"), 404, 3000)


def test_journal_records_requests(api, admin):
    api.post("/_mock/reset")
    observed_ms, request_ids = [], []
    for path in ("/v1/users/demo", "/v1/users/nobody"):
        started = time.perf_counter()
        r = admin.get(path)
        observed_ms.append((time.perf_counter() - started) * 1000)
        request_ids.append(r.headers["X-Request-Id"])
    entries = api.get("/_mock/journal").get_json()["entries"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/v1/users/demo", 200), ("GET", "/v1/users/nobody", 404)]
    assert [e["request_id"] for e in entries] == request_ids
    # the server's own measure of each request: positive, in ms, within what the caller saw
    for entry, observed in zip(entries, observed_ms):
        assert 0 < entry["duration_ms"] <= observed, (entry["duration_ms"], observed)


def test_state_export_import_round_trip(api, admin):
    admin.post("/v1/users", NEW)
    exported = api.get("/_mock/state").get_json()
    api.post("/_mock/reset")
    error_of(admin.get("/v1/users/carol"), 404, 3000)
    r = api.put("/_mock/state", exported)
    assert r.status_code == 200, r.data
    assert admin.get("/v1/users/carol").get_json()["email"] == "carol@example.com"
    assert api.get("/_mock/state").get_json() == exported


def test_state_import_garbage_is_refused_and_state_kept(api, admin):
    before = api.get("/_mock/state").get_json()
    error_of(api.call("PUT", "/_mock/state", raw=b"{nope", headers={"Content-Type": "application/json"}), 400, 2013)
    error_of(api.put("/_mock/state", [1, 2]), 400)
    error_of(api.put("/_mock/state", {"users": {"x": {"nonsense": 1}}}), 400)
    assert api.get("/_mock/state").get_json() == before


def test_every_control_route_is_in_the_control_blueprint(app):
    rules = list(app.url_map.iter_rules())
    control = [r for r in rules if r.rule.startswith("/_mock")]
    assert control and all(r.endpoint.startswith("control.") for r in control)
    assert all(r.rule.startswith("/_mock") for r in rules if r.endpoint.startswith("control."))
    assert set(app.blueprints) == {"control"}


def test_request_hooks_run_in_the_documented_order(app):
    # One hook before and one after each view, each running its steps in order.
    [before] = app.before_request_funcs[None]
    assert [f.__name__ for f in before.steps] == ["preflight", "control_guard_check", "inject", "check_request"]
    # CORS headers first, then the record (journal, metrics, access line) sees the final answer.
    [after] = app.after_request_funcs[None]
    assert [f.__name__ for f in after.steps] == ["add_headers", "record"]
    assert not any(app.before_request_funcs.get("control", [])), "control hooks are app-wide, in one place"


REFUSED_DOCUMENT = """
users:
  - {username: zed, email: zed@example.com, fullname: Zed}
algorithms:
  - {owner: zed, name: Refused, binding: "os:system"}
"""


def test_a_fixture_document_applies_all_or_nothing(api, admin):
    """Issue 26: algorithms/0 was refused (403) and the users section stayed."""
    before = api.get("/_mock/state").get_json()
    r = api.post("/_mock/fixtures", raw=REFUSED_DOCUMENT.encode(), headers={"Content-Type": "application/x-yaml"})
    assert "at algorithms/0" in error_of(r, 403, 2001)["message"]
    assert api.get("/_mock/state").get_json() == before
    error_of(admin.get("/v1/users/zed"), 404, 3000)


def test_a_sandbox_whose_fixtures_are_refused_is_not_made(api):
    def ids():           # a listing's idle and expiry seconds move with the clock: compare the sandboxes
        return [s["id"] for s in api.get("/_mock/sandboxes").get_json()["sandboxes"]]

    listed = ids()
    r = api.post("/_mock/sandboxes", {"fixtures": REFUSED_DOCUMENT})
    assert "at algorithms/0" in error_of(r, 400)["message"]
    assert ids() == listed

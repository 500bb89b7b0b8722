"""The spec gate and the wire rules every endpoint shares."""
import pytest

from support.api import DEMO, error_of


def test_unknown_route_json_404(api):
    r = api.get("/v1/no/such/thing")
    error_of(r, 404)


def test_wrong_method_json_405(api):
    r = api.call("PATCH", "/v1/users")
    error_of(r, 405)
    assert "GET" in r.headers["Allow"]


def test_malformed_json_2013(admin):
    error_of(admin.call("POST", "/v1/users", raw=b'{"username": ', headers={"Content-Type": "application/json"}), 400, 2013)


def test_deeply_nested_json_is_refused_cleanly(admin):
    deep = b"[" * 100000 + b"]" * 100000
    error_of(admin.call("POST", "/v1/users", raw=deep, headers={"Content-Type": "application/json"}), 400)


def test_json_body_with_wrong_content_type_is_still_json(admin):
    r = admin.call("POST", "/v1/users", raw=b'{"username":"zed","email":"z@zed.com","fullname":"Zed"}',
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.data


@pytest.mark.parametrize("header", [f"Simple {DEMO}", DEMO, f"Bearer {DEMO}", f"simple {DEMO}"])
def test_auth_header_forms(api, header):
    r = api.get("/v1/scms", key=None, headers={"Authorization": header})
    assert r.status_code == 200


def test_missing_key_401(api):
    error_of(api.get("/v1/scms", key=None), 401)


def test_unknown_key_2002(api):
    error_of(api.get("/v1/scms", key="simNoSuchKey"), 401, 2002)


def test_trailing_slash_same_resource(api):
    assert api.get("/v1/scms/").get_json() == api.get("/v1/scms").get_json()


def test_bodiless_get_with_content_type_and_odd_accept(api):
    r = api.get("/v1/scms", headers={"Content-Type": "application/json", "Accept": "application/octet-stream"})
    assert r.status_code == 200 and r.is_json


def test_compact_json_no_trailing_newline(api):
    raw = api.get("/v1/scms").data
    assert not raw.endswith(b"\n") and b": " not in raw and b", " not in raw


def test_huge_numbers_and_wrong_types_are_4xx(admin):
    for body in ({"username": 10 ** 400, "email": "a@bc.com", "fullname": "x"}, [], "str", 1.5, None):
        r = admin.post("/v1/users", body) if body is not None else admin.call("POST", "/v1/users", raw=b"null",
                                                                             headers={"Content-Type": "application/json"})
        error_of(r, 400, 3001)


def test_openapi_spec_served(api):
    r = api.get("/v1/openapispec", key=None)
    assert r.status_code == 200 and r.get_json()["openapi"].startswith("3.")


def test_every_operation_has_a_handler(app):
    from mockserver.app import all_handlers
    spec_ops = set(app.extensions["mockserver"].spec.operations)
    missing = spec_ops - set(all_handlers())
    assert not missing, f"operations without a handler: {sorted(missing)}"

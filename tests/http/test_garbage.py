"""Garbage to every admin endpoint: only 4xx Algorithmia error objects, state intact."""
import pytest

from support.api import error_of

ADMIN_ROUTES = [
    ("POST", "/v1/users"), ("PUT", "/v1/users/demo"), ("POST", "/v1/organizations"),
    ("PUT", "/v1/organizations/acme"), ("PUT", "/v1/organizations/acme/members/demo"),
    ("POST", "/v1/admin/scms"), ("PATCH", "/v1/admin/scms/github"), ("POST", "/v1/users/demo/keys"),
    ("POST", "/v1/admin/users/demo/keys"),
]
GARBAGE = [
    b"{", b"[1,2", b"\xff\xfe\x00", b'"just a string"', b"12345", b"[]", b"null",
    b'{"username": 1e999999}', b'{"username": ' + b"9" * 5000 + b"}",
    b'{"username": {"$gt": ""}}', b'{"org_name": [1, {"a": null}]}', b'{"enabled": "yes"}',
    b'{"unknown_field": true, "another": [1,2,3]}', b"[" * 5000 + b"]" * 5000,
]


# Bodiless by the seeds: a JSON null is the same as no body there (test_other_clients_manage.py).
NULL_MEANS_NO_BODY = {("PUT", "/v1/organizations/acme/members/demo")}


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_garbage_bodies_get_4xx_error_objects(admin, method, path):
    before = admin.get("/_mock/state").get_json()
    for body in GARBAGE:
        if body == b"null" and (method, path) in NULL_MEANS_NO_BODY:
            continue
        for ctype in ("application/json", "text/plain", None):
            headers = {"Content-Type": ctype} if ctype else {}
            r = admin.call(method, path, raw=body, headers=headers)
            assert 400 <= r.status_code < 500, (method, path, body[:40], ctype, r.status_code, r.data[:200])
            error_of(r)
    assert admin.get("/_mock/state").get_json() == before


@pytest.mark.parametrize("query, code", [({"limit": "-5"}, 5003), ({"limit": "1e9"}, 5003), ({"limit": "9" * 400}, 5003),
                                         ({"marker": "%%%"}, 5002), ({"marker": "a" * 5000}, 5002), ({"limit": ""}, 5003)])
def test_garbage_query_on_lists(admin, query, code):
    for path in ("/v1/users", "/v1/organizations", "/v1/organizations/acme/members"):
        error_of(admin.get(path, **query), 400, code)


@pytest.mark.parametrize("header", ["Simple", "Bearer ", "Simple \x00", "x" * 10000, "Basic dXNlcjpwYXNz"])
def test_garbage_authorization(admin, header):
    r = admin.get("/v1/users", key=None, headers={"Authorization": header})
    error_of(r, 401, 2002)          # seed 002: "Unknown or invalid API key"


@pytest.mark.parametrize("path, code", [("/v1/users/%00", 3000), ("/v1/users/" + "a" * 3000, 3000),   # no such user
                                        ("/v1/organizations/..%2f..", 6001), ("/v1//users", 6001)])  # no such route
def test_weird_paths(admin, path, code):
    error_of(admin.get(path), 404, code)

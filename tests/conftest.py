"""Shared fixtures: an app on the default sandbox, a Flask test client, demo keys."""
from __future__ import annotations

import json

import pytest

from mockserver.app import create_app
from mockserver.config import Settings

ADMIN = "simAdminSandboxKey000000000"
DEMO = "simDemoSandboxKey0000000000"
ALICE = "simAliceSandboxKey000000000"
BOB = "simBobReadOnlyKey000000000"


@pytest.fixture(scope="session")
def app():
    return create_app(Settings(profile_scale=0.0, seed=1234))


@pytest.fixture()
def server(app):
    mock = app.extensions["mockserver"]
    mock.reset()
    return mock


class Api:
    """A Flask test client that speaks JSON and carries a key."""

    def __init__(self, client, key=DEMO):
        self.client = client
        self.key = key

    def call(self, method, path, body=None, *, key=..., raw=None, headers=None, **query):
        key = self.key if key is ... else key
        hdrs = dict(headers or {})
        if key:
            hdrs.setdefault("Authorization", f"Simple {key}")
        data = raw
        if body is not None:
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        return self.client.open(path, method=method, data=data, headers=hdrs, query_string=query or None)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.call("HEAD", path, **kw)

    def as_(self, key):
        return Api(self.client, key)


@pytest.fixture()
def api(app, server):
    return Api(app.test_client(), DEMO)


@pytest.fixture()
def admin(api):
    return api.as_(ADMIN)


def error_of(response, status=None, code=None):
    """Assert ``response`` is an Algorithmia error object; return its ``error``."""
    assert response.is_json, response.data[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["message"], str) and err["message"]
    if status is not None:
        assert response.status_code == status, (response.status_code, body)
    if code is not None:
        assert err["code"] == code, body
    return err

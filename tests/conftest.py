"""Shared fixtures: an app on the default sandbox, a Flask test client, demo keys."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.edge.app import create_app
from mockserver.settings import Settings
from spec_check import SpecChecker

ADMIN = "simAdminSandboxKey000000000"
DEMO = "simDemoSandboxKey0000000000"
ALICE = "simAliceSandboxKey000000000"
BOB = "simBobReadOnlyKey000000000"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    # Tests bind algorithms they write under tmp_path: allow that folder (and only that one).
    return create_app(Settings(profile_scale=0.0, seed=1234,
                               algorithm_dirs=[str(tmp_path_factory.getbasetemp())]))


@pytest.fixture()
def server(app):
    mock = app.extensions["mockserver"]
    mock.reset()
    return mock


class Api:
    """A Flask test client that speaks JSON, carries a key, and checks every
    response against the schema the spec documents for it."""

    def __init__(self, client, key=DEMO, checker=None):
        self.client = client
        self.key = key
        self.checker = checker or SpecChecker(client.application)

    def call(self, method, path, body=None, *, key=..., raw=None, headers=None, **query):
        key = self.key if key is ... else key
        hdrs = dict(headers or {})
        if key:
            hdrs.setdefault("Authorization", f"Simple {key}")
        data = raw
        if body is not None:
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        elif path.startswith("/_mock") and method not in ("GET", "HEAD"):
            hdrs.setdefault("Content-Type", "application/json")     # what the control guard asks of every client
        response = self.client.open(path, method=method, data=data, headers=hdrs, query_string=query or None)
        self.checker.check(method, path, response)
        return response

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
        return Api(self.client, key, self.checker)


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


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """One live server (own app) for end-to-end tests with real clients; reset per test via `live_server`."""
    from mockserver.serving.live import LiveServer
    server = LiveServer(Settings(profile_scale=0.0, page_default=5,
                                 algorithm_dirs=[str(tmp_path_factory.getbasetemp())])).start()
    yield server
    server.stop()


@pytest.fixture()
def live_server(live):
    live.mock.reset()
    return live


GENERATED_CLIENT = "algorithmia-api-client==1.5.5"


@pytest.fixture(scope="session")
def generated_client_path() -> str:
    """A directory holding algorithmia-api-client 1.5.5 (its deps come from the test env).

    It cannot be installed next to algorithmia 2.0.5, which pins 1.5.1 and imports
    a module 1.5.5 no longer has, so it is installed with --target, once per machine.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / "api-client-1.5.5"
    marker = cache / ".complete"
    if not marker.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(cache),
                        GENERATED_CLIENT], check=True)
        marker.touch()
    return str(cache)


def run_generated(path: str, script: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120)

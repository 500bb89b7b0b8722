"""What a newcomer trips on: fixtures that replace the sandbox, and a port already in use."""
import socket
import subprocess
import sys

import pytest

from mockserver.app import create_app
from mockserver.serving.cli import bind_problem
from mockserver.settings import Settings
from mockserver.fixtures import default_fixture

from support.api import ADMIN, DEMO, error_of
from support.processes import ROOT

EXTRA = ("admin_keys:\n  - key: simExtraAdminKey0000000000\n"
         "users:\n  - username: extra\n    email: extra@example.com\n    fullname: Extra\n"
         "    keys:\n      - key: simExtraFixtureKey00000000\n")


@pytest.fixture()
def extra_yaml(tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(EXTRA)
    return str(path)


def _app(**settings):
    app = create_app(Settings(profile_scale=0.0, **settings))
    yield app.test_client()
    app.extensions["mockserver"].ctx.engine.shutdown()


@pytest.fixture()
def replaced(extra_yaml):
    yield from _app(fixtures=[extra_yaml])


@pytest.fixture()
def extended(extra_yaml):
    yield from _app(extra_fixtures=[extra_yaml])


def auth(key):
    return {"Authorization": f"Simple {key}"}


def test_fixtures_replace_the_sandbox_and_errors_say_so(replaced, extra_yaml):
    assert replaced.get("/v1/users/extra/algorithms", headers=auth("simExtraFixtureKey00000000")).status_code == 200
    err = error_of(replaced.get("/v1/users/demo", headers=auth(DEMO)), 401)
    assert extra_yaml in err["message"] and "replace the bundled sandbox" in err["message"]
    assert "--extra-fixtures" in err["message"]
    err = error_of(replaced.get("/v1/users/demo", headers=auth("simExtraAdminKey0000000000")), 404, 3000)
    assert err["message"].startswith("The requested user was not found: demo")
    assert extra_yaml in err["message"]


def test_extra_fixtures_go_on_top_of_the_sandbox(extended):
    assert extended.get("/v1/users/extra/algorithms", headers=auth("simExtraFixtureKey00000000")).status_code == 200
    assert extended.get("/v1/users/demo/algorithms", headers=auth(DEMO)).status_code == 200
    # the sandbox is there: no hint about a replaced sandbox in ordinary errors
    err = error_of(extended.get("/v1/users/demo", headers=auth("simNoSuchKey00000000000000")), 401)
    assert "sandbox" not in err["message"]
    err = error_of(extended.get("/v1/users/nobody", headers=auth(ADMIN)), 404, 3000)
    assert "sandbox" not in err["message"]


def test_naming_the_sandbox_file_keeps_it(extra_yaml):
    for client in _app(fixtures=[str(default_fixture()), extra_yaml]):
        err = error_of(client.get("/v1/users/nobody", headers=auth(ADMIN)), 404, 3000)
        assert "sandbox" not in err["message"]


def test_extra_fixtures_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MOCKSERVER_EXTRA_FIXTURES", f"{tmp_path}/a.yaml:{tmp_path}/b.yaml")
    assert Settings.from_env().extra_fixtures == [f"{tmp_path}/a.yaml", f"{tmp_path}/b.yaml"]


def _listening():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_bind_problem_names_the_cause():
    with _listening() as busy:
        port = busy.getsockname()[1]
        assert bind_problem("127.0.0.1", port) == "address already in use"
    assert bind_problem("127.0.0.1", port) is None         # free again
    assert "cannot resolve" in bind_problem("no-such-host.invalid", 8080)


def test_port_in_use_fails_fast_with_one_line_and_exit_2():
    with _listening() as busy:
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "mockserver", "--host", "127.0.0.1", "--port", str(port)],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "serving" not in r.stdout and r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [f"mockserver: cannot listen on 127.0.0.1:{port}: address already in use"], r.stderr


def test_dashboard_asset_requests_stay_out_of_the_journal(app, server):
    c = app.test_client()
    c.post("/_mock/reset", json={})
    assert c.get("/_mock/").status_code == 200
    error_of(c.get("/favicon.ico"), 404)                 # what a browser asks for by itself
    assert c.get("/v1/users/demo/algorithms", headers=auth(DEMO)).status_code == 200
    paths = [e["path"] for e in c.get("/_mock/journal").get_json()["entries"]]
    assert paths == ["/v1/users/demo/algorithms"]

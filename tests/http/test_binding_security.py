"""Bindings name only code under the allowed roots and are imported in a worker process; bad
input to invocation and pagination gets error objects, never a 500. (Issues 14 and 15.)"""
from __future__ import annotations

import base64
import json
import os
import threading
import time

import pytest

from support.algorithms import SETTINGS
from support.api import ADMIN, DEMO, Api, error_of
from support.code import open_to_workers
from support.polling import until
from mockserver.app import create_app
from mockserver.runtime import Binding
from mockserver.settings import Settings


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("roots")
    allowed, outside = base / "allowed", base / "outside"
    allowed.mkdir()
    outside.mkdir()
    open_to_workers(allowed)          # bound over HTTP: a worker of another uid when the server is root
    (allowed / "hello.py").write_text("def apply(x):\n    return 'hello ' + str(x)\n")
    (allowed / "exits.py").write_text("import os\nos._exit(3)\n")
    (allowed / "hangs.py").write_text("import time\ntime.sleep(60)\n")
    (allowed / "slow.py").write_text("import time\ndef apply(x):\n    time.sleep(float(x))\n    return x\n")
    (allowed / "surrogate.py").write_text("def apply(x):\n    return '\\ud800'\n")
    (outside / "evil.py").write_text("def apply(x):\n    return 'pwned'\n")
    (allowed / "link.py").symlink_to(outside / "evil.py")
    return allowed, outside


@pytest.fixture(scope="module")
def secure_app(roots):
    app = create_app(Settings(profile_scale=0.0, algorithm_dirs=[str(roots[0])], invocations_per_key=1))
    yield app
    app.extensions["mockserver"].ctx.engine.shutdown()


@pytest.fixture()
def sapi(secure_app):
    server = secure_app.extensions["mockserver"]
    server.reset()
    server.ctx.engine.check_timeout_s = 2.0
    return Api(secure_app.test_client(), DEMO)


def _make(api, name):
    r = api.post("/v1/algorithms/demo", {"name": name, "details": {"label": name}, "settings": SETTINGS})
    assert r.status_code == 200, r.data


def _bind(api, name, target):
    return api.put(f"/_mock/algorithms/demo/{name}/binding", {"target": target})


def _publish_and_call(api, name, body):
    assert api.post(f"/v1/algorithms/demo/{name}/compile").status_code == 200
    r = api.post(f"/v1/algorithms/demo/{name}/versions",
                 {"settings": {"algorithm_callability": "public"},
                  "version_info": {"version_type": "minor", "release_notes": "r"}})
    assert r.status_code == 200, r.data
    return api.post(f"/v1/algo/demo/{name}", body)


def _bindings(api):
    return api.get("/_mock/algorithms/bindings").get_json()


# ------------------------------------------------------------------ issue 14: confined bindings

@pytest.mark.skipif(os.geteuid() != 0, reason="code bound over HTTP runs under another uid only when the server is "
                    "root (CI runs as root)")
def test_as_root_code_its_user_may_not_read_is_refused_with_how_to_fix_it(sapi, roots):
    private = roots[0] / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    (private / "hidden.py").write_text("def apply(x):\n    return x\n")
    _make(sapi, "Hidden")
    err = error_of(_bind(sapi, "Hidden", f"{private / 'hidden.py'}:apply"), 400)
    assert "may not enter" in err["message"] and "chmod o+x" in err["message"], err
    assert f"{private}" in err["message"] and "/proc/self" not in err["message"]


def test_binding_to_os_system_is_refused_and_nothing_changes(sapi, roots):
    _make(sapi, "Target")
    assert _bind(sapi, "Target", f"{roots[0]}/hello.py:apply").status_code == 200
    before = _bindings(sapi)
    for target in ("os:system", "subprocess:run", "callable:anything", "builtins:eval"):
        err = error_of(_bind(sapi, "Target", target), 403)
        assert "not" in err["message"]
    assert _bindings(sapi) == before
    assert _publish_and_call(sapi, "Target", "x").get_json()["result"] == "hello x"


def test_paths_outside_the_roots_are_refused_including_dots_and_links(sapi, roots):
    allowed, outside = roots
    _make(sapi, "Escape")
    for target in (f"{outside}/evil.py:apply", f"{allowed}/../outside/evil.py:apply", f"{allowed}/link.py:apply",
                   "/etc/hostname", "../../outside/evil.py"):
        error_of(_bind(sapi, "Escape", target), 403)
    assert _bindings(sapi) == {}


def test_an_import_that_exits_is_an_error_object_and_the_server_stays_up(sapi, roots):
    _make(sapi, "Exits")
    _make(sapi, "Fine")
    assert _bind(sapi, "Fine", f"{roots[0]}/hello.py:apply").status_code == 200
    err = error_of(_bind(sapi, "Exits", f"{roots[0]}/exits.py:apply"), 400)
    assert "exited unexpectedly with code 3" in err["message"]
    assert list(_bindings(sapi)) == ["demo/Fine"]                 # state intact
    assert sapi.get("/_mock/health").status_code == 200
    assert _publish_and_call(sapi, "Fine", "y").get_json()["result"] == "hello y"


def test_an_import_that_hangs_is_an_error_object_in_bounded_time(sapi, roots):
    _make(sapi, "Hangs")
    started = time.monotonic()
    err = error_of(_bind(sapi, "Hangs", f"{roots[0]}/hangs.py:apply"), 400)
    assert "longer than 2 seconds" in err["message"]
    assert time.monotonic() - started < 10
    assert _bindings(sapi) == {}


def test_fixtures_posted_over_http_may_not_bind_code_outside_the_roots(sapi, roots):
    doc = ("algorithms:\n  - owner: demo\n    name: Planted\n    binding: \"os:system\"\n"
           "    settings: {environment: cpu, language: python3-1, license: apl, network_access: full,"
           " pipeline_enabled: true, source_visibility: closed}\n    versions: [{version_type: minor}]\n")
    r = sapi.call("POST", "/_mock/fixtures", raw=doc, headers={"Content-Type": "application/x-yaml"})
    error_of(r, 403)
    assert sapi.get("/v1/algorithms/demo/Planted").status_code == 404


def test_a_binding_planted_through_state_import_does_not_run(sapi, roots):
    _make(sapi, "Planted")
    assert _bind(sapi, "Planted", f"{roots[0]}/hello.py:apply").status_code == 200
    assert _publish_and_call(sapi, "Planted", "x").get_json()["result"] == "hello x"
    state = sapi.get("/_mock/state").get_json()
    state["bindings"]["demo/Planted"] = f"{roots[1]}/evil.py:apply"
    assert sapi.put("/_mock/state", state).status_code == 200
    body = sapi.post("/v1/algo/demo/Planted", "x").get_json()
    assert body["error"]["error_type"] == "LoadingError" and "not allowed" in body["error"]["message"]
    out = sapi.post("/v1/algorithms/demo/Planted/compile").get_json()     # nor is it built
    assert out["build"]["status"] == "failed" and "not allowed" in out["compilation"]["output"]


# ------------------------------------------------------------------ issue 15: bad input, per-key cap

def test_deeply_nested_invocation_input_is_a_400(sapi, roots):
    _make(sapi, "Deep")
    assert _bind(sapi, "Deep", f"{roots[0]}/hello.py:apply").status_code == 200
    _publish_and_call(sapi, "Deep", "warm")
    for depth in (490, 5000, 200000):
        r = sapi.call("POST", "/v1/algo/demo/Deep", raw="[" * depth + "]" * depth,
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (depth, r.status_code, r.data[:200])
        assert r.is_json and "error" in r.get_json()
    assert sapi.post("/v1/algo/demo/Deep", "ok").get_json()["result"] == "hello ok"


def test_a_lone_surrogate_result_is_an_algorithm_error(sapi, roots):
    _make(sapi, "Surrogate")
    assert _bind(sapi, "Surrogate", f"{roots[0]}/surrogate.py:apply").status_code == 200
    r = _publish_and_call(sapi, "Surrogate", "x")
    assert r.status_code == 200
    assert r.get_json()["error"]["error_type"] == "AlgorithmError"


def _deep_marker(depth: int, list_id: str = "users") -> str:
    raw = '["%s",%s1%s]' % (list_id, "[" * depth, "]" * depth)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/users", "/v1/data", "/v1/data/demo", "/v1/data/demo/example_collection",
                                  "/v1/users/demo/algorithms"])
@pytest.mark.parametrize("depth", [10, 3000, 100000])
def test_forged_deeply_nested_markers_are_5002(sapi, path, depth):
    api = sapi.as_(ADMIN)
    error_of(api.get(path, marker=_deep_marker(depth)), 400, 5002)


def test_concurrent_invocations_per_key_are_capped_with_429(sapi, roots):
    _make(sapi, "Slow")
    assert _bind(sapi, "Slow", f"{roots[0]}/slow.py:apply").status_code == 200
    assert _publish_and_call(sapi, "Slow", 0).status_code == 200
    first: list = []
    t = threading.Thread(target=lambda: first.append(Api(sapi.client.application.test_client(), DEMO)
                                                     .post("/v1/algo/demo/Slow", 2)))
    t.start()
    server = sapi.client.application.extensions["mockserver"]
    assert until(lambda: server.ctx.engine.stats()["busy"], timeout=30)      # the first call runs
    r = sapi.post("/v1/algo/demo/Slow", 0)
    assert r.status_code == 429, r.data
    assert "this API key" in r.get_json()["error"]["message"]
    assert sapi.as_(ADMIN).post("/v1/algo/demo/Slow", 0).status_code == 200     # another key
    t.join(10)
    assert first[0].status_code == 200 and first[0].get_json()["result"] == 2
    assert sapi.post("/v1/algo/demo/Slow", 0).status_code == 200                 # freed


# ------------------------------------------------------------------ issue 30: binding roots

@pytest.fixture(scope="module")
def fixture_folders(tmp_path_factory):
    """A --fixtures folder, an --extra-fixtures folder (each with code and a fixture binding it), and
    a folder no setting names."""
    base = tmp_path_factory.mktemp("fixture_roots")
    for name in ("main", "extra", "elsewhere"):
        (base / name).mkdir()
        open_to_workers(base / name)                 # bound over HTTP below: enterable as another uid
        (base / name / f"{name}_algo.py").write_text(f"def apply(x):\n    return '{name} ' + str(x)\n")
    (base / "main" / "main.yaml").write_text(
        "users:\n  - username: demo\n    email: demo@example.com\n    fullname: Demo\n"
        "    keys:\n      - key: " + DEMO + "\n"
        "algorithms:\n  - owner: demo\n    name: FromMain\n    binding: main_algo.py:apply\n"
        "    versions: [{version_type: minor, callability: public}]\n")
    (base / "extra" / "extra.yaml").write_text(
        "algorithms:\n  - owner: demo\n    name: FromExtra\n    binding: extra_algo.py:apply\n"
        "    versions: [{version_type: minor, callability: public}]\n")
    return base


@pytest.fixture(scope="module")
def roots_app(fixture_folders):
    app = create_app(Settings(profile_scale=0.0, fixtures=[str(fixture_folders / "main" / "main.yaml")],
                              extra_fixtures=[str(fixture_folders / "extra" / "extra.yaml")]))
    yield app
    app.extensions["mockserver"].ctx.engine.shutdown()


def test_extra_fixture_folders_are_binding_roots_like_fixture_folders(roots_app, fixture_folders):
    server = roots_app.extensions["mockserver"]
    server.reset()
    api = Api(roots_app.test_client(), DEMO)
    # the extra fixture's own binding loaded at start-up, and runs
    assert api.post("/v1/algo/demo/FromExtra", "x").get_json()["result"] == "extra x"
    assert api.post("/v1/algo/demo/FromMain", "x").get_json()["result"] == "main x"
    # over HTTP, a file in either folder may be named; one in neither is refused, and the answer says which are roots
    for name, target in [("A", fixture_folders / "extra" / "extra_algo.py"),
                         ("B", fixture_folders / "main" / "main_algo.py")]:
        _make(api, name)
        assert _bind(api, name, f"{target}:apply").status_code == 200, name
    _make(api, "C")
    err = error_of(_bind(api, "C", f"{fixture_folders / 'elsewhere' / 'elsewhere_algo.py'}:apply"), 403, 2001)
    assert "--extra-fixtures" in err["message"] and "--fixtures" in err["message"]
    assert str(fixture_folders / "extra") in err["message"]
    assert "demo/C" not in _bindings(api)


def test_extra_fixture_folders_are_allowed_not_trusted(roots_app, fixture_folders):
    """Naming a file and running it in the server's threads are separate: a folder being a root
    trusts nothing in it; only who bound the code does (Binding.trusted: the start-up fixture's)."""
    engine = roots_app.extensions["mockserver"].ctx.engine
    assert str(fixture_folders / "extra") in engine.policy.dirs
    target = f"{fixture_folders / 'extra' / 'extra_algo.py'}:apply"
    assert engine.binding_denial(Binding(target)) is None
    assert not engine.inprocess_allowed(Binding(target))                # bound over HTTP
    assert engine.inprocess_allowed(Binding(target, trusted=True))      # bound by the operator's fixture


# ------------------------------------------------------------------ issue 26: NUL bytes in targets

@pytest.mark.parametrize("target", ["pkg.mod\x00x:apply", "/tmp/a\x00b.py:apply", "a.py\x00:apply"])
def test_a_nul_byte_in_a_binding_target_is_an_error_object(api, target):
    """Issue 26: the file form answered 500 (os.path.realpath's ValueError)."""
    r = api.put("/_mock/algorithms/demo/Hello/binding", {"target": target})
    assert "NUL byte" in error_of(r, 400, 6001)["message"]
    doc = json.dumps({"algorithms": [{"owner": "demo", "name": "Nul", "binding": target}]})
    r = api.post("/_mock/fixtures", raw=doc.encode(), headers={"Content-Type": "application/json"})
    assert "NUL byte" in error_of(r, 400)["message"]
    assert api.get("/v1/algorithms/demo/Nul").status_code == 404        # nothing of the document stayed


def test_a_nul_binding_planted_through_the_state_api_fails_calls_and_builds(api):
    state = api.get("/_mock/state").get_json()
    state["bindings"]["demo/Hello"] = "/tmp/x\x00y.py:apply"
    assert api.put("/_mock/state", state).status_code == 200
    r = api.post("/v1/algo/demo/Hello", "x")
    assert r.status_code < 500 and r.get_json()["error"]["error_type"] == "LoadingError", r.data
    r = api.post("/v1/algorithms/demo/Hello/compile")
    assert r.status_code == 200 and r.get_json()["build"]["status"] == "failed", r.data

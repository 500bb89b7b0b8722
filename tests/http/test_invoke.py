"""/v1/algo: version resolution, content types, output modes, errors, profiles."""
import base64
import json
import os
import sys
import threading

from mockserver.app import create_app
from mockserver.resources import resource_path
from mockserver.settings import Settings
from support.algorithms import algo_file, compile_, make, publish
from support.api import BOB, DEMO, Api, error_of
from support.code import write_algorithm
from support.gate import Gate
from support.polling import until


def call(api, path, body, ctype="application/json", key=..., **query):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if ctype == "application/json" else body.encode()
    return api.call("POST", path, raw=raw, headers={"Content-Type": ctype}, key=key, **query)


def test_template_algorithm_by_hash(api):
    sha = make(api, "Fresh")
    r = call(api, f"/v1/algo/demo/Fresh/{sha}", "Neo", "text/plain")
    assert r.status_code == 200, r.data
    body = r.get_json()
    assert body["result"] == "hello Neo"
    assert body["metadata"]["content_type"] == "text" and isinstance(body["metadata"]["duration"], float)
    assert body["request_id"]


def test_trailing_slash_and_python_client_query(api):
    sha = make(api, "Fresh")
    r = call(api, f"/v1/algo/demo/Fresh/{sha}/", "Neo", "text/plain", timeout=300, stdout="false", output="raw")
    assert r.status_code == 200 and r.data == b"hello Neo"


def test_resolution_rules(api):
    make(api, "Greet", algo_file("greeter"))
    v010 = publish(api, "Greet", "minor", "public")
    compile_(api, "Greet")
    v011 = publish(api, "Greet", "minor", "private")   # a callability switch needs at least minor
    compile_(api, "Greet")
    v100 = publish(api, "Greet", "major", "public")
    assert (v010, v011, v100) == ("0.1.0", "0.2.0", "1.0.0")
    bob = api.as_(BOB)
    assert call(bob, "/v1/algo/demo/Greet", "x").status_code == 200       # latest public: 1.0.0
    for spec, ok in (("0.1.0", True), ("0.*", True), ("0.1.*", True), ("1.*", True), ("1.0.0", True),
                     ("2.*", False), ("9.9.9", False)):
        r = call(bob, f"/v1/algo/demo/Greet/{spec}", "x")
        assert (r.status_code == 200) == ok, (spec, r.status_code, r.data)
    # private versions: full version works for others? (owner rights needed for latestPrivate)
    assert call(api, "/v1/algo/demo/Greet/latestPrivate", "x").status_code == 200
    assert call(api, "/v1/algo/demo/Greet/0.2.0", "x").status_code == 200
    error_of(call(bob, "/v1/algo/demo/Greet/0.2.*", "x"))          # private: not by a partial version
    error_of(call(bob, "/v1/algo/demo/Greet/latestPrivate", "x"))


def test_unknown_algorithm_and_version_named(api):
    err = error_of(call(api, "/v1/algo/demo/NoSuchAlgo", "x"), 404)
    assert "NoSuchAlgo" in err["message"]
    make(api, "Greet", algo_file("greeter"))
    err = error_of(call(api, "/v1/algo/demo/Greet/3.2.1", "x"))
    assert "3.2.1" in err["message"]


def test_unpublished_hash_only_for_owner(api):
    sha = make(api, "Secret")
    error_of(call(api.as_(BOB), f"/v1/algo/demo/Secret/{sha}", "x"))


def test_json_binary_and_raw(api):
    sha = make(api, "Json", algo_file("json_transform"))
    r = call(api, f"/v1/algo/demo/Json/{sha}", {"a": 1, "b": [1, 2]})
    assert r.get_json()["metadata"]["content_type"] == "json"
    sha = make(api, "Thumb", algo_file("thumbnail"))
    r = call(api, f"/v1/algo/demo/Thumb/{sha}", bytes(range(256)) * 4, "application/octet-stream")
    body = r.get_json()
    assert body["metadata"]["content_type"] == "binary"
    data = base64.b64decode(body["result"])
    assert data.startswith(b"THUMB")
    raw = call(api, f"/v1/algo/demo/Thumb/{sha}", bytes(range(256)) * 4, "application/octet-stream", output="raw")
    assert raw.data == data and raw.headers["Content-Type"] == "application/octet-stream"


def test_output_void_acknowledges_at_once(api):
    sha = make(api, "Slow", algo_file("slow"))
    r = call(api, f"/v1/algo/demo/Slow/{sha}", 5, output="void")
    body = r.get_json()
    assert r.status_code == 200 and body["async"] and body["request_id"]


def test_stdout_only_for_owner(api):
    make(api, "Greet", algo_file("greeter"))
    publish(api, "Greet", "minor", "public")
    mine = call(api, "/v1/algo/demo/Greet", "x", stdout="true").get_json()
    assert (mine["result"], mine["metadata"]["stdout"]) == ("Hello x", "")      # greeter prints nothing
    theirs = call(api.as_(BOB), "/v1/algo/demo/Greet", "x", stdout="true").get_json()
    assert theirs["result"] == "Hello x" and "stdout" not in theirs["metadata"]


def test_errors_and_stacktrace_visibility(api):
    make(api, "Fails", algo_file("failing"))
    publish(api, "Fails", "minor", "public")
    mine = call(api, "/v1/algo/demo/Fails", "x")
    assert mine.status_code == 200
    err = mine.get_json()["error"]
    assert "always fails" in err["message"] and err["stacktrace"] == err["stack_trace"]
    trace = err["stacktrace"]                                   # the algorithm's frames only, as the platform
    assert trace.startswith("Traceback") and "failing.py" in trace and "in _validate" in trace
    assert "ModelNotReady" in trace
    for ours in ("executor.py", "binding.py", "worker.py", "inproc.py", "mockserver/runtime"):
        assert ours not in trace, trace
    # Paths as the platform's container shows them, nothing of the host (issue 27 item 6).
    assert 'File "/opt/algorithm/src/failing.py", line' in trace, trace
    assert os.path.dirname(algo_file("failing")) not in trace and sys.prefix not in trace, trace
    theirs = call(api.as_(BOB), "/v1/algo/demo/Fails", "x").get_json()["error"]
    assert "stacktrace" not in theirs and "stack_trace" not in theirs
    raw = call(api, "/v1/algo/demo/Fails", "x", output="raw")
    assert raw.status_code == 400
    errors = api.get("/v1/algorithms/demo/Fails/errors").get_json()
    assert len(errors) >= 2


def test_open_source_shows_stacktrace_to_all(api):
    make(api, "OpenFails", algo_file("failing"), settings={"source_visibility": "open", "license": "mit"})
    publish(api, "OpenFails", "minor", "public")
    err = call(api.as_(BOB), "/v1/algo/demo/OpenFails", "x").get_json()["error"]
    assert "stacktrace" in err


def test_timeout_kills_and_next_call_works(api):
    sha = make(api, "Slow", algo_file("slow"))
    r = call(api, f"/v1/algo/demo/Slow/{sha}", 30, timeout=1)
    err = r.get_json()["error"]
    assert (err["message"], err["error_type"]) == ("Algorithm timed out after 1 seconds", "SystemError"), err
    ok = call(api, f"/v1/algo/demo/Slow/{sha}", 0)
    assert ok.get_json()["result"]["requested"] == 0


def test_timeout_over_max_refused(api):
    sha = make(api, "Fresh")
    error_of(call(api, f"/v1/algo/demo/Fresh/{sha}", "x", timeout=3001), 400)
    for bad in (0, -1, "nan", "inf", "soon"):
        error_of(call(api, f"/v1/algo/demo/Fresh/{sha}", "x", timeout=bad), 400, 6001)


def test_timeout_is_a_number(api):
    """Seed 001: timeout is a Number; a fractional value bounds the call."""
    sha = make(api, "Slow", algo_file("slow"))
    assert call(api, f"/v1/algo/demo/Slow/{sha}", 0, timeout=2.5).get_json()["result"]["requested"] == 0
    err = call(api, f"/v1/algo/demo/Slow/{sha}", 30, timeout=0.5).get_json()["error"]
    assert "0.5 seconds" in err["message"]


def test_body_over_10_mib_refused(api):
    sha = make(api, "Fresh")
    error_of(call(api, f"/v1/algo/demo/Fresh/{sha}", b"x" * (10 * 1024 * 1024 + 1), "application/octet-stream"), 413)


def test_gpu_profile_env(api):
    cpu = make(api, "EnvCpu", algo_file("env_report"))
    gpu = make(api, "EnvGpu", algo_file("env_report"), settings={"environment": "gpu"})
    on_cpu = call(api, f"/v1/algo/demo/EnvCpu/{cpu}", None).get_json()["result"]
    on_gpu = call(api, f"/v1/algo/demo/EnvGpu/{gpu}", None).get_json()["result"]
    assert on_cpu["cuda_visible_devices_set"] is False and on_cpu["profile"] == "python3-cpu"
    assert on_gpu["cuda_visible_devices_set"] is True and on_gpu["profile"] == "python3-gpu"


def test_key_without_algo_permission(api):
    sha = make(api, "Fresh")
    key = api.post("/v1/users/demo/keys", {"key_label": "nodata", "key_type": "ManagementKey",
                                           "permissions": {"allow_algo": False}}).get_json()["api_key"]
    error_of(call(api, f"/v1/algo/demo/Fresh/{sha}", "x", key=key), 403, 2001)


def test_bad_json_input(api):
    sha = make(api, "Fresh")
    r = api.call("POST", f"/v1/algo/demo/Fresh/{sha}", raw=b"{nope", headers={"Content-Type": "application/json"})
    error_of(r, 400)


def test_versions_bound_to_different_callables(api):
    make(api, "Multi", algo_file("greeter"))
    publish(api, "Multi", "minor", "public")
    compile_(api, "Multi")
    publish(api, "Multi", "minor", "public")
    r = api.put("/_mock/algorithms/demo/Multi/versions/0.2.0/binding", {"target": algo_file("json_transform")})
    assert r.status_code == 200, r.data
    old = call(api, "/v1/algo/demo/Multi/0.1.0", "Neo").get_json()
    new = call(api, "/v1/algo/demo/Multi/0.2.0", {"a": 1}).get_json()
    assert old["result"] == "Hello Neo"
    assert new["metadata"]["content_type"] == "json"


def test_binding_to_missing_code_is_refused(api):
    make(api, "Multi")
    error_of(api.put("/_mock/algorithms/demo/Multi/binding", {"target": algo_file("no_such_file")}), 400)
    error_of(api.put("/_mock/algorithms/demo/Multi/binding", {"target": "no.such.module:apply"}), 403)
    error_of(api.put("/_mock/algorithms/demo/Nope/binding", {"target": algo_file("greeter")}), 404)


def test_queue_full_is_an_error_object(tmp_path):
    """A profile with one slot and no queue: a second concurrent call is refused, the first completes."""
    fixture = tmp_path / "tight.yaml"
    fixture.write_text("profiles:\n  - {name: python3-cpu, processor: cpu, warm_slots: 1, queue_limit: 0}\n")
    gate = Gate(tmp_path)                          # the folder of a --fixtures file is allowed to bindings
    app = create_app(Settings(fixtures=[str(resource_path("fixtures", "default.yaml")), str(fixture)],
                              profile_scale=0))
    try:
        tight = Api(app.test_client(), DEMO)
        engine = app.extensions["mockserver"].ctx.engine
        sha = make(tight, "Held", gate.target)
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("r", call(tight, f"/v1/algo/demo/Held/{sha}",
                                                                       gate.input(n=1))))
        t.start()
        assert until(lambda: engine.stats()["busy"] == 1, timeout=30)     # the first call holds the one slot
        second = call(tight, f"/v1/algo/demo/Held/{sha}", gate.input(n=2))
        gate.open()
        t.join(30)
        assert second.status_code == 429
        assert "error" in second.get_json()
        assert first["r"].get_json()["result"]["n"] == 1
    finally:
        gate.open()
        app.extensions["mockserver"].ctx.engine.shutdown()


def test_failed_calls_listed_by_algorithm_id_too(api):
    make(api, "Fails", algo_file("failing"))
    publish(api, "Fails", "minor", "public")
    call(api, "/v1/algo/demo/Fails", "x")
    algo_id = api.get("/v1/algorithms/demo/Fails").get_json()["id"]
    by_id = api.get(f"/v1/algorithms/{algo_id}/errors").get_json()
    assert [e["algorithm"] for e in by_id] == ["demo/Fails"]
    assert "always fails" in by_id[0]["message"]


def test_each_call_gets_a_key_of_its_own_that_dies_with_the_call(api, tmp_path):
    """Its ALGORITHMIA_API_KEY works while the call runs (tests/ways/test_isolation.py uses it
    from a live call) and answers 401 afterwards; keys are never in the state, and the
    per-(algorithm, caller) keys an older export carries are dropped on import."""
    make(api, "WhoAmI", write_algorithm(tmp_path, "whoami.py", PROBE))
    publish(api, "WhoAmI")
    first = call(api, "/v1/algo/demo/WhoAmI", "x").get_json()["result"]
    second = call(api, "/v1/algo/demo/WhoAmI", "x").get_json()["result"]
    assert first.startswith("sim") and len(first) == 29 and second.startswith("sim") and first != second
    for key in (first, second):
        error_of(api.call("GET", "/v1/data/.my", key=key), 401)
    exported = api.get("/_mock/state").get_json()
    assert not [k for k in exported["keys"].values() if k.get("algorithm")]
    exported["keys"][first] = {"api_key": first, "id": "old", "owner": "demo", "key_type": "AlgorithmKey",
                               "algorithm": "demo/WhoAmI", "permissions": {"allow_data": True}}
    assert api.put("/_mock/state", exported).status_code == 200
    error_of(api.call("GET", "/v1/data/.my", key=first), 401)
    assert first not in api.get("/_mock/state").get_json()["keys"]


PROBE = ("from mockserver.runtime.context import getenv\n\n"
         "def apply(input):\n"
         "    if input == 'fail':\n"
         "        raise ValueError('asked to fail')\n"
         "    return getenv('ALGORITHMIA_API_KEY')\n")
INITECH = {"org_name": "initech", "org_label": "Initech", "org_contact_name": "Bill",
           "org_email": "bill@initech.com", "org_url": "https://initech.example",
           "type_id": "7f0a3c2e-5d0b-4b0e-9a51-000000000003", "resource_type": "organization"}


def test_deleting_an_owner_forgets_its_algorithms_bindings_errors_and_keys(admin, tmp_path):
    """A new organization of the same name, with an algorithm of the same name, inherits
    nothing from the deleted one: not its run-time binding, error log or scoped key."""
    assert admin.post("/v1/organizations", INITECH).status_code == 200
    make(admin, "Probe", write_algorithm(tmp_path, "probe.py", PROBE), owner="initech")
    publish(admin, "Probe", owner="initech")
    key = call(admin, "/v1/algo/initech/Probe", "x").get_json()["result"]
    assert "error" in call(admin, "/v1/algo/initech/Probe", "fail").get_json()
    assert len(admin.get("/v1/organizations/initech/errors").get_json()) == 1

    assert admin.delete("/v1/organizations/initech").status_code == 204
    error_of(admin.call("GET", "/v1/users/demo", key=key), 401)

    assert admin.post("/v1/organizations", INITECH).status_code == 200
    sha = make(admin, "Probe", owner="initech")                       # no binding of its own
    assert call(admin, f"/v1/algo/initech/Probe/{sha}", "Neo", "text/plain").get_json()["result"] == "hello Neo"
    assert admin.get("/v1/organizations/initech/errors").get_json() == []


def test_code_the_mock_cannot_run_is_an_invocation_error_object(api):
    """A build from a repository in another language: 400 in the invocation error shape (the
    domain says why; api/invoke.py chooses the shape)."""
    sha = make(api, "Javy", settings={"language": "java"})
    r = call(api, f"/v1/algo/demo/Javy/{sha}", "x")
    assert r.status_code == 400
    assert r.get_json() == {"error": {"error_type": "SystemError", "message": (
        "demo/Javy is written in java: the mock cannot execute its code. Set a run-time binding "
        "(PUT /_mock/bindings) to give it behaviour")}}

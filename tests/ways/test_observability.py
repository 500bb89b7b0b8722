"""One structured log line per request, /_mock/metrics in Prometheus text format."""
import base64
import json
import logging
import re
import time

from prometheus_client.parser import text_string_to_metric_families

from support.api import DEMO

H = {"Authorization": f"Simple {DEMO}"}


def _value(text, series):
    """The value of ``name{label="value",...}`` (labels in any order; the exposition sorts them), 0 when absent."""
    name, _, labels = series.partition("{")
    wanted = dict(re.findall(r'(\w+)="([^"]*)"', labels))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return sample.value
    return 0.0


def test_one_json_log_line_per_request(app, server, caplog):
    caplog.set_level(logging.INFO, logger="mockserver.access")
    started = time.perf_counter()
    r = app.test_client().get("/v1/users/demo/algorithms", headers=H)
    observed_ms = (time.perf_counter() - started) * 1000
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "mockserver.access"]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["method"] == "GET" and entry["path"] == "/v1/users/demo/algorithms" and entry["status"] == 200
    assert entry["request_id"] == r.headers["X-Request-Id"]
    assert 0 < entry["duration_ms"] <= observed_ms, (entry["duration_ms"], observed_ms)   # ms, within the call
    assert entry["operation"] == "listUserAlgorithms"


def test_log_level_warning_silences_request_lines(app, server, caplog):
    caplog.set_level(logging.WARNING, logger="mockserver")
    app.test_client().get("/v1/users/demo/algorithms", headers=H)
    assert not [rec for rec in caplog.records if rec.name == "mockserver.access"]


def test_metrics_counts_requests_by_operation_and_status(app, server):
    c = app.test_client()
    key = 'mockserver_requests_total{operation="listUserAlgorithms",method="GET",status="200"}'
    before = _value(c.get("/_mock/metrics").get_data(as_text=True), key)
    c.get("/v1/users/demo/algorithms", headers=H)
    c.get("/v1/users/demo/algorithms", headers=H)
    c.get("/v1/users/demo/algorithms")                                            # 401
    r = c.get("/_mock/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain; version=0.0.4")
    text = r.get_data(as_text=True)
    assert _value(text, key) == before + 2
    assert _value(text, 'mockserver_requests_total{operation="listUserAlgorithms",method="GET",status="401"}') >= 1
    assert _value(text, 'mockserver_request_duration_seconds_bucket{operation="listUserAlgorithms",le="+Inf"}') >= 3
    assert "# TYPE mockserver_request_duration_seconds histogram" in text


def test_every_sample_line_is_well_formed(app, server):
    text = app.test_client().get("/_mock/metrics").get_data(as_text=True)
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|[+-]Inf|NaN)$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line


def test_observe_invocation(app, server):
    server.observe_invocation("demo/Hello", 0.042, True)
    server.observe_invocation("demo/Hello", 0.5, False)       # the invoke handler's call form
    text = app.test_client().get("/_mock/metrics").get_data(as_text=True)
    assert _value(text, 'mockserver_invocation_duration_seconds_count{algorithm="demo/Hello"}') == 2
    assert _value(text, 'mockserver_invocations_total{algorithm="demo/Hello",outcome="error"}') == 1


def test_injected_faults_are_counted(app, server):
    c = app.test_client()
    before = _value(c.get("/_mock/metrics").get_data(as_text=True), "mockserver_faults_injected_total")
    c.post("/_mock/faults", json={"path": "/v1/scms", "status": 500, "times": 1})
    c.get("/v1/scms", headers=H)
    after = _value(c.get("/_mock/metrics").get_data(as_text=True), "mockserver_faults_injected_total")
    assert after == before + 1


def _series(text, name):
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_thirty_thousand_methods_make_one_other_series(app, server):
    c = app.test_client()
    for i in range(30_000):
        c.open("/v1/scms", method=f"M{i}")
    text = c.get("/_mock/metrics").get_data(as_text=True)
    methods = {line.split('method="')[1].split('"')[0] for line in _series(text, "mockserver_requests_total")}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert _value(text, 'mockserver_requests_total{operation="unmatched",method="other",status="405"}') >= 30_000


def test_reset_and_deletes_drop_per_algorithm_series(app, server):
    c = app.test_client()
    auth = {"Authorization": f"Simple {DEMO}"}
    assert c.post("/v1/algo/demo/Hello", json="x", headers=auth).status_code == 200
    server.observe_invocation("demo/Gone", 0.1, True)
    text = c.get("/_mock/metrics").get_data(as_text=True)
    assert 'algorithm="demo/Hello"' in text and 'algorithm="demo/Gone"' in text
    assert c.delete("/v1/algorithms/demo/Hello", headers=auth).status_code == 204
    text = c.get("/_mock/metrics").get_data(as_text=True)
    assert 'algorithm="demo/Hello"' not in text and 'algorithm="demo/Gone"' not in text
    server.observe_invocation("demo/Other", 0.1, True)
    c.post("/_mock/reset", json={})
    assert 'algorithm=' not in c.get("/_mock/metrics").get_data(as_text=True)


def _access_lines(caplog) -> list[dict]:
    return [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "mockserver.access"]


def test_error_answers_carry_their_code_and_message_in_the_log_line(app, server, caplog):
    """Issue 30: algorithmia 2.0.5 shows only '<Response [404]>'; the log line says why."""
    caplog.set_level(logging.INFO, logger="mockserver.access")
    c = app.test_client()
    c.post("/v1/algo/demo/Hello/0.0.9", json="x", headers=H)             # an error object
    c.get("/v1/algorithms/demo/Nope", headers=H)                        # the bare shape: no code
    c.get("/v1/scms")                                                   # 401
    c.get("/v1/users/demo/algorithms", headers=H)                       # 200: no error fields
    lines = _access_lines(caplog)
    assert [line["status"] for line in lines] == [404, 404, 401, 200]   # one line each
    assert lines[0]["error_code"] == 1001 and "No such version" in lines[0]["error_message"]
    assert "error_code" not in lines[1] and lines[1]["error_message"] == "No such algorithm"
    assert lines[2]["error_code"] == 2001 and "Authorization required" in lines[2]["error_message"]
    assert "error_message" not in lines[3] and "error_code" not in lines[3]


def test_answers_made_outside_the_app_are_logged_with_their_explanation(app, server, caplog):
    """git's answers and an unknown sandbox's 404 never reach Flask's hooks: AccessLog writes their line."""
    caplog.set_level(logging.INFO, logger="mockserver.access")
    c = app.test_client()
    c.get("/git/demo/Hello.git/info/refs?service=git-receive-pack")
    c.get("/sandboxes/nosuch/v1/scms", headers=H)
    git, sandbox = _access_lines(caplog)
    assert (git["status"], git["operation"], git["path"]) == (401, "git", "/git/demo/Hello.git/info/refs")
    assert "authentication required" in git["error_message"]
    assert (sandbox["status"], sandbox["error_code"]) == (404, 5004) and "nosuch" in sandbox["error_message"]


def test_a_long_error_message_is_cut_in_the_log_line(app, server, caplog):
    caplog.set_level(logging.INFO, logger="mockserver.access")
    app.test_client().get("/v1/nosuch/" + "x" * 3000, headers=H)      # "No such route: GET /v1/nosuch/xxx..."
    (line,) = _access_lines(caplog)
    assert line["status"] >= 400 and len(line["error_message"]) < 1100 and "more characters]" in line["error_message"]


def test_error_answers_carry_their_code_and_message_in_the_journal_and_the_dashboard(app, server):
    c = app.test_client()
    c.post("/v1/algo/demo/Hello/0.0.9", json="x", headers=H)
    c.get("/v1/users/demo/algorithms", headers=H)
    failed, fine = c.get("/_mock/journal").get_json()["entries"]
    assert failed["error"] == {"code": 1001, "message": "No such version of algo://demo/Hello: 0.0.9"}
    assert fine["error"] is None
    page = c.get("/_mock/").get_data(as_text=True)
    assert "<th>error</th>" in page and "cell(explain(e.error)" in page
    initial = json.loads(re.search(r"const initial = (\{.*?\});\n", page).group(1))
    assert initial["entries"][0]["error"]["message"] == "No such version of algo://demo/Hello: 0.0.9"


def test_git_answers_reach_the_journal_of_their_sandbox(app, server):
    """git's answers are made outside Flask's hooks; their status and explanation still reach the
    journal (and so the dashboard) of the server, or sandbox, the repository lives in."""
    c = app.test_client()
    control = {"Content-Type": "application/json"}
    sandbox = c.post("/_mock/sandboxes", json={}, headers=control).get_json()["id"]
    since = c.get("/_mock/journal").get_json()["entries"]
    c.get("/git/demo/Hello.git/info/refs?service=git-receive-pack")
    c.get(f"/sandboxes/{sandbox}/git/demo/Nosuch.git/info/refs?service=git-upload-pack",
          headers={"Authorization": "Basic " + base64.b64encode(f"demo:{DEMO}".encode()).decode()})
    root = [e for e in c.get("/_mock/journal").get_json()["entries"] if e not in since]
    assert [(e["method"], e["path"], e["status"], e["operation"]) for e in root] == [
        ("GET", "/git/demo/Hello.git/info/refs?service=git-receive-pack", 401, "git")]
    assert "authentication required" in root[0]["error"]["message"]
    (missing,) = c.get(f"/sandboxes/{sandbox}/_mock/journal").get_json()["entries"]
    assert (missing["path"], missing["status"], missing["operation"]) == (
        "/git/demo/Nosuch.git/info/refs?service=git-upload-pack", 404, "git")
    assert "Nosuch" in missing["error"]["message"]

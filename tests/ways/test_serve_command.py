"""The Docker command (``mockserver``), run outside Docker; and the CLI's flags."""
import json
import os
import subprocess
import sys

import pytest
import requests

from support.api import DEMO

from support.processes import ROOT, SERVE, free_port, stop_and_collect, wait_healthy


def start(args, env_extra=None, port=None):
    port = port or free_port()
    env = {**os.environ, "MOCKSERVER_HOST": "127.0.0.1", "MOCKSERVER_PORT": str(port), **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{port}"


def test_serve_command_serves_and_stops_on_sigterm(tmp_path):
    proc, url = start(SERVE, {"MOCKSERVER_SEED": "3", "MOCKSERVER_LOG_LEVEL": "info"})
    try:
        wait_healthy(url, proc)
        auth = {"Authorization": f"Simple {DEMO}"}
        r = requests.get(f"{url}/v1/users/demo/algorithms", headers=auth)
        assert r.status_code == 200
        assert [a["name"] for a in r.json()["results"]] == [          # the bundled fixtures' demo algorithms
            "Counter", "EnvReport", "Failing", "GreetingPipeline", "Hello", "JsonTransform", "Sandbox", "SlowTask"]
        # state is shared between requests: ONE worker process
        requests.post(f"{url}/v1/users/demo/keys", json={"key_label": "k", "key_type": "ManagementKey"},
                      headers=auth).raise_for_status()
        for _ in range(5):
            assert len(requests.get(f"{url}/v1/users/demo/keys", headers=auth).json()) >= 2
        # a dropped connection really breaks under waitress
        requests.post(f"{url}/_mock/faults", json={"path": "/v1/scms", "drop": True, "times": 1}).raise_for_status()
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="Connection broken"):
            requests.get(f"{url}/v1/scms", headers=auth, timeout=5)
        assert requests.get(f"{url}/v1/scms", headers=auth, timeout=5).status_code == 200
        assert "mockserver_requests_total" in requests.get(f"{url}/_mock/metrics").text
        # the official client hides the explanation; the server's log line carries it
        import Algorithmia
        with pytest.raises(Exception, match=r"<Response \[404\]>"):
            Algorithmia.client(DEMO, url).algo("demo/Hello/0.0.9").pipe("x")
    finally:
        code, took, _out, err = stop_and_collect(proc)
    assert code == 0, err
    assert took < 5, f"SIGTERM took {took:.1f}s"
    assert "ready (1 process" in err
    assert "Traceback" not in err                    # the injected drop is not logged as a failure
    access = [line for line in err.splitlines() if line.startswith("{") and '"event":"request"' in line]
    assert any('"path":"/v1/users/demo/algorithms"' in line and '"status":200' in line for line in access), err[-2000:]
    (failed,) = [json.loads(line) for line in access if '"/v1/algo/demo/Hello/0.0.9"' in line]
    assert (failed["status"], failed["error_code"]) == (404, 1001)
    assert failed["error_message"] == "No such version of algo://demo/Hello: 0.0.9"


def test_serve_bad_fixture_stops_startup(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - username: 42\n")
    proc, _url = start(SERVE, {"MOCKSERVER_FIXTURES": str(bad)})
    code = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert code != 0
    assert str(bad) in err and "users/0" in err, err[-2000:]


def test_cli_serves_on_given_port():
    port = free_port()
    proc, url = start(["-m", "mockserver", "--port", str(port), "--seed", "1", "--log-level", "warning"], port=port)
    try:
        wait_healthy(url, proc)
        assert requests.get(f"{url}/v1/scms", headers={"Authorization": f"Simple {DEMO}"}).status_code == 200
        assert requests.get(f"{url}/_mock/").headers["Content-Type"].startswith("text/html")
    finally:
        code, took, out, err = stop_and_collect(proc)
    assert code == 0 and took < 5
    assert f"http://127.0.0.1:{port}/v1" in out and DEMO in out
    assert '"event":"request"' not in err            # --log-level warning: no request lines


def test_cli_bad_fixture_exit_2_names_file_path_problem(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("users:\n  - username: demo2\n    email: 7\n")
    r = subprocess.run([sys.executable, "-m", "mockserver", "--port", str(free_port()), "--fixtures", str(bad)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"bad fixture file {bad}" in r.stderr
    assert "at: users/0" in r.stderr and "problem:" in r.stderr, r.stderr


def test_cli_unreadable_fixture(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mockserver", "--fixtures", str(tmp_path / "missing.yaml")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "missing.yaml" in r.stderr and "cannot read" in r.stderr


WSGI_SERVE = ["-m", "mockserver.serving.serve", "mockserver.serving.wsgi:app"]


def test_the_wsgi_entry_serves_with_its_one_settings():
    """The WSGI module builds the run's Settings; serve's command serves it with them."""
    proc, url = start(WSGI_SERVE, {"MOCKSERVER_CONTROL_KEY": "wsgi-key", "MOCKSERVER_LOG_LEVEL": "warning"})
    try:
        wait_healthy(url, proc)
        assert requests.get(f"{url}/_mock/state").status_code == 401           # the key of the environment
        assert requests.get(f"{url}/_mock/state", headers={"X-Mock-Control-Key": "wsgi-key"}).status_code == 200
    finally:
        code, _took, _out, err = stop_and_collect(proc)
    assert code == 0, err[-2000:]


def test_a_bad_variable_stops_the_wsgi_entry_with_its_name():
    proc, _url = start(WSGI_SERVE, {"MOCKSERVER_JOURNAL_SIZE": "many"})
    code = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert code == 2 and "MOCKSERVER_JOURNAL_SIZE='many'" in err and "Traceback" not in err, err[-2000:]

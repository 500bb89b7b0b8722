"""The pytest plugin: fixture contract, reset cost, and examples/ run as another project's suite."""
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests

from mockserver.app import create_app
from mockserver.settings import Settings, plugin_flag, plugin_options

from support.api import ADMIN, DEMO

ROOT = Path(__file__).resolve().parents[2]


def _installed() -> bool:
    return any(ep.value == "mockserver.plugin" for ep in entry_points(group="pytest11"))


pytestmark = pytest.mark.skipif(not _installed(), reason="algorithmia-mock is not installed (pip install -e '.[test]'): "
                                                       "the pytest11 entry point is missing")


def test_reset_throws_away_what_tests_wrote_every_time():
    """The reset the plugin runs before each test; its speed (median < 5 ms) is in benchmarks/timings.py."""
    app = create_app(Settings(profile_scale=0.0))
    server = app.extensions["mockserver"]
    c = app.test_client()
    baseline = c.get("/_mock/state").get_json()
    for round_ in range(3):
        for i in range(20):                                   # some state to throw away
            r = c.post("/v1/users", json={"username": f"u{i}", "email": f"u{i}@example.com", "fullname": "U"},
                       headers={"Authorization": f"Simple {ADMIN}"})
            assert r.status_code == 200, r.data
        assert c.get("/_mock/state").get_json() != baseline
        server.reset()
        assert c.get("/_mock/state").get_json() == baseline, round_
    server.ctx.engine.shutdown()


def test_fixture_contract(mockserver):
    assert mockserver.url.startswith("http://127.0.0.1:")
    assert mockserver.admin_key == ADMIN and mockserver.api_key == DEMO
    assert requests.get(f"{mockserver.url}/_mock/health").json()["status"] == "ok"
    client = mockserver.client()
    assert client.apiKey == DEMO and client.apiAddress == mockserver.url
    assert mockserver.journal() == []
    client.scms()
    assert [(e["method"], e["path"]) for e in mockserver.journal()] == [("GET", "/v1/scms")]


LEAK_CHECKS = """
import requests

AUTH = {"Authorization": "Simple simAdminSandboxKey000000000"}

def test_1_writes_state_and_a_fault(mockserver):
    requests.post(mockserver.url + "/v1/users", json={"username": "leaky", "email": "l@example.com",
                  "fullname": "L"}, headers=AUTH).raise_for_status()
    mockserver.fault("/v1/scms", status=500)

def test_2_sees_neither(mockserver):
    assert requests.get(mockserver.url + "/v1/users/leaky", headers=AUTH).status_code == 404
    assert mockserver.faults() == []
    assert requests.get(mockserver.url + "/v1/scms", headers=AUTH).status_code == 200
"""


def test_state_and_faults_do_not_leak_between_tests(tmp_path):
    """Two tests of another project, in this order in one session: the second sees nothing of the first.
    (As two tests of this suite they would depend on the order and on sharing a session.)"""
    (tmp_path / "test_leak.py").write_text(LEAK_CHECKS)
    r = _run_pytest(tmp_path, "-p", "no:randomly", "-p", "no:xdist", "-vv", "test_leak.py")   # -q -vv: verbose
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    ran = [line.split(" ")[0] for line in r.stdout.splitlines() if " PASSED" in line]
    assert ran == ["test_leak.py::test_1_writes_state_and_a_fault", "test_leak.py::test_2_sees_neither"], r.stdout


def test_fault_helper(mockserver):
    f = mockserver.fault("/v1/scms", method="get", status=503, code=5001, times=1)
    assert f["method"] == "GET" and f["remaining"] == 1
    r = requests.get(f"{mockserver.url}/v1/scms", headers={"Authorization": f"Simple {DEMO}"})
    assert r.status_code == 503 and r.json()["error"]["code"] == 5001


def test_load_fixtures_for_one_test(mockserver, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("users:\n  - username: zed\n    email: zed@example.com\n    fullname: Zed\n"
                     "    keys:\n      - key: simZedKey00000000000000000\n")
    mockserver.load_fixtures(extra)
    r = requests.get(f"{mockserver.url}/v1/users/zed/algorithms", headers={"Authorization": "Simple simZedKey00000000000000000"})
    assert r.status_code == 200


def test_load_fixtures_bad_file_names_it(mockserver, tmp_path):
    from mockserver.fixtures import FixtureError
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: 3\n")
    with pytest.raises(FixtureError) as raised:
        mockserver.load_fixtures(bad)
    assert str(bad) in str(raised.value)


def test_bind_needs_an_existing_algorithm(mockserver):
    from mockserver.errors import ApiError
    with pytest.raises(ApiError) as raised:
        mockserver.bind("demo/NoSuchAlgorithm", lambda x: x)
    assert raised.value.code == 1000


def test_bind_callable_and_call_it(mockserver):
    r = requests.post(f"{mockserver.url}/v1/algorithms/demo",
                      json={"name": "Shout", "details": {"label": "Shout"},
                            "settings": {"language": "python3-1", "source_visibility": "closed", "license": "apl",
                                         "network_access": "full", "pipeline_enabled": True, "environment": "cpu"}},
                      headers={"Authorization": f"Simple {DEMO}"})
    assert r.status_code == 200, r.text
    key = mockserver.bind("demo/Shout", lambda text: text.upper() + "!")
    assert key == "demo/Shout"
    assert mockserver.server.ctx.store.state.bindings["demo/Shout"].startswith("callable:")
    compiled = requests.post(f"{mockserver.url}/v1/algorithms/demo/Shout/compile",
                             headers={"Authorization": f"Simple {DEMO}"})
    assert compiled.status_code == 200, compiled.text
    git_hash = compiled.json()["version_info"]["git_hash"]
    result = mockserver.client().algo(f"demo/Shout/{git_hash}").pipe("hey").result
    assert result == "HEY!"
    assert any(e["path"] == f"/v1/algo/demo/Shout/{git_hash}" for e in mockserver.journal())


def _run_pytest(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_examples_run_as_another_projects_suite(tmp_path):
    """The installed entry point alone provides the fixture: no conftest, no -p flag."""
    project = tmp_path / "sdk-project"
    shutil.copytree(ROOT / "examples", project / "tests")
    r = _run_pytest(project, "tests", "-rs")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout


def test_plugin_options(tmp_path):
    (tmp_path / "extra.yaml").write_text("users:\n  - username: opt\n    email: opt@example.com\n    fullname: Opt\n"
                                         "    keys:\n      - key: simOptKey00000000000000000\n")
    (tmp_path / "test_opts.py").write_text(
        "def test_opts(mockserver):\n"
        "    s = mockserver.server.settings\n"
        "    assert s.seed == 5 and s.clock == 'frozen' and s.profile_scale == 0.25\n"
        "    assert mockserver.api_key == 'simOptKey00000000000000000'\n"
        "    assert mockserver.admin_key is None\n")
    r = _run_pytest(tmp_path, "--mockserver-fixtures", "extra.yaml", "--mockserver-seed", "5",
                    "--mockserver-clock", "frozen", "--mockserver-profile-scale", "0.25")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_pytest_help_lists_one_option_per_setting_from_the_settings_table(tmp_path):
    """The options pytest really registers: every setting's (but host and port) and --mockserver-url."""
    shown = " ".join(_run_pytest(tmp_path, "--help").stdout.split())
    registered = set(re.findall(r"(--mockserver-[a-z-]+)=", shown))
    assert registered == {plugin_flag(option) for option in plugin_options()}
    assert registered >= {"--mockserver-fixtures", "--mockserver-url", "--mockserver-threads"}
    assert "--mockserver-host" not in shown and "--mockserver-port" not in shown
    assert "env MOCKSERVER_URL" in shown and "env MOCKSERVER_JOURNAL_SIZE" in shown


def test_a_setting_only_the_table_declares_reaches_the_plugins_server(tmp_path):
    """--mockserver-journal-size was never written by hand: it comes from OPTIONS; its variable too."""
    (tmp_path / "test_size.py").write_text(
        "def test_size(mockserver):\n"
        "    s = mockserver.server.settings\n"
        "    assert (s.journal_size, s.page_max, s.host) == (7, 33, '127.0.0.1')\n")
    r = _run_pytest(tmp_path, "--mockserver-journal-size", "7", "test_size.py",
                    env={"MOCKSERVER_PAGE_MAX": "33", "MOCKSERVER_HOST": "0.0.0.0"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_plugin_extra_fixtures_keep_the_sandbox_and_replacing_it_says_why(tmp_path):
    (tmp_path / "extra.yaml").write_text("users:\n  - username: opt\n    email: opt@example.com\n"
                                         "    fullname: Opt\n")
    (tmp_path / "test_extra.py").write_text(
        "import pytest\n"
        "def test_extra(mockserver):\n"
        "    assert mockserver.api_key == 'simDemoSandboxKey0000000000'\n"
        "    assert mockserver.client(mockserver.admin_key).getJsonHelper('/v1/users/opt')['username'] == 'opt'\n"
        "    assert mockserver.client().username() == 'demo'\n")
    r = _run_pytest(tmp_path, "--mockserver-extra-fixtures", "extra.yaml", "test_extra.py")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    (tmp_path / "test_replaced.py").write_text(
        "import pytest\n"
        "def test_replaced(mockserver):\n"
        "    assert mockserver.api_key is None and mockserver.admin_key is None\n"
        "    with pytest.raises(RuntimeError) as info:\n"
        "        mockserver.client()\n"
        "    assert 'extra.yaml' in str(info.value) and '--mockserver-extra-fixtures' in str(info.value)\n")
    r = _run_pytest(tmp_path, "--mockserver-fixtures", "extra.yaml", "test_replaced.py")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "--mockserver-extra-fixtures" in _run_pytest(tmp_path, "--help").stdout


def _report_pid(_input):
    import os
    return os.getpid()


def test_bound_module_function_runs_in_a_worker_process(mockserver):
    """Only lambdas and closures need the test process; a module-level function is isolated."""
    import os
    client = mockserver.client()
    algo = client.algo("demo/WhereAmI")
    algo.create(details={"label": "WhereAmI"},
                settings={"language": "python3-1", "source_visibility": "closed", "license": "apl",
                          "network_access": "full", "pipeline_enabled": True, "environment": "cpu"})
    mockserver.bind("demo/WhereAmI", _report_pid)
    git_hash = algo.compile()["version_info"]["git_hash"]
    pid = client.algo(f"demo/WhereAmI/{git_hash}").pipe(None).result
    assert isinstance(pid, int) and pid != os.getpid()


REMOTE_CHECKS = '''
import pytest, requests
from mockserver.serving.remote import RemoteUnsupported
from mockserver.fixtures import FixtureError

def test_remote_handle(mockserver, tmp_path):
    assert mockserver.remote and "/sandboxes/" in mockserver.url
    assert mockserver.api_key == "simDemoSandboxKey0000000000" and mockserver.admin_key == "simAdminSandboxKey000000000"
    assert mockserver.client().scms()["results"]
    assert [(e["method"], e["path"]) for e in mockserver.journal()] == [("GET", "/v1/scms")]
    extra = tmp_path / "extra.yaml"
    extra.write_text("users:\\n  - username: zed\\n    email: zed@example.com\\n    fullname: Zed\\n"
                     "    keys:\\n      - key: simZedKey00000000000000000\\n")
    mockserver.load_fixtures(extra)
    assert requests.get(mockserver.url + "/v1/users/zed/algorithms",
                        headers={"Authorization": "Simple simZedKey00000000000000000"}).status_code == 200
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: 3\\n")
    with pytest.raises(FixtureError, match="bad.yaml"):
        mockserver.load_fixtures(bad)
    with pytest.raises(RemoteUnsupported, match="in-process server"):
        mockserver.bind("demo/Hello", lambda x: x)
    assert mockserver.bind("demo/Hello", "json:dumps") == "demo/Hello"
    with pytest.raises(RemoteUnsupported):
        mockserver.server
    assert mockserver.fault("/v1/scms", status=503, times=1)["remaining"] == 1
    assert len(mockserver.faults()) == 1
    mockserver.clear_faults()
    assert mockserver.faults() == []

def test_reset_between_tests(mockserver):
    r = requests.get(mockserver.url + "/v1/users/zed", headers={"Authorization": "Simple " + mockserver.admin_key})
    assert r.status_code == 404
    assert [e["path"] for e in mockserver.journal()] == ["/v1/users/zed"]
'''


def test_remote_mode_gives_each_xdist_worker_its_own_sandbox(tmp_path):
    """examples/ as two xdist workers against one running server, each in its own sandbox."""
    from mockserver.serving.live import LiveServer
    server = LiveServer(Settings(profile_scale=0.0, control_key="ci-key", algorithm_modules=["json"])).start()
    registry = server.app.extensions["mockserver.sandboxes"]
    created, create = [], registry.create

    def recording_create(**kw):
        sandbox = create(**kw)
        created.append(sandbox.name)
        return sandbox
    registry.create = recording_create
    try:
        project = tmp_path / "sdk-project"
        shutil.copytree(ROOT / "examples", project / "tests")
        (project / "tests" / "test_remote_handle.py").write_text(REMOTE_CHECKS)
        env_key = {"MOCKSERVER_CONTROL_KEY": "ci-key"}
        r = _run_pytest(project, "-n", "2", "-p", "no:randomly", "tests", "-rs", "--mockserver-url", server.url,
                        env=env_key)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
        assert " passed" in r.stdout and "failed" not in r.stdout
        assert sorted(created) == ["pytest gw0", "pytest gw1"]        # one sandbox per worker
        assert len(registry) == 0                                        # both deleted at the end
        assert server.mock.journal.entries() == []                       # the default sandbox saw nothing
        # without the key the shared server refuses to make a sandbox, and says why
        from mockserver.errors import ApiError
        from mockserver.serving.remote import RemoteSandbox
        with pytest.raises(ApiError, match="X-Mock-Control-Key") as refused:
            RemoteSandbox(server.url, None)
        assert refused.value.status == 401
    finally:
        server.stop()

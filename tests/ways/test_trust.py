"""Trust by provenance, not by path (issue 26 item 4), against a live `mockserver`.

The issue's reproduction: ``--fixtures`` names a file in the temporary folder (where the
checkout cache is made), its profile says ``mode: inprocess``, and a pushed commit returned
the server's own PID. Now only what the operator bound in that start-up fixture runs in the
server process; the pushed commit, and the same file bound over HTTP, run in workers.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from support.api import DEMO
from support.code import open_to_workers
from support.deploy import auth, call, create, deploy, publish
from support.processes import served

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

PID = "import os\n\ndef apply(input):\n    return os.getpid()\n"
FIXTURE = f"""
users:
  - username: demo
    email: demo@example.com
    fullname: Demo
    keys: [{{key: {DEMO}}}]
profiles:
  - {{name: python3-cpu, mode: inprocess}}
algorithms:
  - owner: demo
    name: FromFixture
    binding: pid.py:apply
    versions: [{{version_type: minor}}]
"""


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    tmpdir = open_to_workers(Path(tempfile.mkdtemp(prefix="mock-trust-")))   # the server's TMPDIR...
    try:
        (tmpdir / "pid.py").write_text(PID)
        (tmpdir / "fixtures.yaml").write_text(FIXTURE)                        # ...holds its fixture file
        with served(MOCKSERVER_FIXTURES=str(tmpdir / "fixtures.yaml"), TMPDIR=str(tmpdir),
                    MOCKSERVER_PROFILE_SCALE="0") as (url, _port, proc):
            yield url, proc.pid, tmpdir, tmp_path_factory.mktemp("git")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture()
def server(started):
    """The module's server, reset to its start-up fixtures: each test starts from them, whatever ran before."""
    url = started[0]
    assert requests.post(f"{url}/_mock/reset", json={}, headers={"Content-Type": "application/json"},
                         timeout=30).status_code == 200
    return started


def bind_over_http(url: str, name: str, target: str) -> None:
    """``demo/name`` bound to ``target`` through the control API, compiled and published."""
    create(url, "demo", name, DEMO)
    r = requests.put(f"{url}/_mock/algorithms/demo/{name}/binding", json={"target": target},
                     headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    assert requests.post(f"{url}/v1/algorithms/demo/{name}/compile", headers=auth(DEMO), timeout=60).ok
    publish(url, "demo", name, DEMO)


def test_a_pushed_commit_never_runs_in_the_server_process_wherever_its_checkout_is(server):
    url, pid, tmpdir, workdir = server
    assert call(url, "demo/FromFixture", DEMO)["result"] == pid          # the operator bound it: in-process
    deploy(url, "demo", "Pushed", DEMO, {"src/Pushed.py": PID}, workdir)
    checkouts = [p for p in tmpdir.iterdir() if p.name.startswith("algorithmia-mock-checkouts-")]
    assert checkouts and any(c.iterdir() for c in checkouts)            # the checkout is in the fixture's folder
    answer = call(url, "demo/Pushed", DEMO)
    assert isinstance(answer.get("result"), int) and answer["result"] != pid, answer


def test_the_same_file_bound_over_http_runs_in_a_worker(server):
    url, pid, tmpdir, _workdir = server
    bind_over_http(url, "ByHttp", f"{tmpdir / 'pid.py'}:apply")
    answer = call(url, "demo/ByHttp", DEMO)
    assert isinstance(answer.get("result"), int) and answer["result"] != pid, answer
    assert call(url, "demo/FromFixture", DEMO)["result"] == pid


def test_a_state_import_cannot_make_anything_trusted(server):
    url, pid, tmpdir, _workdir = server
    bind_over_http(url, "ByHttp", f"{tmpdir / 'pid.py'}:apply")
    control = {"Content-Type": "application/json"}
    exported = requests.get(f"{url}/_mock/state", timeout=30).json()
    exported["trusted_bindings"] = ["demo/ByHttp"]                # a claim the export never makes
    for build in exported["algorithms"]["demo/FromFixture"]["builds"].values():
        build["binding_trusted"] = True
    assert requests.put(f"{url}/_mock/state", json=exported, headers=control, timeout=30).status_code == 200
    for name in ("FromFixture", "ByHttp"):
        answer = call(url, f"demo/{name}", DEMO)
        assert isinstance(answer.get("result"), int) and answer["result"] != pid, (name, answer)
    assert requests.post(f"{url}/_mock/reset", json={}, headers=control, timeout=30).status_code == 200
    assert call(url, "demo/FromFixture", DEMO)["result"] == pid          # the operator's fixtures again

"""Two servers started with the same --seed and --clock frozen, given the same pushes and calls,
answer byte for byte the same: a failing algorithm's build, its logs and its stack trace name
nothing of the host (issue 27 item 6: paths under /opt/algorithm, no frames of the mock)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from support.algorithms import SETTINGS
from support.api import DEMO
from support.processes import served

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

BOOM = '''import json


def parse(text):
    return json.loads(text)


def apply(input):
    return parse(input)["value"]
'''
BROKEN = "def apply(input)\n    return input\n"
AUTH = {"Authorization": f"Simple {DEMO}"}


def _git(*args, cwd, env):
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout.strip()


def _session(url: str, home: Path) -> list[tuple[str, int, bytes]]:
    """Create, clone, push a failing algorithm, then a broken one; read builds, logs, calls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ALGORITHMIA_"))}
    when = "2026-01-01T00:00:00+0000"           # fixed commit dates: the same commits in both runs
    env.update(HOME=str(home), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Dev",
               GIT_AUTHOR_EMAIL="dev@example.com", GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com",
               GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[credential]\n\thelper = \"!f() { echo username=demo; echo password=%s; }; f\"\n" % DEMO)
    answers = []

    def api(method, path, headers=None, **kw):
        r = requests.request(method, f"{url}{path}", headers={**AUTH, **(headers or {})}, timeout=60, **kw)
        answers.append((f"{method} {path}", r.status_code, r.content))
        return r

    assert api("POST", "/v1/algorithms/demo", json={"name": "Boom", "details": {"label": "Boom"},
                                                     "settings": SETTINGS}).status_code == 200
    _git("clone", "-q", f"{url}/git/demo/Boom.git", cwd=home, env=env)
    repo = home / "Boom"
    for source, message in ((BOOM, "fails at run time"), (BROKEN, "does not import")):
        (repo / "src" / "Boom.py").write_text(source)
        _git("commit", "-qam", message, cwd=repo, env=env)
        _git("push", "-q", cwd=repo, env=env)
        commit = _git("rev-parse", "HEAD", cwd=repo, env=env)
        builds = api("GET", "/v1/algorithms/demo/Boom/builds").json()["results"]
        build = next(b for b in builds if b["commit_sha"] == commit)
        assert build["status"] != "in-progress", build
        api("GET", f"/v1/algorithms/demo/Boom/builds/{build['build_id']}/logs")
        api("POST", f"/v1/algo/demo/Boom/{commit}", data=b'"not json"', headers={"Content-Type": "application/json"})
    return answers


def test_two_reproducible_runs_answer_the_same_bytes(tmp_path):
    runs = []
    for run in ("one", "two"):
        with served(MOCKSERVER_SEED="27", MOCKSERVER_CLOCK="frozen", MOCKSERVER_PROFILE_SCALE="0") as (url, _port, _p):
            runs.append(_session(url, tmp_path / run))
    first, second = runs
    assert [a[:2] for a in first] == [a[:2] for a in second]
    for a, b in zip(first, second):
        assert a == b, f"{a[0]} differs:\n{a[2][:3000]!r}\n{b[2][:3000]!r}"
    # What was compared is the real thing: a run-time failure with the algorithm's frames only...
    error = [json.loads(body) for what, _s, body in first if what.startswith("POST /v1/algo/")]
    trace = error[0]["error"]["stacktrace"]
    assert 'File "/opt/algorithm/src/Boom.py", line 9, in apply' in trace and "JSONDecodeError" in trace, trace
    assert "mockserver" not in trace and str(tmp_path) not in trace and "checkouts" not in trace
    # ... and a failed build whose logs show the import error at the platform's path.
    logs = [json.loads(body)["logs"] for what, _s, body in first if what.endswith("/logs")]
    assert '/opt/algorithm/src/Boom.py", line 1' in logs[1] and "SyntaxError" in logs[1], logs[1]
    assert "mockserver" not in logs[1] and "<string>" not in logs[1] and ".venv" not in logs[1], logs[1]
    assert error[1]["error"]["code"] == 2012                   # its build failed: it cannot be called

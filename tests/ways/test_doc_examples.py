"""Every runnable example of README.md and docs/*.md is run by a test, or says why not.

EXAMPLES names each fenced block with a language (by its page and the start of its first
line): the test that runs it ("here::" for this module, or "tests/...::test" elsewhere), or
"not run: why". A new block must be added there, so no example goes unrun unnoticed. The
shell blocks run here as pasted, against a live server on a free port (the one change: the
documented port 8080 becomes that port), with a temporary HOME, so `git config --global`
writes there.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from support.api import DEMO
from support.docs import DOCS, ROOT, fenced, the_block
from support.processes import free_port, served, stop

GUIDE = "docs/ways-in.md"
_DOCKER = ("not run: Docker; .ci/docker_image.py builds the image and runs it with --network=host (its engine has "
           "no bridge network for -p), with the same variables and a mounted fixture")
_BROWSER = ("not run: a page's script needs a browser on another origin; tests/ways/test_cors.py checks the answers "
            "such a page gets")
EXAMPLES: dict[tuple[str, str], str] = {
    ("README.md", "python3 -m venv .venv && .venv/bin/pip install . && "): "tests/ways/test_install.py::test_mockserver_command",
    ("README.md", "python3 -m venv .venv && .venv/bin/pip install -e '."): "not run: it is the test run itself (.ci/run)",
    ("README.md", "docker build -t algorithmia-mock . && docker run --r"): _DOCKER,
    ("README.md", "from mockserver.testcontainer import AlgorithmiaMockC"): "tests/ways/test_testcontainer.py::test_the_docs_example_runs",
    ("README.md", "def test_reverse(mockserver):"): "tests/ways/test_guide.py::test_the_guides_and_readmes_test_files_run_as_written",
    ("README.md", 'const r = await fetch("http://localhost:8080/v1/algo/'): _BROWSER,
    ("README.md", 'eval "$(mockserver cli-env --key simDemoSandboxKey0'): "tests/e2e/test_cli_setup.py::test_the_readmes_cli_block_runs_as_written",
    ("docs/control-api.md", "curl -s -X POST http://127.0.0.1:8080/_mock/reset"): "here::test_control_api_reset_with_the_key",
    ("docs/control-api.md", "curl -s -X POST http://127.0.0.1:8080/_mock/sandboxes"): "here::test_control_api_sandbox_walkthrough",
    ("docs/git-and-cli.md", "mockserver --port 8080 &"): "here::test_git_walkthrough_ends_in_hello",
    ("docs/git-and-cli.md", 'eval "$(mockserver cli-env --key simDemoSandboxKey0'): "here::test_git_walkthrough_ends_in_hello",
    (GUIDE, "python3 -m venv .venv && . .venv/bin/activate"): "tests/ways/test_install.py::test_plugin_in_another_project",
    (GUIDE, "# my.yaml"): "tests/ways/test_guide.py::test_the_guides_fixture_loads_on_top_of_the_sandbox",
    (GUIDE, "docker build -t algorithmia-mock ."): _DOCKER,
    (GUIDE, "debootstrap --variant=minbase --include=python3,python"): "not run: Docker; .ci/docker_image.py makes its "
                                                                         "base image this way (ensure_base_image)",
    (GUIDE, "jobs:"): "tests/ways/test_ci_examples.py::test_actions_jobs_use_the_images_healthcheck_port_and_real_variables",
    (GUIDE, 'H=(-H "X-Mock-Control-Key: $MOCKSERVER_CONTROL_KEY" -H'): "here::test_sandbox_per_shard_without_pytest",
    (GUIDE, "services:"): "tests/ways/test_ci_examples.py::test_the_compose_file_runs_healthcheck_and_all",
    (GUIDE, "from mockserver.testcontainer import AlgorithmiaMockC"): "tests/ways/test_testcontainer.py::test_the_docs_example_runs",
    (GUIDE, "# tests/test_client.py  (the full example suite: exam"): "tests/ways/test_guide.py::test_the_guides_and_readmes_test_files_run_as_written",
    (GUIDE, "pytest examples/"): "tests/ways/test_plugin.py::test_examples_run_as_another_projects_suite",
    (GUIDE, "pytest -n 2 examples/ --mockserver-url http://127.0.0."): "tests/ways/test_plugin.py::test_remote_mode_gives_each_xdist_worker_its_own_sandbox",
    (GUIDE, "mockserver                       # or: python -m mock"): "here::test_the_sandbox_banner",
    (GUIDE, 'const r = await fetch("http://localhost:8080/v1/algo/'): _BROWSER,
    (GUIDE, "# the next compile fails once with 500 / code 5001 (t"): "here::test_fault_injection_examples",
}


def runnable_blocks() -> list[tuple[str, str, str]]:
    """(doc, language, first line) of every fenced block that names a language (indented ones too)."""
    found = []
    for doc in DOCS:
        for lang, body in re.findall(r"^[ \t]*```(\w+)\n(.*?)^[ \t]*```", (ROOT / doc).read_text(), re.S | re.M):
            found.append((doc, lang, next(line.strip() for line in body.splitlines() if line.strip())))
    return found


# ---------------------------------------------------------------- the registry is complete and true

def test_every_runnable_block_is_run_or_says_why_not():
    used = set()
    unexplained = []
    for doc, lang, first in runnable_blocks():
        entries = [(d, start) for d, start in EXAMPLES if d == doc and first.startswith(start)]
        if len(entries) != 1:
            unexplained.append(f"{doc}: ```{lang} {first!r} matches {len(entries)} EXAMPLES entries")
        used.update(entries)
    assert not unexplained, "blocks EXAMPLES must name once (the test that runs them, or why not):\n" + \
        "\n".join(unexplained)
    assert not set(EXAMPLES) - used, f"EXAMPLES names blocks that are gone: {sorted(set(EXAMPLES) - used)}"
    assert fenced("README.md"), "the docs reader finds blocks"


@pytest.mark.parametrize("entry", sorted(set(EXAMPLES.values())))
def test_each_named_test_exists(entry):
    if entry.startswith("not run: "):
        assert len(entry) > 30
        return
    where, _, name = entry.partition("::")
    path = Path(__file__) if where == "here" else ROOT / where
    assert path.is_file(), entry
    assert re.search(rf"^def {name}\(", path.read_text(), re.M), f"{entry}: no such test"


# ---------------------------------------------------------------- running shell blocks

def on_port(block: str, port: int) -> str:
    changed = re.sub(r"\b(127\.0\.0\.1|localhost):8080\b", rf"\g<1>:{port}", block)
    changed = changed.replace("--port 8080", f"--port {port}")
    assert changed != block, "the block names no 127.0.0.1:8080 / localhost:8080"
    return changed


def run_bash(script: str, tmp_path: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """The script in bash -e, in tmp_path/work with HOME=tmp_path/home; it and whatever it left
    running (a server it started with &) are ended at the end."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKSERVER_", "ALGORITHMIA_", "GIT_"))}
    full_env = {**clean, "HOME": str(home), "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                # git needs an author; a reader's machine has one configured
                "GIT_AUTHOR_NAME": "Doc Reader", "GIT_AUTHOR_EMAIL": "reader@example.com",
                "GIT_COMMITTER_NAME": "Doc Reader", "GIT_COMMITTER_EMAIL": "reader@example.com",
                "GIT_TERMINAL_PROMPT": "0", **env}
    prelude = "set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    proc = subprocess.Popen(["bash", "-c", prelude + script], cwd=work, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"the block did not finish within {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)       # anything of the script's own still running
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def json_values(text: str) -> list:
    """The JSON documents curl -s printed back to back (no newline between them)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        match = re.compile(r"[\[{]").search(text, at)
        if not match:
            return values
        value, at = decoder.raw_decode(text, match.start())
        values.append(value)


# ---------------------------------------------------------------- the blocks

def test_control_api_reset_with_the_key(tmp_path):
    block = the_block("docs/control-api.md", "sh", "curl -s -X POST http://127.0.0.1:8080/_mock/reset")
    key = secrets.token_urlsafe(24)
    with served() as (_url, port, _proc):                       # no control key set: both lines reset
        open_server = run_bash(on_port(block, port), tmp_path, KEY="any")
    with served(MOCKSERVER_CONTROL_KEY=key) as (_url, port, _proc):
        done = run_bash(on_port(block, port), tmp_path, KEY=key)
        refused = run_bash(on_port(block, port), tmp_path, KEY="not-the-key")
    assert json_values(open_server.stdout) == [{"status": "reset"}] * 2, open_server.stdout + open_server.stderr
    keyless, with_key = json_values(done.stdout)
    assert keyless["error"]["code"] and with_key == {"status": "reset"}, done.stdout + done.stderr
    assert all(answer["error"]["code"] for answer in json_values(refused.stdout)), refused.stdout


def test_control_api_sandbox_walkthrough(tmp_path):
    block = the_block("docs/control-api.md", "sh", "/_mock/sandboxes -H")
    shown_id = re.search(r"/sandboxes/([0-9a-f]{12})\b", block).group(1)
    with served() as (url, port, _proc):
        # the block uses the id its first command printed: take one the same way for the rest
        sandbox = requests.post(f"{url}/_mock/sandboxes", json={"name": "doc"}, timeout=10).json()
        done = run_bash(on_port(block, port).replace(shown_id, sandbox["id"]), tmp_path)
        left = requests.get(f"{url}/_mock/sandboxes", timeout=10).json()
    assert done.returncode == 0, done.stdout + done.stderr
    created, reset, deleted = json_values(done.stdout)
    assert created["name"] == "shard-1" and created["base_url"].startswith(f"http://127.0.0.1:{port}/sandboxes/")
    assert re.search(r"(^|\})demo$", done.stdout, re.M), done.stdout          # the client's username()
    assert reset == {"status": "reset"} and deleted == {"status": "deleted"}
    assert sandbox["id"] not in json.dumps(left), "the walk-through deletes its sandbox"


def test_git_walkthrough_ends_in_hello(tmp_path):
    block = the_block("docs/git-and-cli.md", "bash", "git clone")
    port = free_port()
    done = run_bash(on_port(block, port), tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert done.stdout.splitlines()[-1] == "HELLO!", done.stdout[-2000:]
    assert "src/Shout.py" in done.stdout or "Shout.py" in done.stdout           # ls -R of the clone
    # --global went to the temporary HOME, for this port only
    assert f'[credential "http://127.0.0.1:{port}"]' in (tmp_path / "home" / ".gitconfig").read_text()


def test_sandbox_per_shard_without_pytest(tmp_path):
    block = the_block(GUIDE, "sh", "BOX=$(curl")
    key = secrets.token_urlsafe(24)
    # `npm test` stands for the shard's own suite: here a call with the demo key to the sandbox
    npm = (f'npm() {{ curl -sf -H "Authorization: Simple {DEMO}" -H "Content-Type: application/json" -d \'"Neo"\' '
           '"$ALGORITHMIA_API/v1/algo/demo/Hello"; echo; echo "npm $1 ran against $ALGORITHMIA_API"; }\n')
    with served(MOCKSERVER_CONTROL_KEY=key) as (url, port, _proc):
        done = run_bash(npm + on_port(block, port), tmp_path, MOCKSERVER_CONTROL_KEY=key, SHARD="3")
        left = requests.get(f"{url}/_mock/sandboxes", headers={"X-Mock-Control-Key": key}, timeout=10).json()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"^npm test ran against http://localhost:{port}/sandboxes/\w+$", done.stdout, re.M), done.stdout
    assert json_values(done.stdout)[0]["result"] == "Hello Neo"
    assert "shard-3" not in json.dumps(left), "the block deletes its sandbox"


def test_fault_injection_examples(tmp_path):
    block = the_block(GUIDE, "sh", "/_mock/faults")
    with served() as (url, port, _proc):
        done = run_bash(on_port(block, port), tmp_path)
        after = requests.get(f"{url}/_mock/faults", timeout=10).json()
    assert done.returncode == 0, done.stdout + done.stderr
    values = json_values(done.stdout)
    added, listed = values[:3], values[3]
    assert [f.get("status") for f in added] == [500, None, None] and added[1]["drop"] is True
    assert sorted(f["id"] for f in listed["faults"]) == sorted(f["id"] for f in added)
    assert after["faults"] == [], "the last command clears them"


def test_the_sandbox_banner():
    block = the_block(GUIDE, "sh", "# or: python -m mockserver")
    command = re.search(r"# or: (python -m mockserver .*)$", block, re.M).group(1)
    port = free_port()
    argv = [sys.executable, *command.split()[1:]]
    argv[argv.index("--port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    shown = [re.sub(r"\s+", " ", line[1:].strip()).replace(":8080", f":{port}")
             for line in block.splitlines()[1:] if line.startswith("#")]
    output = b""

    def printed() -> str:
        return re.sub(r"[ \t]+", " ", output.decode(errors="replace"))

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(s in printed() for s in shown):
            if select.select([proc.stdout], [], [], 0.5)[0]:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
    finally:
        stop(proc)
    assert shown and all(s in printed() for s in shown), f"shown: {shown}\nprinted: {printed()}"

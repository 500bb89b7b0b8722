"""Developing an algorithm against the mock with the stock `git` command, `algo clone`
(algorithmia 2.0.5's CLI) and the official Python client (issue 19)."""
import os
import shutil
import sys

import pytest
import requests

from support.api import ALICE, DEMO
from support.git import SETTINGS, build_logs, git_env, head_of, sh, wait_build
from mockserver.errors import INVALID_BUILD_STATUS

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture()
def client(live_server):
    import Algorithmia
    return Algorithmia.client(DEMO, live_server.url)


def create(client, name, **settings):
    client.algo(f"demo/{name}").create(details={"label": name}, settings={**SETTINGS, **settings})


def test_clone_edit_push_build_publish_call_with_git(live_server, client, tmp_path):
    url = live_server.url
    create(client, "Greeter")
    env = git_env(tmp_path, DEMO)
    sh("git", "clone", f"{url}/git/demo/Greeter.git", cwd=tmp_path, env=env)
    repo = tmp_path / "Greeter"
    assert (repo / "src" / "Greeter.py").read_text().count('"hello {}".format(input)') == 1
    assert {p.name for p in (repo / "src").iterdir()} == {"Greeter.py", "__init__.py", "Greeter_test.py"}
    assert (repo / "requirements.txt").exists()

    # The template builds and publishes as 0.1.0 and answers as the template does.
    client.algo("demo/Greeter").compile()
    first = client.algo("demo/Greeter").publish(version_info={"version_type": "minor"},
                                                 settings={"algorithm_callability": "private"})
    assert first["version_info"]["semantic_version"] == "0.1.0"
    assert first["version_info"]["git_hash"] == head_of(repo, env)      # the build is of the repository's commit
    assert client.algo("demo/Greeter/0.1.0").pipe("Ann").result == "hello Ann"

    # Edit, commit, push: the push builds the new commit.
    (repo / "src" / "Greeter.py").write_text("def apply(input):\n    return 'hi there ' + str(input)\n")
    sh("git", "commit", "-qam", "say hi", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    commit = head_of(repo, env)
    build = wait_build(url, "Greeter", commit)
    assert build["status"] == "succeeded", build
    logs = build_logs(url, "Greeter", build["build_id"])
    assert f"checkout {commit}" in logs and "requirements.txt" in logs and "import entrypoint src/Greeter.py" in logs
    second = client.algo("demo/Greeter").publish(version_info={"version_type": "minor"},
                                                  settings={"algorithm_callability": "private"})
    assert second["version_info"]["semantic_version"] == "0.2.0" and second["version_info"]["git_hash"] == commit
    assert client.algo("demo/Greeter/0.2.0").pipe("Ann").result == "hi there Ann"
    assert client.algo("demo/Greeter/latestPrivate").pipe("Bo").result == "hi there Bo"

    # A broken push fails its build, with the traceback in the logs, and cannot be published.
    (repo / "src" / "Greeter.py").write_text("def apply(input)\n    return input\n")
    sh("git", "commit", "-qam", "oops", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    broken = wait_build(url, "Greeter", head_of(repo, env))
    assert broken["status"] == "failed", broken
    logs = build_logs(url, "Greeter", broken["build_id"])
    assert 'File "/opt/algorithm/src/Greeter.py", line 1' in logs and "SyntaxError" in logs
    assert "/opt/algorithm/src/Greeter.py" in logs, logs            # the checkout's path as the platform shows it
    r = requests.post(f"{url}/v1/algorithms/demo/Greeter/versions", json={"version_info": {"version_type": "minor"}},
                      headers={"Authorization": f"Simple {DEMO}"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == INVALID_BUILD_STATUS.code, r.text

    # Published versions keep running what they were built from.
    assert client.algo("demo/Greeter/0.1.0").pipe("Cy").result == "hello Cy"
    assert client.algo("demo/Greeter/0.2.0").pipe("Cy").result == "hi there Cy"

    # A missing apply fails too; fixing it builds again.
    (repo / "src" / "Greeter.py").write_text("def other(input):\n    return input\n")
    sh("git", "commit", "-qam", "no apply", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    no_apply = wait_build(url, "Greeter", head_of(repo, env))
    assert no_apply["status"] == "failed" and "apply" in build_logs(url, "Greeter", no_apply["build_id"])


def test_algo_clone_with_the_cli(live_server, client, tmp_path):
    url = live_server.url
    create(client, "Cloned")
    env = git_env(tmp_path, DEMO)
    config = tmp_path / ".algorithmia" / "config"
    config.parent.mkdir()
    config.write_text(f'[profiles.default]\napi_key = "{DEMO}"\napi_server = "{url}"\nca_cert = ""\n')
    cli = [sys.executable, "-c", "from Algorithmia.__main__ import main; main()"]
    done = sh(*cli, "clone", "demo/Cloned", cwd=tmp_path, env=env)
    assert "failed to clone" not in done.stdout, done.stdout
    repo = tmp_path / "Cloned"
    assert (repo / "src" / "Cloned.py").exists(), done.stdout
    (repo / "src" / "Cloned.py").write_text("def apply(input):\n    return {'echo': input}\n")
    sh("git", "commit", "-qam", "echo", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    assert wait_build(url, "Cloned", head_of(repo, env))["status"] == "succeeded"
    client.algo("demo/Cloned").publish(version_info={"version_type": "major"}, settings={"algorithm_callability": "public"})
    assert client.algo("demo/Cloned/1.0.0").pipe({"a": 1}).result == {"echo": {"a": 1}}
    assert client.algo("demo/Cloned").pipe("x").result == {"echo": "x"}


def test_who_may_clone_and_push(live_server, client, tmp_path):
    url = live_server.url
    create(client, "Guarded")
    nobody = {k: v for k, v in git_env(tmp_path, DEMO).items()}
    (tmp_path / ".gitconfig").unlink()                  # no credentials at all
    done = sh("git", "clone", f"{url}/git/demo/Guarded.git", "anon", cwd=tmp_path, env=nobody, ok=False)
    assert done.returncode != 0 and not (tmp_path / "anon").exists()
    alice = git_env(tmp_path, ALICE)                   # another user: the algorithm is private
    done = sh("git", "clone", f"{url}/git/demo/Guarded.git", "alice", cwd=tmp_path, env=alice, ok=False)
    assert done.returncode != 0 and "not found" in done.stderr
    # Published publicly with open source: alice may clone, but not push.
    r = requests.put(f"{url}/v1/algorithms/demo/Guarded", headers={"Authorization": f"Simple {DEMO}"}, timeout=30,
                     json={"details": {"label": "Guarded"},
                           "settings": {**SETTINGS, "source_visibility": "open", "license": "mit"}})
    assert r.status_code == 200 and r.json()["settings"]["source_visibility"] == "open", r.text
    client.algo("demo/Guarded").compile()
    client.algo("demo/Guarded").publish(version_info={"version_type": "minor"}, settings={"algorithm_callability": "public"})
    sh("git", "clone", f"{url}/git/demo/Guarded.git", "alice", cwd=tmp_path, env=alice)
    (tmp_path / "alice" / "README.md").write_text("mine now\n")
    sh("git", "commit", "-qam", "take over", cwd=tmp_path / "alice", env=alice)
    done = sh("git", "push", cwd=tmp_path / "alice", env=alice, ok=False)
    assert done.returncode != 0 and "403" in done.stderr, done.stderr


def test_other_languages_push_and_build_but_do_not_run(live_server, client, tmp_path):
    url = live_server.url
    create(client, "Jay", language="javascript")
    env = git_env(tmp_path, DEMO)
    sh("git", "clone", f"{url}/git/demo/Jay.git", cwd=tmp_path, env=env)
    repo = tmp_path / "Jay"
    assert (repo / "src" / "Jay.js").exists() and (repo / "package.json").exists()
    (repo / "src" / "Jay.js").write_text("exports.apply = function(input, cb) { cb(null, 'yo ' + input); };\n")
    sh("git", "commit", "-qam", "yo", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    build = wait_build(url, "Jay", head_of(repo, env))
    assert build["status"] == "succeeded"
    assert "cannot execute javascript code" in build_logs(url, "Jay", build["build_id"])
    client.algo("demo/Jay").publish(version_info={"version_type": "minor"}, settings={"algorithm_callability": "private"})
    r = requests.post(f"{url}/v1/algo/demo/Jay/0.1.0", json="x", headers={"Authorization": f"Simple {DEMO}"}, timeout=30)
    assert r.status_code == 400 and "cannot execute" in r.json()["error"]["message"], r.text


def test_pushed_code_survives_export_and_import_and_reset_forgets_it(live_server, client, tmp_path):
    url, control = live_server.url, {"Content-Type": "application/json"}
    create(client, "Kept")
    env = git_env(tmp_path, DEMO)
    sh("git", "clone", f"{url}/git/demo/Kept.git", cwd=tmp_path, env=env)
    repo = tmp_path / "Kept"
    (repo / "src" / "Kept.py").write_text("def apply(input):\n    return 'kept ' + str(input)\n")
    sh("git", "commit", "-qam", "kept", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    assert wait_build(url, "Kept", head_of(repo, env))["status"] == "succeeded"
    client.algo("demo/Kept").publish(version_info={"version_type": "minor"}, settings={"algorithm_callability": "private"})
    exported = requests.get(f"{url}/_mock/state", timeout=30).json()
    assert requests.post(f"{url}/_mock/reset", json={}, headers=control, timeout=30).status_code == 200
    assert sh("git", "fetch", cwd=repo, env=env, ok=False).returncode != 0          # gone with the reset
    mock = live_server.mock
    assert not os.path.exists(os.path.join(mock.checkouts.root, mock.ctx.scope))   # reset removed them
    shutil.rmtree(mock.checkouts.root)                                         # as after a restart
    assert requests.put(f"{url}/_mock/state", json=exported, headers=control, timeout=30).status_code == 200
    assert client.algo("demo/Kept/0.1.0").pipe("x").result == "kept x"
    sh("git", "fetch", cwd=repo, env=env)
    assert sh("git", "status", "-sb", cwd=repo, env=env).stdout.startswith("## master...origin/master\n")


def test_a_stale_clone_cannot_overwrite_a_newer_push(live_server, client, tmp_path):
    url = live_server.url
    create(client, "Shared")
    env = git_env(tmp_path, DEMO)
    for folder in ("one", "two"):
        sh("git", "clone", "-q", f"{url}/git/demo/Shared.git", folder, cwd=tmp_path, env=env)
    for folder, text in (("one", "first"), ("two", "second")):
        (tmp_path / folder / "notes.txt").write_text(text + "\n")
        sh("git", "add", "notes.txt", cwd=tmp_path / folder, env=env)
        sh("git", "commit", "-qm", text, cwd=tmp_path / folder, env=env)
    sh("git", "push", "-q", cwd=tmp_path / "one", env=env)
    done = sh("git", "push", "-q", cwd=tmp_path / "two", env=env, ok=False)
    assert done.returncode != 0 and "rejected" in done.stderr, done.stderr
    sh("git", "pull", "-q", "--rebase", cwd=tmp_path / "two", env=env, ok=False)   # conflict on notes.txt
    sh("git", "rebase", "--abort", cwd=tmp_path / "two", env=env, ok=False)
    sh("git", "reset", "-q", "--hard", "origin/master", cwd=tmp_path / "two", env=env)
    assert (tmp_path / "two" / "notes.txt").read_text() == "first\n"               # what the server kept

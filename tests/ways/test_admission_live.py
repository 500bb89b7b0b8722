"""Issue 26, "Two keys stall every sandbox", against the mockserver command (loopback, bounded in time).

Four keys each run their full per-key cap (8) of long calls, 16 binding PUTs whose import
hangs are in flight, and builds whose import waits on a flag fill the build pool (two in this
sandbox, its share, two in another, the server's bound): the server admits its default
sandbox's share of calls (12), of checks (2) and of builds (2), refuses the rest at once with
429 + Retry-After (a push: refused, with git printing why, nothing stored), and keeps answering
everyone else; a call and a binding check in another sandbox complete normally. The latency
targets (health p99 < 100 ms, GET algorithm p99 < 250 ms) are measured by benchmarks/timings.py.
"""
from __future__ import annotations

import shutil
import subprocess

import requests

from support import deploy
from support.admission_load import (Compiles, InFlight, builds_full, builds_started, compile_algorithm, flag_folder,
                                    hanging_module, make_algorithm, new_sandbox, slow_build_files)
from support.api import DEMO
from support.code import open_to_workers
from support.git import git, git_env
from support.polling import until
from support.processes import served

CALL_S = 3.0              # calls of a few seconds, long enough to be in flight while we look
IMPORT_S = 4.0            # the admitted binding checks take this long (under the 10 s check timeout)
AUTH = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}


def test_calls_binding_checks_and_builds_past_their_pools_are_refused_and_the_server_keeps_answering(tmp_path):
    target = hanging_module(open_to_workers(tmp_path), IMPORT_S)     # bound over HTTP: enterable as another uid
    wide = tmp_path / "wide.yaml"          # 4 warm slots: the 12 admitted calls finish in 3 rounds
    wide.write_text("profiles:\n  - {name: python3-cpu, processor: cpu, warm_slots: 4, queue_limit: 16}\n")
    flags = flag_folder()
    hold = flags / "hold"                  # slow builds wait while it exists
    try:
        with served(MOCKSERVER_ALGORITHMS_DIRS=str(tmp_path), MOCKSERVER_EXTRA_FIXTURES=str(wide),
                    MOCKSERVER_PROFILE_SCALE="0") as (url, _port, _proc):
            make_algorithm(url, "Hangs")
            other, third = new_sandbox(url), new_sandbox(url)
            for prefix, name in (("", "BuildA"), ("", "BuildB"), ("", "BuildC"), (other, "BuildD"), (other, "BuildE")):
                deploy.create(url + prefix, "demo", name, DEMO)
                deploy.push(url + prefix, "demo", name, DEMO, slow_build_files(name, hold), tmp_path / "git")
            late = _commit_to_push(url, "BuildC", tmp_path / "late")       # pushed while the pool is full
            before = _remote_head(url, "BuildC", tmp_path / "late")
            hold.touch()
            builds = Compiles(url, [("", "BuildA"), ("", "BuildB")]).start()
            assert until(lambda: builds_started(flags, ["BuildA", "BuildB"]), 60, 0.1), "two builds never ran"
            assert builds_full(url, "", "this sandbox has")
            share = compile_algorithm(url, "BuildC")                        # this sandbox holds its 2
            more = Compiles(url, [(other, "BuildD"), (other, "BuildE")]).start()
            assert until(lambda: builds_started(flags, ["BuildD", "BuildE"]), 60, 0.1), "the other two never ran"
            assert builds_full(url, third), "the four builds did not fill the pool"
            pushed = subprocess.run(["git", "push", "-q"], cwd=late, env=git_env(tmp_path / "late", DEMO),
                                    capture_output=True, text=True, timeout=60)
            with InFlight(url, CALL_S, target, "Hangs") as load:
                assert load.wait_for_refusals(calls=32 - 12, binds=16 - 2), (len(load.calls), len(load.binds))
                # everything else is still answered, at once
                assert requests.get(f"{url}/_mock/health", timeout=5).status_code == 200
                hello = requests.get(f"{url}/v1/algorithms/demo/Hello", headers=AUTH, timeout=5)
                assert hello.status_code == 200 and hello.json()["name"] == "Hello"
                # another sandbox calls and checks a binding normally
                called = requests.post(f"{url}{other}/v1/algo/demo/Hello", data='"Neo"', headers=AUTH, timeout=30)
                assert called.status_code == 200 and called.json()["result"] == "Hello Neo"
                make_algorithm(url, "Hangs", other)
                bound = requests.put(f"{url}{other}/_mock/algorithms/demo/Hangs/binding", json={"target": target},
                                     timeout=30)
                assert bound.status_code == 200, bound.text
                assert builds_full(url, third)                # the builds are still in flight meanwhile
            hold.unlink()
            builds.join()
            more.join()
            # the builds past the pool: refused at once, nothing stored
            assert share.status_code == 429 and share.headers["Retry-After"] == "1", share.text
            assert share.json()["error"]["code"] == 6001
            assert "too many builds at once: this sandbox has 2 builds in flight" in share.json()["error"]["message"]
            assert pushed.returncode != 0 and "too many builds at once" in pushed.stderr, pushed.stderr
            assert _remote_head(url, "BuildC", tmp_path / "late") == before
            answers = {**builds.answers, **more.answers}
            for key, answer in answers.items():                   # the admitted ones built normally
                assert answer.status_code == 200, (key, answer.text)
            assert len(answers) == 4
            calls, binds = load.calls, load.binds
            assert len(calls) == 32 and len(binds) == 16
            done = [c for c in calls if c.status_code == 200]
            assert len(done) == 12 and all(c.json()["result"]["requested"] == CALL_S for c in done)
            for refused in (c for c in calls if c.status_code != 200):
                assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
                error = refused.json()["error"]
                assert error["error_type"] == "SystemError" and "calls in flight" in error["message"]
            assert sum(b.status_code == 200 for b in binds) == 2
            for refused in (b for b in binds if b.status_code != 200):
                assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
                assert refused.json()["error"]["code"] == 6001
                assert "too many binding checks at once" in refused.json()["error"]["message"]
            # all slots given back: the default sandbox calls, builds and pushes again
            again = requests.post(f"{url}/v1/algo/demo/Hello", data='"Neo"', headers=AUTH, timeout=30)
            assert again.status_code == 200 and again.json()["result"] == "Hello Neo"
            git("push", "-q", cwd=late, env=git_env(tmp_path / "late", DEMO))
            assert _remote_head(url, "BuildC", tmp_path / "late") == git("rev-parse", "HEAD", cwd=late,
                                                                        env=git_env(tmp_path / "late", DEMO))
            assert compile_algorithm(url, "BuildC").status_code == 200
    finally:
        shutil.rmtree(flags, ignore_errors=True)


def _commit_to_push(url: str, name: str, home) -> object:
    """A clone of demo/``name`` with one more commit, not pushed yet: the clone's folder."""
    env = git_env(home, DEMO)
    git("clone", "-q", f"{url}/git/demo/{name}.git", cwd=home, env=env)
    repo = home / name
    (repo / "NOTES.md").write_text("one more commit\n")
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-qm", "notes", cwd=repo, env=env)
    return repo


def _remote_head(url: str, name: str, home) -> str:
    return git("ls-remote", f"{url}/git/demo/{name}.git", "refs/heads/master", cwd=home,
               env=git_env(home, DEMO)).split()[0]

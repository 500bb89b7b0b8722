"""The stock git command against the mock, as a developer drives it: a credential helper with
the API key, commands with a time limit, and waiting for the build a push starts."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from support.api import DEMO

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


def git_env(home: Path, key: str) -> dict:
    """git configured as a user would: a credential helper answering the API key as the password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ALGORITHMIA_"))}
    env.update(HOME=str(home), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com")
    (home / ".gitconfig").write_text(
        "[credential]\n\thelper = \"!f() { echo username=demo; echo password=%s; }; f\"\n" % key)
    return env


def sh(*args, cwd, env, ok=True, timeout=120):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if ok:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def head_of(repo, env) -> str:
    return sh("git", "rev-parse", "HEAD", cwd=repo, env=env).stdout.strip()


def remote_head(url: str, name: str, key: str = DEMO) -> str | None:
    """What master points at on the server (None: no master)."""
    r = requests.get(f"{url}/git/demo/{name}.git/info/refs", params={"service": "git-upload-pack"},
                     auth=("demo", key), timeout=30)
    assert r.status_code == 200, r.text
    line = next((l for l in r.content.split(b"\n") if l.rstrip().endswith(b"refs/heads/master")), None)
    return None if line is None else line[-58:-18].decode()


def create_algorithm(url: str, name: str, key: str = DEMO, **settings) -> None:
    r = requests.post(f"{url}/v1/algorithms/demo", headers={"Authorization": f"Simple {key}"}, timeout=30,
                      json={"name": name, "details": {"label": name}, "settings": {**SETTINGS, **settings}})
    assert r.status_code == 200, r.text


def builds_of(url: str, name: str, key: str = DEMO) -> list[dict]:
    r = requests.get(f"{url}/v1/algorithms/demo/{name}/builds", headers={"Authorization": f"Simple {key}"},
                     params={"limit": 100}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def wait_build(url, name, commit, key=DEMO, timeout=60.0):
    """The build of ``commit``, once it has finished."""
    deadline = time.monotonic() + timeout
    while True:
        build = next((b for b in builds_of(url, name, key) if b["commit_sha"] == commit), None)
        if build is not None and build["status"] != "in-progress":
            return build
        assert time.monotonic() < deadline, build
        time.sleep(0.2)


def build_logs(url, name, build_id, key=DEMO):
    r = requests.get(f"{url}/v1/algorithms/demo/{name}/builds/{build_id}/logs",
                     headers={"Authorization": f"Simple {key}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["logs"]

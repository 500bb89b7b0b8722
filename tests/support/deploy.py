"""Deploying an algorithm to a live mock as its author would: create it, push its files with the
stock git command, wait for the build the push starts, publish it, call it."""
from __future__ import annotations

from pathlib import Path

import requests

from support.algorithms import SETTINGS
from support.git import git, git_env
from support.polling import until


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Simple {key}"}


def create(url: str, owner: str, name: str, key: str, **settings) -> None:
    r = requests.post(f"{url}/v1/algorithms/{owner}", headers=auth(key), timeout=30,
                      json={"name": name, "details": {"label": name}, "settings": {**SETTINGS, **settings}})
    assert r.status_code == 200, r.text


def push(url: str, owner: str, name: str, key: str, files: dict[str, str], workdir: Path, *,
         control_key: str | None = None) -> str:
    """Clone ``owner/name``, write ``files`` (path -> text), commit and push; returns the commit."""
    home = workdir / f"home-{owner}-{name}"
    home.mkdir(parents=True, exist_ok=True)
    env = git_env(home, key)
    git("clone", "-q", f"{url}/git/{owner}/{name}.git", cwd=home, env=env)
    repo = home / name
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-qm", f"deploy {name}", cwd=repo, env=env)
    extra = ["-c", f"http.extraHeader=X-Mock-Control-Key: {control_key}"] if control_key else []
    git(*extra, "push", "-q", cwd=repo, env=env)
    return git("rev-parse", "HEAD", cwd=repo, env=env)


def wait_build(url: str, owner: str, name: str, commit: str, key: str, timeout: float = 90.0) -> dict:
    """The build of ``commit`` once it has finished (a push starts it)."""
    def finished() -> dict | None:
        r = requests.get(f"{url}/v1/algorithms/{owner}/{name}/builds", headers=auth(key), params={"limit": 100},
                         timeout=30)
        assert r.status_code == 200, r.text
        build = next((b for b in r.json()["results"] if b["commit_sha"] == commit), None)
        return build if build is not None and build["status"] != "in-progress" else None
    build = until(finished, timeout, interval=0.2)
    assert build is not None, f"no finished build of {owner}/{name} at {commit} after {timeout} s"
    return build


def build_logs(url: str, owner: str, name: str, build_id: str, key: str) -> str:
    r = requests.get(f"{url}/v1/algorithms/{owner}/{name}/builds/{build_id}/logs", headers=auth(key), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["logs"]


def publish(url: str, owner: str, name: str, key: str, callability: str = "public") -> str:
    """Publish the latest build; returns its semantic version."""
    r = requests.post(f"{url}/v1/algorithms/{owner}/{name}/versions", headers=auth(key), timeout=30,
                      json={"settings": {"algorithm_callability": callability},
                            "version_info": {"version_type": "minor", "release_notes": "r"}})
    assert r.status_code == 200, r.text
    return r.json()["version_info"]["semantic_version"]


def deploy(url: str, owner: str, name: str, key: str, files: dict[str, str], workdir: Path, *,
           control_key: str | None = None, **settings) -> str:
    """Create, push, build (it must succeed) and publish; returns the commit."""
    create(url, owner, name, key, **settings)
    commit = push(url, owner, name, key, files, workdir, control_key=control_key)
    build = wait_build(url, owner, name, commit, key)
    assert build["status"] == "succeeded", build_logs(url, owner, name, build["build_id"], key)
    publish(url, owner, name, key)
    return commit


def call(url: str, path: str, key: str, body=None, **params) -> dict:
    """``POST /v1/algo/{path}``: the answer's JSON (an error answer included)."""
    r = requests.post(f"{url}/v1/algo/{path}", headers=auth(key), json=body, params=params or None, timeout=120)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.text
    return r.json()

"""Algorithms for tests: the settings they are created with, the sandbox's algorithm files;
creating, binding, compiling and publishing one through the spec-checking ``Api``
(support.api); on a live server, waiting for a build to finish."""
from __future__ import annotations

import requests

from mockserver.resources import resource_path
from support.api import DEMO
from support.polling import until

# What every test algorithm is created with, unless a test says otherwise.
SETTINGS = {"environment": "cpu", "language": "python3-1", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "source_visibility": "closed"}
# The bundled sandbox's algorithm files (fixtures/algorithms/), allowed to bindings on every server.
SANDBOX_ALGORITHMS = str(resource_path("fixtures", "algorithms"))


def algo_file(name: str) -> str:
    """The binding target of the sandbox algorithm ``fixtures/algorithms/{name}.py``."""
    return f"{SANDBOX_ALGORITHMS}/{name}.py:apply"


def create(api, name: str, owner: str = "demo", **extra):
    """``POST /v1/algorithms/{owner}``: the response. ``settings=`` adds to SETTINGS; other
    keywords go into the body as they are."""
    body = {"name": name, "details": {"label": f"{name} label"},
            "settings": {**SETTINGS, **extra.pop("settings", {})}, **extra}
    return api.post(f"/v1/algorithms/{owner}", body)


def make(api, name: str, target: str | None = None, owner: str = "demo", settings: dict | None = None) -> str:
    """Create ``owner/name`` (bound to ``target`` when given) and compile it: the build's git hash."""
    r = create(api, name, owner, settings=settings or {})
    assert r.status_code == 200, r.data
    if target:
        r = api.put(f"/_mock/algorithms/{owner}/{name}/binding", {"target": target})
        assert r.status_code == 200, r.data
    return compile_(api, name, owner)["version_info"]["git_hash"]


def compile_(api, name: str, owner: str = "demo") -> dict:
    """Compile (it must succeed): the algorithm object it answers."""
    r = api.post(f"/v1/algorithms/{owner}/{name}/compile")
    assert r.status_code == 200, r.data
    return r.get_json()


def publish_request(api, name: str, kind: str = "minor", callability: str = "public", owner: str = "demo",
                    path: str = "versions", **info):
    """``POST /v1/algorithms/{owner}/{name}/{path}`` (``path="version"``: the older spelling): the
    response. ``info`` goes into ``version_info``."""
    return api.post(f"/v1/algorithms/{owner}/{name}/{path}", {"settings": {"algorithm_callability": callability},
                                                             "version_info": {"version_type": kind, **info}})


def publish(api, name: str, kind: str = "minor", callability: str = "public", owner: str = "demo") -> str:
    """Publish the latest build (it must succeed): its semantic version."""
    r = publish_request(api, name, kind, callability, owner, release_notes="r")
    assert r.status_code == 200, r.data
    return r.get_json()["version_info"]["semantic_version"]


def wait_build(url: str, name: str, commit: str, key: str = DEMO, timeout: float = 60.0, owner: str = "demo") -> dict:
    """On a live server: the build of ``commit`` once it has finished."""
    def finished():
        r = requests.get(f"{url}/v1/algorithms/{owner}/{name}/builds", headers={"Authorization": f"Simple {key}"},
                         params={"limit": 100}, timeout=30)
        assert r.status_code == 200, r.text
        build = next((b for b in r.json()["results"] if b["commit_sha"] == commit), None)
        return build if build is not None and build["status"] != "in-progress" else None
    build = until(finished, timeout, interval=0.2)
    assert build is not None, f"no finished build of {owner}/{name} at {commit} after {timeout} s"
    return build

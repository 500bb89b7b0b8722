"""Algorithms for tests: the settings they are created with, the sandbox's algorithm files;
creating, binding, compiling and publishing one through the spec-checking ``Api`` (support.api).
On a live server, support.deploy does the same as an author would."""
from __future__ import annotations

from mockserver.resources import resource_path

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

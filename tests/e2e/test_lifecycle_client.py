"""The algorithm lifecycle through the official Python client (algorithmia 2.0.5) against a live server."""
import re
import threading
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from support.algorithms import SETTINGS
from support.api import DEMO
from mockserver.app import create_app
from mockserver.settings import Settings

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INTERNAL_SCM = {"id": "internal", "name": "Internal", "provider": "internal", "default": True, "enabled": True}


@pytest.fixture(scope="module")
def live():
    app = create_app(Settings(profile_scale=0.0))
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(5)


@pytest.fixture()
def client(live):
    import Algorithmia
    app, url = live
    app.extensions["mockserver"].reset()
    return Algorithmia.client(DEMO, url)


def check_version(v, *, name, semver, git_hash, callability, notes=None):
    """A publish answer against seed 003's example: every field, typed."""
    assert set(v) >= {"id", "name", "details", "settings", "source", "version_info", "build", "compilation",
                      "self_link", "resource_type"}
    assert v["name"] == name and v["resource_type"] == "algorithm"
    assert v["details"] == {"label": "My First Algorithm"}
    assert v["settings"] == {**SETTINGS, "algorithm_callability": callability}
    assert v["source"] == {"scm": INTERNAL_SCM}
    assert v["version_info"]["git_hash"] == git_hash and v["version_info"]["semantic_version"] == semver
    if notes:
        assert v["version_info"]["release_notes"] == notes
    build = v["build"]
    assert build["commit_sha"] == git_hash and build["status"] == "succeeded"
    assert build["resource_type"] == "algorithm_build" and build["version_info"] == {"semantic_version": semver}
    assert ISO.match(build["started_at"]) and ISO.match(build["finished_at"])
    uuid.UUID(build["build_id"])
    assert v["compilation"]["successful"] is True and v["compilation"]["output"]
    assert v["self_link"].endswith(f"/v1/algorithms/demo/{name}/versions/{git_hash}")


def test_create_compile_publish_minor_patch_major(client):
    algo = client.algo("demo/my_first_algorithm")
    created = algo.create(details={"label": "My First Algorithm"}, settings=SETTINGS)
    assert created["name"] == "my_first_algorithm" and created["resource_type"] == "algorithm"
    assert created["settings"] == {**SETTINGS, "algorithm_callability": "private"}
    assert created["source"] == {"scm": INTERNAL_SCM} and "version_info" not in created
    assert algo.get_algorithm_id() == created["id"]
    assert algo.exists()
    assert algo.get_builds()["results"] == []

    expected = []
    for kind, semver, notes in (("minor", "0.1.0", "First"), ("patch", "0.1.1", "A few bug fixes"),
                                ("major", "1.0.0", "Breaking API")):
        compiled = algo.compile()
        git_hash = compiled["version_info"]["git_hash"]
        assert HEX40.match(git_hash) and compiled["compilation"]["successful"] is True
        assert compiled["build"]["status"] == "succeeded" and "version_info" not in compiled["build"]
        published = algo.publish(settings={"algorithm_callability": "public"},
                                 version_info={"version_type": kind, "release_notes": notes, "sample_input": "testing"})
        check_version(published, name="my_first_algorithm", semver=semver, git_hash=git_hash,
                      callability="public", notes=notes)
        assert published["version_info"]["sample_input"] == "testing"
        expected.insert(0, (git_hash, semver))

    listed = algo.versions()
    assert [(v["version_info"]["git_hash"], v["version_info"]["semantic_version"]) for v in listed["results"]] == expected
    assert listed["marker"] is None and listed["next_link"] is None
    assert [(v["version_info"]["git_hash"]) for v in algo.versions(limit=1)["results"]] == [expected[0][0]]
    one = algo.info(expected[-1][0])
    assert one["version_info"]["semantic_version"] == "0.1.0"

    builds = algo.get_builds()["results"]
    assert [b["commit_sha"] for b in builds] == [h for h, _ in expected]            # newest first
    build = algo.get_build(builds[-1]["build_id"])
    assert build["version_info"] == {"semantic_version": "0.1.0"}
    logs = algo.get_build_logs(build["build_id"])["logs"]
    assert "Beginning container customization" in logs and "python3-1" in logs
    assert algo.get_scm_status() == {"scm_connection_status": "active"}

    # the published versions answer invocations
    assert client.algo("demo/my_first_algorithm/0.1.1").pipe("Neo").result == "hello Neo"
    assert client.algo("demo/my_first_algorithm").pipe("Neo").result == "hello Neo"


def test_publish_errors_reach_the_client(client):
    # postJsonHelper raises a generic Exception naming the status for a non-2xx answer
    algo = client.algo("demo/RePublish")
    algo.create(details={"label": "My First Algorithm"}, settings=SETTINGS)
    algo.compile()
    algo.publish(settings={"algorithm_callability": "private"}, version_info={"version_type": "minor"})
    with pytest.raises(Exception, match="400"):             # 1007; the client retries once: same answer
        algo.publish(settings={"algorithm_callability": "private"}, version_info={"version_type": "minor"})
    algo.compile()
    with pytest.raises(Exception, match="400"):             # a patch may not switch callability
        algo.publish(settings={"algorithm_callability": "public"}, version_info={"version_type": "patch"})
    assert [v["version_info"]["semantic_version"] for v in algo.versions(published=True)["results"]] == ["0.1.0"]
    assert algo.publish(settings={"algorithm_callability": "public"},
                        version_info={"version_type": "minor"})["version_info"]["semantic_version"] == "0.2.0"


def test_update_delete_and_missing(client, live):
    _, url = live
    algo = client.algo("demo/Changing")
    algo.create(details={"label": "My First Algorithm"}, settings=SETTINGS)
    with pytest.raises(Exception, match="400"):                         # 2.0.5 form-encodes: refused
        algo.update(details={"label": "Changed"}, settings=SETTINGS)
    r = requests.put(f"{url}/v1/algorithms/demo/Changing", json={"details": {"label": "Changed"}, "settings": SETTINGS},
                     headers={"Authorization": DEMO})
    assert r.status_code == 200 and r.json()["details"]["label"] == "Changed"
    algo.compile()
    assert client.deleteHelper("/v1/algorithms/demo/Changing").status_code == 204
    assert not algo.exists()
    assert algo.create(details={"label": "Again"}, settings=SETTINGS)["details"] == {"label": "Again"}
    assert algo.get_builds()["results"] == []
    assert client.get_algorithm_errors(algo.get_algorithm_id()) == []
    assert client.get_user_errors("demo") == [] and client.get_organization_errors("acme") == []

"""The checkout cache belongs to each server (the default one, each sandbox): deleting an
algorithm removes its checkouts, deleting a sandbox removes the sandbox's (issue 26)."""
import json
import os

import pytest

from support.api import DEMO
from support.git import SETTINGS
from mockserver.app import create_app
from mockserver.settings import Settings

JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Simple {DEMO}", **JSON}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app(Settings(profile_scale=0.0, storage_dir=str(tmp_path_factory.mktemp("storage"))))
    yield app
    app.extensions["mockserver.sandboxes"].close_all()
    app.extensions["mockserver"].ctx.engine.shutdown()


def compile_new(client, base: str, name: str) -> str:
    r = client.post(f"{base}/v1/algorithms/demo", headers=AUTH,
                    data=json.dumps({"name": name, "details": {"label": name}, "settings": SETTINGS}))
    assert r.status_code == 200, r.data
    assert client.post(f"{base}/v1/algorithms/demo/{name}/compile", headers=AUTH).status_code == 200
    return r.get_json()["id"]


def test_deleting_an_algorithm_removes_its_checkouts(app):
    server, client = app.extensions["mockserver"], app.test_client()
    server.reset()
    scope = os.path.join(server.checkouts.root, server.ctx.scope)
    gone, kept = compile_new(client, "", "Gone"), compile_new(client, "", "Kept")
    assert sorted(os.listdir(scope)) == sorted([gone, kept])
    assert client.delete("/v1/algorithms/demo/Gone", headers=AUTH).status_code == 204
    assert os.listdir(scope) == [kept]
    server.reset()
    assert not os.path.exists(scope)


def test_deleting_a_sandbox_removes_its_checkouts(app):
    client = app.test_client()
    box = client.post("/_mock/sandboxes", headers=JSON, data="{}").get_json()
    sandbox = app.extensions["mockserver.sandboxes"].get(box["id"]).server
    compile_new(client, f"/sandboxes/{box['id']}", "Boxed")
    scope = os.path.join(sandbox.checkouts.root, sandbox.ctx.scope)
    assert len(os.listdir(scope)) == 1
    assert client.delete(f"/_mock/sandboxes/{box['id']}", headers=JSON).status_code == 200
    assert not os.path.exists(scope)

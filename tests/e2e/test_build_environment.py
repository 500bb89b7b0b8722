"""A build imports the code with the environment a call gets (issue 28 item 9).

The usual Algorithmia pattern loads a model through the official client at import time:
``Algorithmia.client().file("data://.my/...").getFile()``. The build's import check now gets
``ALGORITHMIA_API`` (the address the push or compile came to: a sandbox's own) and a key of
the algorithm's owner that lives as long as the build, so such code builds and runs. Pushed
with the stock git command, the client being algorithmia 2.0.5 inside the pushed code.
"""
from __future__ import annotations

import shutil

import pytest
import requests

from support.api import DEMO
from support.deploy import auth, build_logs, call, create, publish, push, wait_build

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

MODEL_LOADER = r'''
import os

import Algorithmia

client = Algorithmia.client()          # ALGORITHMIA_API and ALGORITHMIA_API_KEY (the owner's) from the environment
MODEL = client.file("data://.my/models/model.txt").getFile().read()
client.file(f"data://.my/models/key-{os.getpid()}.txt").put(os.environ["ALGORITHMIA_API_KEY"])

def apply(input):                     # the client made at import keeps working in every call
    again = client.file("data://.my/models/model.txt").getFile().read()
    return {"model": MODEL, "again": again, "api": os.environ["ALGORITHMIA_API"]}
'''


def _upload(url: str, path: str, text: str) -> None:
    r = requests.put(f"{url}/v1/data/{path}", data=text.encode(), headers=auth(DEMO), timeout=30)
    assert r.status_code in (200, 201), r.text


def _deploy_loader(url: str, workdir, model: str) -> tuple[dict, str]:
    requests.post(f"{url}/v1/data/.my", json={"name": "models"}, headers=auth(DEMO), timeout=30)
    _upload(url, "demo/models/model.txt", model)
    create(url, "demo", "Model", DEMO)
    commit = push(url, "demo", "Model", DEMO, {"src/Model.py": MODEL_LOADER}, workdir)
    build = wait_build(url, "demo", "Model", commit, DEMO)
    return build, build_logs(url, "demo", "Model", build["build_id"], DEMO)


def _stashed_keys(url: str) -> list[str]:
    r = requests.get(f"{url}/v1/data/demo/models", headers=auth(DEMO), timeout=30)
    assert r.status_code == 200, r.text
    names = [f["filename"] for f in r.json()["files"] if f["filename"].startswith("key-")]
    return [requests.get(f"{url}/v1/data/demo/models/{name}", headers=auth(DEMO), timeout=30).text
            for name in names]


def test_a_model_loaded_through_the_client_at_import_builds_and_runs(live_server, tmp_path):
    url = live_server.url
    build, logs = _deploy_loader(url, tmp_path, "weights v1")
    assert build["status"] == "succeeded", logs
    assert "entrypoint ok" in logs
    (build_key,) = _stashed_keys(url)                       # the owner's key the import check ran with
    assert requests.get(f"{url}/v1/data/.my", headers=auth(build_key), timeout=30).status_code == 401
    publish(url, "demo", "Model", DEMO)
    for _ in range(2):
        answer = call(url, "demo/Model", DEMO)
        assert answer.get("result") == {"model": "weights v1", "again": "weights v1", "api": url}, answer
    keys = _stashed_keys(url)
    assert len(keys) == 2                                   # the build's and the worker's import
    for key in keys:                                        # neither works between calls
        assert requests.get(f"{url}/v1/data/.my", headers=auth(key), timeout=30).status_code == 401


def test_in_a_sandbox_the_build_reads_the_sandboxs_own_data(live_server, tmp_path):
    url = live_server.url
    r = requests.post(f"{url}/_mock/sandboxes", json={"name": "builds"}, headers={"Content-Type": "application/json"},
                      timeout=30)
    assert r.status_code in (200, 201), r.text
    sandbox = r.json()["base_url"]
    try:
        build, logs = _deploy_loader(sandbox, tmp_path, "sandbox weights")
        assert build["status"] == "succeeded", logs
        publish(sandbox, "demo", "Model", DEMO)
        answer = call(sandbox, "demo/Model", DEMO)
        assert answer.get("result") == {"model": "sandbox weights", "again": "sandbox weights", "api": sandbox}, answer
        assert requests.get(f"{url}/v1/algorithms/demo/Model", headers=auth(DEMO), timeout=30).status_code == 404
    finally:
        requests.delete(f"{url}/_mock/sandboxes/{r.json()['id']}", headers={"Content-Type": "application/json"},
                        timeout=30)

"""Admission through the API: a call or a binding check past its pool is a prompt 429 with
Retry-After (an error object in the shape its operation answers), another sandbox still gets
its share, and an ``output=void`` call is refused the same way instead of being dropped."""
from __future__ import annotations

import json
import logging
import threading

import pytest

from mockserver.app import create_app
from mockserver.runtime.errors import QueueFull
from mockserver.settings import Settings
from support.api import ALICE, DEMO, error_of
from support.code import open_to_workers
from support.polling import until

JSON = {"Content-Type": "application/json"}


def auth(key=DEMO):
    return {"Authorization": f"Simple {key}", **JSON}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    allowed = open_to_workers(tmp_path_factory.mktemp("admission"))     # bound over HTTP
    (allowed / "hangs.py").write_text("import time\ntime.sleep(60)\n")
    (allowed / "hello.py").write_text("def apply(x):\n    return 'hello ' + str(x)\n")
    return allowed


@pytest.fixture()
def app(roots):
    app = create_app(Settings(profile_scale=0.0, algorithm_dirs=[str(roots)], invocations_max=2,
                              invocations_per_sandbox=1, binding_checks_max=2, binding_checks_per_sandbox=1))
    app.extensions["mockserver"].ctx.engine.check_timeout_s = 2.0
    yield app
    app.extensions["mockserver.sandboxes"].close_all()
    app.extensions["mockserver"].ctx.engine.shutdown()


def in_background(fn):
    box: list = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    return thread, box


def sandbox(client) -> str:
    created = client.post("/_mock/sandboxes", headers=JSON)
    assert created.status_code == 201, created.get_json()
    return f"/sandboxes/{created.get_json()['id']}"


def test_a_call_past_the_sandbox_share_is_a_429_with_retry_after_and_another_sandbox_still_calls(app):
    client, engine = app.test_client(), app.extensions["mockserver"].ctx.engine
    thread, first = in_background(lambda: app.test_client().post("/v1/algo/demo/SlowTask", data="1.5",
                                                                  headers=auth()))
    assert until(lambda: engine.stats()["admission"]["held"]["calls"] == 1, 10)
    refused = client.post("/v1/algo/demo/Hello", data='"Neo"', headers=auth(ALICE))      # another key
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    body = refused.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "error_type"}     # the invocation shape
    assert body["error"]["error_type"] == "SystemError"
    assert "this sandbox has 1 calls in flight (limit 1 per sandbox)" in body["error"]["message"]
    void = client.post("/v1/algo/demo/Hello", data='"Neo"', headers=auth(ALICE), query_string={"output": "void"})
    assert void.status_code == 429 and void.headers["Retry-After"] == "1"     # refused, not acknowledged and dropped
    other = sandbox(client)
    called = client.post(f"{other}/v1/algo/demo/Hello", data='"Neo"', headers=auth())
    assert called.status_code == 200 and called.get_json()["result"] == "Hello Neo"
    thread.join(10)
    assert first[0].status_code == 200 and first[0].get_json()["result"]["requested"] == 1.5
    assert client.post("/v1/algo/demo/Hello", data='"Neo"', headers=auth(ALICE)).get_json()["result"] == "Hello Neo"


def test_a_binding_check_past_the_sandbox_share_is_a_429_with_retry_after(app, roots):
    client, engine = app.test_client(), app.extensions["mockserver"].ctx.engine
    put = lambda c, prefix, target: c.put(f"{prefix}/_mock/algorithms/demo/Hello/binding", headers=JSON,
                                          data=json.dumps({"target": target}))
    thread, first = in_background(lambda: put(app.test_client(), "", f"{roots}/hangs.py:apply"))
    assert until(lambda: engine.stats()["admission"]["held"]["binding_checks"] == 1, 10)
    refused = put(client, "", f"{roots}/hello.py:apply")
    err = error_of(refused, 429, 6001)
    assert refused.headers["Retry-After"] == "1" and "too many binding checks at once" in err["message"]
    assert "this sandbox has 1 binding checks in flight" in err["message"]
    assert client.get("/_mock/algorithms/bindings").get_json() == {}          # nothing was bound
    other = sandbox(client)
    assert put(client, other, f"{roots}/hello.py:apply").status_code == 200     # another sandbox's share
    thread.join(10)
    assert "longer than 2 seconds" in error_of(first[0], 400)["message"]
    assert put(client, "", f"{roots}/hello.py:apply").status_code == 200


def test_a_void_call_that_cannot_run_after_admission_is_logged_and_recorded(app, monkeypatch, caplog):
    """Admitted, then refused when it ran (its algorithm's pool was replaced and the new queue
    was full): nobody waits for the answer, so the failure is logged and listed with the
    algorithm's errors instead of being dropped."""
    client, engine = app.test_client(), app.extensions["mockserver"].ctx.engine

    def full(admitted, cancelled=None):
        engine.abandon(admitted)
        raise QueueFull("Too many requests for algorithm demo/Hello: 4 calls already queued (limit 4)")
    monkeypatch.setattr(engine, "run", full)
    with caplog.at_level(logging.WARNING, "mockserver"):
        ack = client.post("/v1/algo/demo/Hello", data='"Neo"', headers=auth(), query_string={"output": "void"})
        assert ack.status_code == 200
        request_id = ack.get_json()["request_id"]
        errors = lambda: client.get("/v1/algorithms/demo/Hello/errors", headers=auth()).get_json()
        assert until(lambda: any(e.get("request_id") == request_id for e in errors()), 10)
    recorded = next(e for e in errors() if e.get("request_id") == request_id)
    assert "did not run" in recorded["message"] and "calls already queued" in recorded["message"]
    assert f"output=void call {request_id}" in caplog.text
    assert engine.stats()["admission"]["held"]["calls"] == 0

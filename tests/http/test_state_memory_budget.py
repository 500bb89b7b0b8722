"""Past --state-memory-mb, writes under /v1 get 507 and store nothing; reads, invocations,
deletes and a reset (how a tenant makes room) still work. A budget of 1 MB: every process is
past it."""
from __future__ import annotations

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from support.algorithms import SETTINGS, create
from support.api import DEMO, Api, error_of

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture()
def full():
    app = create_app(Settings(profile_scale=0.0, state_memory_mb=1))
    yield app
    app.extensions["mockserver"].ctx.engine.shutdown()


def _refused(response):
    err = error_of(response, 507)
    assert "MOCKSERVER_STATE_MEMORY_MB" in err["message"] and "reset your sandbox" in err["message"]


def test_writes_are_refused_and_store_nothing(full):
    api = Api(full.test_client(), DEMO)
    before = api.get("/v1/algorithms/demo/Hello").get_json()
    _refused(create(api, "Blocked"))
    assert api.get("/v1/algorithms/demo/Blocked").status_code == 404
    _refused(api.put("/v1/algorithms/demo/Hello", {"details": {"label": "changed"}, "settings": SETTINGS}))
    _refused(api.post("/v1/algorithms/demo/Hello/compile"))
    _refused(api.post("/v1/users/demo/keys", {"key_label": "more"}))
    _refused(api.put("/v1/data/.my/Blocked/file.txt", raw=b"bytes"))
    assert api.get("/v1/algorithms/demo/Hello").get_json() == before
    error_of(api.get("/v1/data/.my/Blocked/file.txt"), 404)


def test_who_may_not_write_or_writes_nonsense_hears_that_first(full):
    api = Api(full.test_client(), DEMO)
    error_of(api.as_(None).post("/v1/algorithms/demo", {"name": "X"}), 401)
    error_of(api.post("/v1/algorithms/demo", {"name": 5}), 400)


def test_reads_calls_deletes_and_reset_still_work(full):
    api = Api(full.test_client(), DEMO)
    assert api.get("/v1/algorithms/demo/Hello/versions").status_code == 200
    called = api.post("/v1/algo/demo/Hello", "Mia")
    assert called.status_code == 200 and called.get_json()["result"] == "Hello Mia"
    assert api.delete("/v1/algorithms/demo/Hello").status_code == 204
    assert api.get("/v1/algorithms/demo/Hello").status_code == 404
    assert full.test_client().post("/_mock/reset", headers={"Content-Type": "application/json"}).status_code == 200
    assert api.get("/v1/algorithms/demo/Hello").status_code == 200


def test_without_a_budget_writes_are_stored():
    app = create_app(Settings(profile_scale=0.0, state_memory_mb=0))
    try:
        api = Api(app.test_client(), DEMO)
        assert create(api, "Stored").status_code == 200
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()

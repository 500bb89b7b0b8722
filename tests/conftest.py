"""Fixtures only: an app on the default sandbox, a Flask test client with the demo key, a live
server, the mockserver command per module, the generated client. Shared helpers (keys, Api,
error_of, processes, polling, algorithms) are in support/."""
from __future__ import annotations

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from support.api import ADMIN, DEMO, Api
from support.clients import GENERATED_CLIENT_VERSIONS, install_generated_client
from support.processes import served


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    # Tests bind algorithms they write under tmp_path: allow that folder (and only that one).
    return create_app(Settings(profile_scale=0.0, seed=1234,
                               algorithm_dirs=[str(tmp_path_factory.getbasetemp())]))


@pytest.fixture()
def server(app):
    mock = app.extensions["mockserver"]
    mock.reset()
    return mock


@pytest.fixture()
def api(app, server):
    return Api(app.test_client(), DEMO)


@pytest.fixture()
def admin(api):
    return api.as_(ADMIN)


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """One live server (own app) for end-to-end tests with real clients; reset per test via `live_server`."""
    from mockserver.serving.live import LiveServer
    server = LiveServer(Settings(profile_scale=0.0, page_default=5,
                                 algorithm_dirs=[str(tmp_path_factory.getbasetemp())])).start()
    yield server
    server.stop()


@pytest.fixture()
def live_server(live):
    live.mock.reset()
    return live


@pytest.fixture(scope="module")
def served_server(request):
    """The mockserver command in a subprocess, one per module, healthy: (url, port, process). The
    module's SERVED_ENV (a dict, optional) sets the server's MOCKSERVER_* variables."""
    with served(**getattr(request.module, "SERVED_ENV", {})) as server:
        yield server


@pytest.fixture(scope="session", params=GENERATED_CLIENT_VERSIONS)
def generated_client(request) -> tuple[str, str]:
    """(version, sys.path entry) of algorithmia-api-client, once per version (see support/clients.py)."""
    return request.param, install_generated_client(request.param)

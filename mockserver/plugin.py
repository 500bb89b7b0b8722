"""pytest plugin (entry point ``pytest11``): a live algorithmia-mock for your tests.

Installed with the package; nothing to configure::

    def test_hello(mockserver):
        client = mockserver.client()                 # official Algorithmia client
        assert client.username() == "demo"

One server per test session (the waitress server in a background thread, on a
free port), reset to the loaded fixtures before each test that uses
``mockserver`` (well under a millisecond with the default fixtures). The server's
control API needs the session's control key (``mockserver.control_key``, random
unless ``--mockserver-control-key`` sets it); the fixture's methods call the
server in-process and need no key.

Options: every setting of the ``mockserver`` command (docs/settings.md) as ``--mockserver-NAME``
(``--mockserver-fixtures PATH``, repeatable, replaces the bundled sandbox; ``--mockserver-extra-fixtures
PATH`` adds to it; ``--mockserver-seed N``, ``--mockserver-clock real|frozen|step``, ...), each
falling back to its ``MOCKSERVER_*`` variable, but for host and port: the session's server listens
on loopback, on a free port. The plugin's own defaults: ``--mockserver-profile-scale`` 0 (no
simulated delays) and a random control key. All of it is declared once, in
:mod:`mockserver.settings` (``plugin_arguments``, ``load_plugin``). Fixtures: ``mockserver`` (per
test), ``mockserver_session`` (the session's :class:`~mockserver.serving.live.LiveServer`, not reset).

Remote mode: with ``--mockserver-url URL`` (env ``MOCKSERVER_URL``) no server is started;
each session (each pytest-xdist worker) gets its own sandbox on that server instead
(:mod:`mockserver.serving.remote`), and ``mockserver_session`` is a
:class:`~mockserver.serving.remote.RemoteSandbox`.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import pytest

from mockserver.settings import PluginRun, load_plugin, plugin_arguments, plugin_dest, plugin_options


def pytest_addoption(parser):
    group = parser.getgroup("mockserver", "algorithmia-mock server")
    for flag, arguments in plugin_arguments():
        group.addoption(flag, **arguments)


class MockHandle:
    """What the ``mockserver`` fixture yields."""

    remote = False          # True for the remote mode's handle (mockserver.serving.remote.RemoteHandle)

    def __init__(self, live, journal_start: int):
        self._live = live
        self._journal_start = journal_start
        self.url: str = live.url
        self.admin_key, self.api_key = _keys(live.mock)
        self.control_key: str | None = live.mock.control_key

    @property
    def control_headers(self) -> dict[str, str]:
        """Headers for calling ``{url}/_mock/...`` over HTTP (control key and JSON content type)."""
        headers = {"Content-Type": "application/json"}
        if self.control_key:
            headers["X-Mock-Control-Key"] = self.control_key
        return headers

    @property
    def server(self):
        """The MockServer (state, settings, journal) for white-box checks."""
        return self._live.mock

    def client(self, api_key: str | None = None):
        """An official ``Algorithmia`` client pointed at the mock (demo user's key by default)."""
        import Algorithmia
        api_key = api_key or self.api_key
        if api_key is None:
            fixtures = self.server.settings.fixtures
            raise RuntimeError(
                "mockserver.client(): no user with a full-access key is loaded: the fixtures "
                f"{fixtures} replace the bundled sandbox (and its 'demo' user); add keys to them, pass "
                "api_key=, or use --mockserver-extra-fixtures to add fixtures on top of the sandbox")
        return Algorithmia.client(api_key, self.url)

    def bind(self, algorithm: str, target: "Callable | str", version: str | None = None) -> str:
        """Bind a Python callable, ``"pkg.mod:fn"`` or ``"path/file.py:fn"`` to ``"owner/name"``
        (all versions, or one ``version``). A callable is registered in this process
        (``Binding.from_callable``): module-level functions still run in worker processes,
        lambdas and closures in-process. Returns the binding key; undone by the next reset."""
        from mockserver.control.api import bind
        from mockserver.runtime import Binding
        if not isinstance(target, str):
            target = Binding.from_callable(target).target
        return bind(self.server, algorithm, target, version)

    def load_fixtures(self, path: str | os.PathLike) -> None:
        """Apply a fixture file on top of the state for this test (the next reset undoes it)."""
        from mockserver.control.api import load_fixtures
        load_fixtures(self.server, path)
        self.admin_key, self.api_key = _keys(self.server)

    def journal(self) -> list[dict[str, Any]]:
        """The requests recorded since this test started (oldest first)."""
        return self.server.journal.entries(self._journal_start)

    def fault(self, path: str, *, method: str = "*", status: int | None = None, code: int | None = None,
              message: str | None = None, delay_ms: int = 0, drop: bool = False, times: int | None = None,
              probability: float | None = None, seed: int | None = None) -> dict[str, Any]:
        """Inject a fault (as ``POST /_mock/faults``); returns its description. Cleared at reset."""
        body = {"method": method, "path": path, "status": status, "code": code, "message": message,
                "delay_ms": delay_ms, "drop": drop, "times": times, "probability": probability, "seed": seed}
        return self.server.add_fault({k: v for k, v in body.items() if v is not None}).describe()

    def faults(self) -> list[dict[str, Any]]:
        return self.server.faults.list()

    def clear_faults(self) -> None:
        self.server.faults.clear()

    def reset(self) -> None:
        self.server.reset()
        self._journal_start = self.server.journal.last_seq()
        self.admin_key, self.api_key = _keys(self.server)

    def __repr__(self) -> str:
        return f"<mockserver {self.url}>"


def _keys(server) -> tuple[str | None, str | None]:
    """(an admin key, a full-access key of a ready user: 'demo' if present)."""
    with server.ctx.store.read() as state:
        records = [vars(k) for k in state.keys.values()]
    return _pick_keys(server.settings.admin_key, records)


def _pick_keys(admin: str | None, records: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The same choice over key records (dicts with ApiKey's fields, as the state export has them)."""
    user_key = None
    candidates = [k for k in records if not k.get("algorithm")]
    for key in candidates:
        if admin is None and key.get("key_type") == "PlatformAdminKey":
            admin = key["api_key"]
    users = [k for k in candidates if k.get("owner") and k.get("key_type") != "PlatformAdminKey"
             and all((k.get("permissions") or {}).get(p, False) for p in ("allow_algo", "allow_data", "allow_data_write"))]
    users.sort(key=lambda k: (k["owner"] != "demo", k.get("seq", 0)))
    if users:
        user_key = users[0]["api_key"]
    return admin, user_key


def plugin_run(config, env: "dict[str, str] | None" = None) -> PluginRun:
    """The session's run, built once: the --mockserver-* options, then the MOCKSERVER_* variables
    (``env``, default the process's), then the plugin's defaults (mockserver.settings)."""
    return load_plugin({plugin_dest(o): config.getoption(plugin_dest(o)) for o in plugin_options()}, env)


def _xdist_worker() -> str:
    # pytest-xdist's documented name of this worker process ("gw0", ...); unset without xdist
    return os.environ.get("PYTEST_XDIST_WORKER", "session")


@pytest.fixture(scope="session")
def mockserver_session(request):
    """The session's live mock server (one per test session, started on first use)."""
    from mockserver.serving.live import LiveServer
    run = plugin_run(request.config)
    settings = run.settings
    if run.url:
        from mockserver.serving.remote import RemoteSandbox
        sandbox = RemoteSandbox(run.url, settings.control_key, fixtures=settings.fixtures, seed=settings.seed,
                                clock=settings.clock, profile_scale=settings.profile_scale,
                                name="pytest " + _xdist_worker())
        yield sandbox
        sandbox.stop()
        return
    live = LiveServer(settings).start()
    yield live
    live.stop()


@pytest.fixture()
def mockserver(mockserver_session) -> MockHandle:
    """A live mock, reset to its fixtures: ``url``, ``admin_key``, ``api_key``, ``client()``,
    ``bind()``, ``load_fixtures()``, ``journal()``, ``fault()``."""
    if not hasattr(mockserver_session, "mock"):          # remote mode: the session's sandbox
        from mockserver.serving.remote import RemoteHandle
        handle = RemoteHandle(mockserver_session, _pick_keys)
        handle.reset()
        return handle
    mock = mockserver_session.mock
    mock.reset()
    return MockHandle(mockserver_session, mock.journal.last_seq())

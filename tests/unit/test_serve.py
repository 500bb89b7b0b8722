"""The one serving path's own rules (mockserver/serving/serve.py)."""
import sys

import pytest

from mockserver.serving import serve
from mockserver.settings import Settings


def test_more_than_one_process_is_refused():
    with pytest.raises(ValueError, match="ONE process"):
        serve.one_process(Settings(), workers=2)
    with pytest.raises(ValueError, match="ONE process"):
        serve.BackgroundServer(lambda environ, start_response: [], settings=Settings(workers=2))


def test_the_server_options_come_from_the_runs_settings():
    env = {"MOCKSERVER_THREADS": "5", "MOCKSERVER_IDLE_TIMEOUT": "7", "MOCKSERVER_CONNECTION_LIMIT": "50"}
    opts = serve.options(Settings.load({}, env))
    assert (opts["threads"], opts["channel_timeout"], opts["connection_limit"]) == (5, 7, 50)
    assert opts["channel_request_lookahead"] >= 1          # waitress.client_disconnected works


def test_a_threads_argument_wins_over_the_settings():
    assert serve.options(Settings(threads=5), threads=3)["threads"] == 3


def test_the_server_never_reads_the_environment_itself(monkeypatch):
    """No hidden Settings.load(): the settings are the caller's, required."""
    monkeypatch.setenv("MOCKSERVER_THREADS", "5")
    assert serve.options(Settings())["threads"] == Settings().threads
    with pytest.raises(TypeError):
        serve.options()
    with pytest.raises(TypeError):
        serve.BackgroundServer(lambda environ, start_response: [])


def test_waitress_bounds_bodies_above_every_route_so_the_routes_answer_their_own_413():
    opts = serve.options(Settings(max_request_bytes=1000, max_upload_bytes=3000))
    assert opts["max_request_body_size"] == 6000


def test_only_documented_waitress_arguments():
    """The arguments of waitress.serve() its "Arguments" page documents (waitress 3.0)."""
    documented = {"host", "port", "listen", "server_name", "ipv4", "ipv6", "unix_socket", "unix_socket_perms",
                  "sockets", "threads", "trusted_proxy", "trusted_proxy_count", "trusted_proxy_headers",
                  "log_untrusted_proxy_headers", "clear_untrusted_proxy_headers", "url_scheme", "ident", "backlog",
                  "recv_bytes", "send_bytes", "outbuf_overflow", "outbuf_high_watermark", "inbuf_overflow",
                  "connection_limit", "cleanup_interval", "channel_timeout", "log_socket_errors",
                  "max_request_header_size", "max_request_body_size", "expose_tracebacks", "asyncore_loop_timeout",
                  "asyncore_use_poll", "url_prefix", "channel_request_lookahead"}
    assert set(serve.options(Settings())) <= documented


def test_serving_a_mock_app_uses_the_settings_it_was_built_with(monkeypatch, tmp_path):
    """``python -m mockserver.serving.serve mockserver.serving.wsgi:app``: one Settings per run, the
    app's; only an app that carries none (any other WSGI app) gets them built from the environment."""
    (tmp_path / "built_apps.py").write_text(
        "from flask import Flask\n"
        "from mockserver.app import create_app\n"
        "from mockserver.settings import Settings\n"
        "mock = create_app(Settings(threads=3, profile_scale=0.0, log_level='warning'))\n"
        "bare = Flask('bare')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MOCKSERVER_THREADS", "9")
    served = []
    monkeypatch.setattr(serve, "serve", lambda app, *, settings: served.append((app, settings)))
    monkeypatch.setattr(serve, "configure_logging", lambda level: None)
    assert serve.main(["built_apps:mock"]) == 0 and serve.main(["built_apps:bare"]) == 0
    built_apps = sys.modules.pop("built_apps")
    (mock_app, mock_settings), (bare_app, bare_settings) = served
    assert mock_app is built_apps.mock and mock_settings is built_apps.mock.extensions["mockserver"].settings
    assert mock_settings.threads == 3
    assert bare_app is built_apps.bare and bare_settings.threads == 9
    built_apps.mock.extensions["mockserver"].ctx.engine.shutdown()

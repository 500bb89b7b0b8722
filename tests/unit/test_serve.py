"""The one serving path's own rules (mockserver/serving/serve.py)."""
import pytest

from mockserver.serving import serve
from mockserver.settings import Settings


def test_more_than_one_process_is_refused():
    with pytest.raises(ValueError, match="ONE process"):
        serve.one_process(Settings(), workers=2)
    with pytest.raises(ValueError, match="ONE process"):
        serve.BackgroundServer(lambda environ, start_response: [], settings=Settings(workers=2))


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_THREADS", "5")
    monkeypatch.setenv("MOCKSERVER_IDLE_TIMEOUT", "7")
    monkeypatch.setenv("MOCKSERVER_CONNECTION_LIMIT", "50")
    opts = serve.options()
    assert (opts["threads"], opts["channel_timeout"], opts["connection_limit"]) == (5, 7, 50)
    assert opts["channel_request_lookahead"] >= 1          # waitress.client_disconnected works


def test_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_THREADS", "5")
    assert serve.options(threads=3)["threads"] == 3


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

"""The one serving path's own rules (mockserver/serving/serve.py)."""
import pytest

from mockserver.serving import serve


def test_more_than_one_process_is_refused():
    with pytest.raises(ValueError, match="ONE process"):
        serve.create(lambda environ, start_response: [], workers=2, port=0)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_THREADS", "5")
    monkeypatch.setenv("MOCKSERVER_IDLE_TIMEOUT", "7")
    monkeypatch.setenv("MOCKSERVER_CONNECTION_LIMIT", "50")
    opts = serve.options(port=0)
    assert (opts["threads"], opts["channel_timeout"], opts["connection_limit"]) == (5, 7, 50)
    assert opts["max_request_body_size"] == 10 * 1024 * 1024
    assert opts["channel_request_lookahead"] >= 1          # waitress.client_disconnected works


def test_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("MOCKSERVER_THREADS", "5")
    assert serve.options(port=0, threads=3)["threads"] == 3

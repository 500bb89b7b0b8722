"""The worker's per-process memos of gunicorn's settings (mockserver/gunicorn_worker.py):
each must answer exactly what gunicorn itself would."""
import pytest
from gunicorn.config import Config
from gunicorn.http.message import Request

from mockserver.gunicorn_worker import PeerTrustRequest, SettingsSnapshot


class CountingConfig:
    def __init__(self):
        self.reads = 0

    def __getattr__(self, name):
        if name != "keepalive":
            raise AttributeError(name)
        self.__dict__["reads"] += 1
        return 5


def test_a_setting_is_read_from_the_config_once():
    cfg = CountingConfig()
    snap = SettingsSnapshot(cfg)
    assert [snap.keepalive for _ in range(3)] == [5, 5, 5]
    assert cfg.reads == 1


def test_an_unknown_setting_raises_as_gunicorn_config_does():
    snap = SettingsSnapshot(Config())
    with pytest.raises(AttributeError):
        snap.no_such_setting
    assert getattr(snap, "no_such_setting", "default") == "default"
    assert snap.keepalive == Config().keepalive


def _request(cfg, peer):
    req = PeerTrustRequest.__new__(PeerTrustRequest)    # the trust check alone, no parsing
    req.cfg, req.peer_addr = cfg, peer
    return req


@pytest.mark.parametrize("peer, trusted", [(("10.1.2.3", 5000), True), (("192.168.0.9", 5000), False)])
def test_peer_trust_is_gunicorns_answer_remembered(monkeypatch, peer, trusted):
    cfg = Config()
    cfg.set("forwarded_allow_ips", "10.0.0.0/8")
    snap = SettingsSnapshot(cfg)
    calls = []
    stock = Request._peer_is_trusted_proxy
    monkeypatch.setattr(Request, "_peer_is_trusted_proxy", lambda self: calls.append(1) or stock(self))
    assert [_request(snap, peer)._peer_is_trusted_proxy() for _ in range(3)] == [trusted] * 3
    assert len(calls) == 1 and snap.peer_trust == {peer[0]: trusted}


def test_peer_trust_is_not_remembered_without_a_snapshot_or_for_a_unix_socket(monkeypatch):
    cfg = Config()
    calls = []
    monkeypatch.setattr(Request, "_peer_is_trusted_proxy", lambda self: calls.append(1) or True)
    _request(cfg, ("127.0.0.1", 1))._peer_is_trusted_proxy()
    _request(SettingsSnapshot(cfg), "/tmp/mock.sock")._peer_is_trusted_proxy()
    assert len(calls) == 2


def test_the_memo_is_bounded(monkeypatch):
    snap = SettingsSnapshot(Config())
    monkeypatch.setattr(PeerTrustRequest, "MAX_PEERS", 3)
    for i in range(7):
        _request(snap, (f"10.0.0.{i}", 1))._peer_is_trusted_proxy()
    assert len(snap.peer_trust) <= 3

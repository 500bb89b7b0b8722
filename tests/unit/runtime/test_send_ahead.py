"""A queued call's message is sent to the worker by the call that hands it over (made under the
pools' lock by ProcessWorker.message_ahead, sent after it by send_ahead): every queued call still
gets its own answer, and a message too big to make under the lock, or one that does not pickle,
is left to the queued call itself."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mockserver.runtime import Binding, Engine, Invocation, Profile
from mockserver.runtime import worker as worker_module
from support.polling import until

ALGOS = str(Path(__file__).parent / "algos")
ONE_SLOT = Profile("one-slot-process", mode="process", warm_slots=1, queue_limit=64)


@pytest.fixture()
def engine():
    made = Engine(scale=0.0)
    yield made
    made.shutdown()


@pytest.fixture()
def sends(monkeypatch):
    """For each message made to be sent ahead, whether one was (None: too big, or unpicklable),
    and how many were sent (the real methods run)."""
    seen = {"made": [], "sent": 0}
    made, send = worker_module.ProcessWorker.message_ahead, worker_module.ProcessWorker.send_ahead

    def making(self, *args):
        message = made(self, *args)
        seen["made"].append(message is not None)
        return message

    def sending(self, message):
        seen["sent"] += 1
        return send(self, message)
    monkeypatch.setattr(worker_module.ProcessWorker, "message_ahead", making)
    monkeypatch.setattr(worker_module.ProcessWorker, "send_ahead", sending)
    return seen


def call(engine, body: bytes, results: dict, i: int) -> None:
    inv = Invocation(key="echo", binding=Binding("gated_echo.py", ALGOS), profile=ONE_SLOT, body=body,
                     content_type="application/json", env={"CALL": i})
    results[i] = engine.invoke(inv)


def run_queued(engine, bodies: list[bytes], folder: Path) -> dict:
    """The calls of ``bodies`` queued behind one that holds the pool's one worker, then let go."""
    results: dict = {}
    holder = threading.Thread(target=call, args=(engine, json.dumps({"hold": str(folder)}).encode(), results, -1))
    holder.start()
    assert until(lambda: (folder / "started").exists(), timeout=30)
    threads = [threading.Thread(target=call, args=(engine, body, results, i)) for i, body in enumerate(bodies)]
    for t in threads:
        t.start()
    assert until(lambda: engine.stats()["queued"] == len(bodies), timeout=30)
    (folder / "go").touch()
    for t in [holder, *threads]:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_queued_calls_sent_ahead_each_get_their_own_answer(engine, sends, tmp_path):
    bodies = [json.dumps({"n": i}).encode() for i in range(12)]
    results = run_queued(engine, bodies, tmp_path)
    for i in range(12):
        assert results[i].error is None, results[i].error
        assert results[i].result == {"n": i}
    assert sends == {"made": [True] * 12, "sent": 12}, "each queued call was handed over with its message sent"


def test_a_message_over_the_bound_is_sent_by_its_own_call(engine, sends, tmp_path):
    text = "x" * (worker_module.SEND_AHEAD_MAX + 10)
    results = run_queued(engine, [json.dumps(text).encode()] * 3, tmp_path)
    for i in range(3):
        assert results[i].error is None and results[i].result == text
    assert sends == {"made": [], "sent": 0}, "a body over the bound is never pickled under the pools' lock"

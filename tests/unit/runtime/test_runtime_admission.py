"""Admission: the per-sandbox share and the server-wide bound of calls and binding checks.

Engines sharing one Admission stand for the sandboxes of one server. Past a bound the answer
is an immediate refusal, never a wait; what was admitted runs to its normal end.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from mockserver.runtime import Binding, ChecksBusy, Engine, Invocation, Profile, ServerBusy
from mockserver.runtime.admission import Admission, Quota
from support.polling import until

HERE = Path(__file__).parent
ALGOS = str(HERE / "algos")
FIXTURES = str(HERE.parents[2] / "fixtures" / "algorithms")
TWO_SLOTS = Profile("two-slots", warm_slots=2, queue_limit=4)
ONE_SLOT = Profile("one-slot", warm_slots=1, queue_limit=4)


def slow(seconds: float, key: str = "slow", profile: Profile = TWO_SLOTS, caller: str | None = None) -> Invocation:
    return Invocation(key=key, binding=Binding("slow.py", FIXTURES), profile=profile, body=str(seconds).encode(),
                      content_type="application/json", caller=caller)


def quick(key: str = "quick", caller: str | None = None) -> Invocation:
    return Invocation(key=key, binding=Binding("greeter.py", FIXTURES), profile=TWO_SLOTS, body=b'"Neo"',
                      content_type="application/json", caller=caller)


class Background:
    """Calls running on threads; ``results`` in completion order."""

    def __init__(self):
        self.threads, self.results = [], []

    def start(self, fn, *args):
        t = threading.Thread(target=lambda: self.results.append(fn(*args)), daemon=True)
        t.start()
        self.threads.append(t)

    def join(self, timeout: float = 30):
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads)
        return self.results


@pytest.fixture()
def engines():
    made = []

    def make(tenant, **kw):
        engine = Engine(scale=0.0, admission=tenant, **kw)
        made.append(engine)
        return engine
    yield make
    for engine in made:
        engine.shutdown()


def busy(engine) -> int:
    return sum(p["busy"] + p["queued"] for p in engine.stats()["pools"].values())


# ------------------------------------------------------------------ the quota itself

def test_a_quota_bounds_the_server_and_each_tenant():
    quota, one, two, three = Quota("calls", 3, 2), object(), object(), object()
    assert quota.take(one) is None and quota.take(one) is None
    assert "this sandbox has 2 calls in flight (limit 2 per sandbox)" in quota.take(one)
    assert quota.take(two) is None
    assert "the server has 3 calls in flight (limit 3, all sandboxes)" in quota.take(three)
    quota.give(one)
    assert quota.take(three) is None
    assert quota.stats() == {"limit": 3, "per_sandbox": 2, "in_flight": 3, "sandboxes": 3, "refused": 2}


def test_giving_back_a_slot_never_taken_is_logged_and_changes_nothing(caplog):
    quota, one = Quota("calls", 2, 2), object()
    assert quota.take(one) is None
    with caplog.at_level(logging.ERROR, "mockserver.runtime"):
        quota.give(object())
    assert "given back by a tenant holding none" in caplog.text
    assert quota.in_use == 1


def test_the_pools_leave_threads_to_every_other_request(caplog):
    with caplog.at_level(logging.INFO, "mockserver.runtime"):
        fits = Admission.for_threads(32, 16, 12, 4, 2)
    assert (fits.calls.size, fits.calls.share, fits.checks.size, fits.checks.share) == (16, 12, 4, 2)
    assert not caplog.records
    with caplog.at_level(logging.INFO, "mockserver.runtime"):
        shrunk = Admission.for_threads(16, 16, 12, 4, 2)       # 16 - max(4, 16 // 4) = 12 threads for both
    assert (shrunk.calls.size, shrunk.calls.share, shrunk.checks.size, shrunk.checks.share) == (10, 10, 2, 2)
    assert "at most 10 calls and 2 binding checks" in caplog.text
    tiny = Admission.for_threads(2, 16, 12, 4, 2)
    assert tiny.calls.size >= 1 and tiny.checks.size >= 1
    # builds draw from the same threads: the defaults fit 32 exactly (16 + 4 + 4 = 32 - 8)
    with caplog.at_level(logging.INFO, "mockserver.runtime"):
        caplog.clear()
        fits = Admission.for_threads(32, 16, 12, 4, 2, 4, 2)
    assert (fits.builds.size, fits.builds.share) == (4, 2) and not caplog.records
    with caplog.at_level(logging.INFO, "mockserver.runtime"):
        shrunk = Admission.for_threads(16, 16, 12, 4, 2, 4, 2)
    assert (shrunk.calls.size, shrunk.checks.size, shrunk.builds.size, shrunk.builds.share) == (8, 2, 2, 2)
    assert "at most 8 calls, 2 binding checks and 2 builds" in caplog.text


# ------------------------------------------------------------------ calls

def test_a_sandbox_past_its_share_is_refused_at_once_while_another_sandbox_runs(engines):
    admission = Admission(calls=3, calls_per_tenant=2)
    one, two, three = (engines(admission.tenant(name)) for name in ("one", "two", "three"))
    running = Background()
    for _ in range(2):
        running.start(one.invoke, slow(1.5))
    assert until(lambda: busy(one) == 2, 10)
    with pytest.raises(ServerBusy) as refused:
        one.invoke(quick())                         # its share is taken: refused, not queued
    assert "this sandbox has 2 calls in flight" in refused.value.message and refused.value.retry_after >= 1
    assert two.invoke(quick()).result == "Hello Neo"         # another sandbox runs normally
    running.start(two.invoke, slow(1.5, key="two"))
    assert until(lambda: busy(two) == 1, 10)
    with pytest.raises(ServerBusy) as full:
        three.invoke(quick())                       # the server's bound: 3 in flight
    assert "the server has 3 calls in flight" in full.value.message
    assert all(out.error is None for out in running.join())
    assert three.invoke(quick()).result == "Hello Neo"       # every slot was given back
    assert admission.calls.in_use == 0


def test_calls_waiting_for_a_warm_slot_count_against_the_pool(engines):
    admission = Admission(calls=2, calls_per_tenant=2)
    engine = engines(admission.tenant())
    waiting = Background()
    waiting.start(engine.invoke, slow(1.0, key="one-slot", profile=ONE_SLOT))
    assert until(lambda: busy(engine) == 1, 10)
    waiting.start(engine.invoke, slow(0.1, key="one-slot", profile=ONE_SLOT))
    assert until(lambda: engine.stats()["pools"]["one-slot"]["queued"] == 1, 10)
    with pytest.raises(ServerBusy):
        engine.invoke(quick())                      # one runs, one waits: both hold a slot
    assert all(out.error is None for out in waiting.join())
    assert engine.stats()["admission"]["held"] == {"calls": 0, "binding_checks": 0, "builds": 0}


def test_an_admitted_call_that_is_abandoned_gives_everything_back(engines):
    admission = Admission(calls=2, calls_per_tenant=2)
    engine = engines(admission.tenant(), invocations_per_key=1)
    first = engine.admit(slow(0.5, key="one-slot", profile=ONE_SLOT, caller="k1"))
    queued = engine.admit(slow(0.5, key="one-slot", profile=ONE_SLOT, caller="k2"))
    assert queued.waiter is not None and admission.calls.in_use == 2
    engine.abandon(queued)
    engine.abandon(first)
    assert admission.calls.in_use == 0 and engine.stats()["pools"]["one-slot"]["busy"] == 0
    assert engine.invoke(quick(caller="k1")).result == "Hello Neo"   # the key's count was given back too


# ------------------------------------------------------------------ binding checks

def test_binding_checks_past_the_share_are_refused_at_once_and_run_side_by_side(engines):
    admission = Admission(checks=3, checks_per_tenant=2)
    one, two = engines(admission.tenant("one"), check_timeout_s=2.0), engines(admission.tenant("two"))
    hanging = Background()
    for _ in range(2):
        hanging.start(one.check_binding, Binding("hangs_on_import.py", ALGOS))
    assert until(lambda: one.stats()["checkers"] == 2, 10)     # two checker processes, one per check
    with pytest.raises(ChecksBusy) as refused:
        one.check_binding(Binding("noop.py", ALGOS))
    assert "this sandbox has 2 binding checks in flight" in refused.value.message
    assert two.check_binding(Binding("noop.py", ALGOS)) is None    # another sandbox still checks
    assert hanging.join() == ["importing it took longer than 2 seconds"] * 2
    assert admission.checks.in_use == 0
    assert one.check_binding(Binding("noop.py", ALGOS)) is None

"""The server's cap on live worker and checker processes (runtime/capacity.py): idle processes of
any holder (a sandbox's engine, a checker) are stopped least recently used first to make room,
and a start is refused at once only when nothing is idle. Fake workers and holders: no process."""
from __future__ import annotations

import pytest

from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.errors import ProcessesBusy, ServerBusy


class FakeWorker:
    def __init__(self, budget: ProcessBudget, name: str):
        self.budget = budget
        self.name = name
        self.stopped = False

    def stop(self) -> None:           # what stop_workers calls: the process is reaped, it no longer counts
        self.stopped = True
        self.budget.release(self)


class Holder:
    """Idle workers with their last-used times, as an engine's pools keep them."""

    def __init__(self):
        self.idle: dict[FakeWorker, float] = {}

    def oldest_idle(self):
        return min(self.idle.values(), default=None)

    def evict_oldest_idle(self):
        if not self.idle:
            return None
        worker = min(self.idle, key=self.idle.get)
        del self.idle[worker]
        return worker


def started(budget: ProcessBudget, name: str, holder: Holder | None = None, last_used: float | None = None):
    worker = FakeWorker(budget, name)
    budget.admit(worker)
    if holder is not None:
        holder.idle[worker] = last_used
    return worker


def test_at_the_cap_the_least_recently_used_idle_process_of_any_holder_is_stopped():
    budget = ProcessBudget(3)
    one, two = Holder(), Holder()            # two sandboxes
    budget.register(one)
    budget.register(two)
    a = started(budget, "a", one, last_used=5.0)
    b = started(budget, "b", two, last_used=2.0)      # used longest ago, in the other sandbox
    c = started(budget, "c", one, last_used=9.0)
    d = started(budget, "d")                          # a fourth start: b makes room
    assert b.stopped and not (a.stopped or c.stopped or d.stopped)
    assert budget.stats() == {"limit": 3, "live": 3, "evicted": 1, "refused": 0}
    started(budget, "e")                              # then a, the older of one's two
    assert a.stopped and not c.stopped and one.idle == {c: 9.0} and two.idle == {}


def test_with_nothing_idle_a_start_is_refused_at_once_and_counts_nothing():
    budget = ProcessBudget(2)
    budget.register(Holder())                         # a holder with nothing idle
    started(budget, "busy1")
    started(budget, "busy2")
    with pytest.raises(ProcessesBusy) as refused:
        started(budget, "third")
    assert isinstance(refused.value, ServerBusy) and refused.value.retry_after > 0   # a call answers 429
    assert "--worker-processes-max" in refused.value.message and "none is idle" in refused.value.message
    assert budget.stats() == {"limit": 2, "live": 2, "evicted": 0, "refused": 1}


def test_a_released_process_frees_its_place_and_a_second_release_changes_nothing():
    budget = ProcessBudget(1)
    first = started(budget, "first")
    budget.release(first)
    budget.release(first)
    second = started(budget, "second")
    assert budget.live() == 1 and not first.stopped and not second.stopped


def test_holders_registered_with_the_budget_are_asked_for_their_idle_processes():
    budget = ProcessBudget(1)
    holder = Holder()
    budget.register(holder)
    idle = started(budget, "idle", holder, last_used=1.0)
    started(budget, "next")
    assert idle.stopped and holder.idle == {}

"""The process's memory budget (mockserver/memory.py): past its limit, and read at most once per
interval, so that checking it on every write costs a clock reading."""
from __future__ import annotations

from mockserver.memory import MIB, MemoryBudget, rss_bytes


class _Process:
    def __init__(self, rss):
        self.rss, self.reads, self.now = rss, 0, 100.0

    def read(self):
        self.reads += 1
        return self.rss

    def clock(self):
        return self.now


def _budget(limit_mb, process, interval=0.1):
    return MemoryBudget(limit_mb, interval=interval, read=process.read, clock=process.clock)


def test_over_the_limit_it_answers_the_rss_and_under_it_none():
    process = _Process(300 * MIB)
    assert _budget(200, process).over() == 300 * MIB
    assert _budget(300, process).over() is None            # at the limit: not past it
    assert _budget(400, process).over() is None


def test_no_budget_reads_nothing_and_an_unreadable_rss_refuses_nothing():
    process = _Process(10 ** 12)
    assert _budget(0, process).over() is None and process.reads == 0
    assert _budget(-5, process).over() is None and process.reads == 0
    assert _budget(1, _Process(None)).over() is None


def test_the_rss_is_read_at_most_once_per_interval():
    process = _Process(50 * MIB)
    budget = _budget(100, process, interval=0.1)
    for _ in range(1000):
        assert budget.over() is None
    assert process.reads == 1
    process.rss, process.now = 150 * MIB, 100.05            # grown, within the interval: not seen yet
    assert budget.over() is None and process.reads == 1
    process.now = 100.2
    assert budget.over() == 150 * MIB and process.reads == 2
    process.rss, process.now = 60 * MIB, 100.4              # deleted records freed memory
    assert budget.over() is None


def test_this_process_rss_is_read_from_proc():
    rss = rss_bytes()
    assert rss is None or 1 * MIB < rss < 1 << 40

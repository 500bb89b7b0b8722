"""The in-process runner thread: answers its calls, times out on time while the call runs on,
and gives back its thread and its pipe when stopped (abandoned runners included)."""
from __future__ import annotations

import os
import threading

from mockserver.runtime.inproc import _Runner
from support.polling import until


def _pipes(runner: _Runner) -> set[str]:
    """The pipe the runner is woken through, as /proc names it ("pipe:[inode]")."""
    return {os.readlink(f"/proc/self/fd/{fd}") for fd in (runner._wake_r, runner._wake_w)}


def _open(pipes: set[str]) -> set[str]:
    """Those of ``pipes`` that a descriptor of this process still holds."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass                                   # closed meanwhile (the listing's own, or another thread's)
    return pipes & held


def _runner_threads() -> int:
    return sum(t.name.startswith("test-runner") for t in threading.enumerate())


def test_a_runner_answers_its_calls_in_turn_and_gives_back_its_pipe():
    runner = _Runner("test-runner-calls")
    pipes = _pipes(runner)
    assert [runner.run(pow, (2, n), 5.0) for n in range(5)] == [(True, 2 ** n) for n in range(5)]
    assert runner.run(pow, (2, 10), 5.0, threading.Event()) == (True, 1024)
    runner.stop()
    runner.stop()                                  # a second stop does nothing
    assert until(lambda: _runner_threads() == 0 and not _open(pipes))


def test_a_call_past_its_timeout_is_answered_at_once_and_its_runner_exits_when_it_ends():
    release = threading.Event()
    runner = _Runner("test-runner-slow")
    pipes = _pipes(runner)
    assert runner.run(release.wait, (30,), 0.05) == (False, None)     # at its deadline, the call running on
    runner.stop()                                  # abandoned, as a timed-out call's runner is
    assert _runner_threads() == 1
    release.set()
    assert until(lambda: _runner_threads() == 0 and not _open(pipes))


def test_a_cancelled_call_stops_waiting():
    cancelled, release = threading.Event(), threading.Event()
    runner = _Runner("test-runner-cancel")
    cancelled.set()
    assert runner.run(release.wait, (30,), 30.0, cancelled) == (False, None)
    runner.stop()
    release.set()
    assert until(lambda: _runner_threads() == 0)

"""Failures the runtime used to swallow are logged now (issue 29: no swallowed errors)."""
from __future__ import annotations

import ctypes
import errno
import logging
from pathlib import Path

from mockserver.runtime import Binding, Engine, Invocation, Profile, procs
from mockserver.runtime.reaper import stop_workers

FIXTURES = str(Path(__file__).parents[3] / "fixtures" / "algorithms")


class Worker:
    def __init__(self, pid: int, fails: bool):
        self.pid, self.fails, self.stopped = pid, fails, False

    def stop(self):
        if self.fails:
            raise OSError("no such process group")
        self.stopped = True


def test_a_worker_that_fails_to_stop_is_logged_and_the_others_are_still_stopped(caplog):
    broken, fine = Worker(4242, fails=True), Worker(4343, fails=False)
    with caplog.at_level(logging.ERROR, "mockserver.runtime"):
        stop_workers([broken, fine], "an idle worker")
    assert "stopping an idle worker (pid 4242) failed" in caplog.text and "no such process group" in caplog.text
    assert fine.stopped


def test_a_failing_prctl_is_reported_not_ignored(monkeypatch):
    class Libc:
        def prctl(self, *args):
            return -1
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **kw: Libc())
    monkeypatch.setattr(ctypes, "get_errno", lambda: errno.EPERM)
    problem = procs.become_subreaper()
    assert problem is not None and "PR_SET_CHILD_SUBREAPER" in problem and "errno 1" in problem


def test_a_worker_that_cannot_become_a_subreaper_is_logged_by_the_server(tmp_path, monkeypatch, caplog):
    """The worker reports what of its set-up failed in its ready message; the server logs it."""
    missing = f"libmock-missing-{tmp_path.name}.so"
    (tmp_path / "sitecustomize.py").write_text(       # the worker process's libc cannot be found
        f"import ctypes.util\nctypes.util.find_library = lambda name: {missing!r}\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))      # reaches trusted code's workers (runtime/childenv.py)
    engine = Engine(scale=0.0)
    try:
        with caplog.at_level(logging.WARNING, "mockserver.runtime"):
            out = engine.invoke(Invocation(key="k", binding=Binding("greeter.py", FIXTURES, trusted=True),
                                           profile=Profile("p"), body=b'"Neo"', content_type="application/json"))
    finally:
        engine.shutdown()
    assert out.result == "Hello Neo"                     # the call still runs
    assert "PR_SET_CHILD_SUBREAPER) unavailable" in caplog.text and missing in caplog.text


def test_a_callable_that_cannot_be_pickled_says_it_runs_in_the_servers_threads(caplog):
    local = {"greeting": "hi"}
    binding = Binding.from_callable(lambda name: f"{local['greeting']} {name}")     # a closure: no pickling by reference
    engine = Engine(scale=0.0)
    try:
        with caplog.at_level(logging.WARNING, "mockserver.runtime"):
            out = engine.invoke(Invocation(key="closure", binding=binding, profile=Profile("p", mode="process"),
                                           body=b'"Neo"', content_type="application/json"))
        assert out.result == "hi Neo"
        assert engine.stats()["pools"]["closure"]["mode"] == "inprocess"
    finally:
        engine.shutdown()
    assert "cannot be sent to a worker process" in caplog.text and "run in the server's threads" in caplog.text

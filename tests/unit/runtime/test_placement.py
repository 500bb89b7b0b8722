"""runtime/placement.py: which CPU the served mock's threads run on, and that worker processes
run on the server's other CPUs."""
import json
import subprocess
import sys

import pytest

from mockserver.runtime import placement
from mockserver.settings import Settings, SettingError

USABLE = placement.usable_cpus()
several_cpus = pytest.mark.skipif(len(USABLE) < 2, reason="pinning needs two or more usable CPUs")


def test_the_choice_names_one_usable_cpu_or_none():
    assert placement.choose_cpu("all", [0, 1, 2]) is None
    assert placement.choose_cpu("auto", [3]) is None                 # one CPU: nothing to choose
    assert placement.choose_cpu("5", [5]) is None
    assert placement.choose_cpu("auto", [0, 1, 2], pick=lambda cpus: cpus[-1]) == 2
    assert placement.choose_cpu("1", [0, 1, 2]) == 1
    with pytest.raises(ValueError, match="CPU 7 is not one this process may use"):
        placement.choose_cpu("7", [0, 1])


def test_auto_spreads_servers_over_the_cpus():
    picks = {placement.choose_cpu("auto", [0, 1, 2, 3]) for _ in range(200)}
    assert picks == {0, 1, 2, 3}


def test_the_setting_takes_auto_all_or_a_usable_cpu():
    assert Settings.load({}, {}).cpu == "auto"
    assert Settings.load({}, {"MOCKSERVER_CPU": "ALL"}).cpu == "all"
    with pytest.raises(SettingError, match="expected auto, all or a CPU number"):
        Settings.load({}, {"MOCKSERVER_CPU": "fast"})
    with pytest.raises(SettingError, match="expected auto, all or a CPU number"):
        Settings.load({}, {"MOCKSERVER_CPU": "-1"})
    if USABLE:
        assert Settings.load({}, {"MOCKSERVER_CPU": str(USABLE[-1])}).cpu == str(USABLE[-1])
        with pytest.raises(SettingError, match="may use CPUs"):
            Settings.load({}, {"MOCKSERVER_CPU": str(max(USABLE) + 1000)})


def test_release_reports_what_it_could_not_do():
    assert placement.release(None) is None
    assert placement.release([]) is None
    problem = placement.release([10**6])                           # no such CPU: stays where it is
    assert problem.startswith("worker stays on the server's CPU")
    assert placement.usable_cpus() == USABLE


PIN = """
import json, os, threading
from mockserver.runtime import placement
before = placement.worker_cpus()
cpu = placement.pin_server({choice!r})
seen = {{}}
t = threading.Thread(target=lambda: seen.update(thread=sorted(os.sched_getaffinity(0))))
t.start(); t.join()
print(json.dumps({{"before": before, "cpu": cpu, "main": sorted(os.sched_getaffinity(0)), **seen,
                  "workers": placement.worker_cpus()}}))
"""


def _pin_in_a_child(choice: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PIN.format(choice=choice)], capture_output=True, text=True,
                          check=True, timeout=60)
    return json.loads(done.stdout)


@several_cpus
def test_pinning_holds_this_thread_and_the_threads_it_starts_and_leaves_the_other_cpus_to_workers():
    got = _pin_in_a_child(str(USABLE[-1]))
    assert got == {"before": None, "cpu": USABLE[-1], "main": [USABLE[-1]], "thread": [USABLE[-1]],
                   "workers": USABLE[:-1]}
    got = _pin_in_a_child("auto")
    assert got["cpu"] in USABLE and got["main"] == got["thread"] == [got["cpu"]]


def test_all_leaves_the_process_alone():
    got = _pin_in_a_child("all")
    assert got == {"before": None, "cpu": None, "main": USABLE, "thread": USABLE, "workers": None}


def test_a_refused_pin_serves_unpinned(monkeypatch):
    def refuse(_pid, _cpus):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(placement.os, "sched_setaffinity", refuse)
    monkeypatch.setattr(placement, "usable_cpus", lambda: [0, 1])
    assert placement.pin_server("auto") is None
    assert placement.worker_cpus() is None

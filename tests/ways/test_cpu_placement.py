"""The served mock runs its threads on one CPU and its worker processes on the others
(runtime/placement.py), as the ``mockserver`` command and the Docker image serve it."""
import os
from pathlib import Path

import pytest
import requests

from support.api import DEMO
from support.processes import served, worker_processes

USABLE = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(len(USABLE) < 2, reason="pinning needs two or more usable CPUs")


def _thread_cpus(pid: int) -> dict[int, list[int]]:
    """Each thread's CPUs (from /proc/<pid>/task), by thread id."""
    found = {}
    for task in (Path("/proc") / str(pid) / "task").iterdir():
        try:
            found[int(task.name)] = sorted(os.sched_getaffinity(int(task.name)))
        except OSError:
            continue                          # ended meanwhile
    return found


def _call_hello(url: str) -> None:
    r = requests.post(f"{url}/v1/algo/demo/Hello", json="cpu", headers={"Authorization": f"Simple {DEMO}"},
                      timeout=60)
    assert r.status_code == 200, r.text


def test_the_server_threads_share_one_cpu_and_its_workers_get_the_others():
    cpu = USABLE[-1]
    with served(MOCKSERVER_CPU=str(cpu)) as (url, _port, proc):
        # start-up's binding checks ran before the pin: their processes may keep every CPU
        before = set(worker_processes(proc.pid))
        _call_hello(url)
        threads = _thread_cpus(proc.pid)
        assert threads[proc.pid] == [cpu]                           # the HTTP loop
        # waitress's threads, which run every request, were started after the pin
        assert sum(cpus == [cpu] for cpus in threads.values()) >= 8, threads
        started = set(worker_processes(proc.pid)) - before
        assert started
        assert {tuple(sorted(os.sched_getaffinity(w))) for w in started} == {tuple(USABLE[:-1])}


def test_cpu_all_leaves_the_server_on_every_cpu():
    with served(MOCKSERVER_CPU="all") as (url, _port, proc):
        _call_hello(url)
        assert set(map(tuple, _thread_cpus(proc.pid).values())) == {tuple(USABLE)}
        assert {tuple(sorted(os.sched_getaffinity(w))) for w in worker_processes(proc.pid)} == {tuple(USABLE)}

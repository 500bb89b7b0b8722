"""Issue 26: idle warm workers of many sandboxes do not add up. The server caps the worker and
checker processes of all its sandboxes (--worker-processes-max); at the cap it stops the least
recently used idle one, of any sandbox, before starting another, and refuses at once (429 with
Retry-After) only when every process is busy. Against the mockserver command, bounded in time."""
from __future__ import annotations

import socket

import requests

from support.admission_load import new_sandbox
from support.api import DEMO
from support.polling import until
from support.processes import served, sleeping, worker_processes

AUTH = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}
CAP = 3


def hello(url: str, prefix: str) -> requests.Response:
    return requests.post(f"{url}{prefix}/v1/algo/demo/Hello", data='"Neo"', headers=AUTH, timeout=30)


def test_workers_of_many_sandboxes_stay_under_the_cap_least_recently_used_first():
    with served(MOCKSERVER_WORKER_PROCESSES_MAX=str(CAP), MOCKSERVER_PROFILE_SCALE="0") as (url, _port, proc):
        sandboxes = [new_sandbox(url) for _ in range(6)]
        started = {}                          # the worker each sandbox's first call started
        for prefix in sandboxes:              # one warm worker each, kept warm (no idle timeout at scale 0)
            before = set(worker_processes(proc.pid))
            answer = hello(url, prefix)
            assert answer.status_code == 200 and answer.json()["result"] == "Hello Neo", answer.text
            live = set(worker_processes(proc.pid))
            assert len(live) <= CAP, live
            started[prefix] = live - before
            assert len(started[prefix]) == 1
        # the workers alive are those of the three most recently used sandboxes
        assert until(lambda: len(worker_processes(proc.pid)) == CAP, 10)
        assert set(worker_processes(proc.pid)) == set().union(*(started[p] for p in sandboxes[-CAP:]))
        # used again, the oldest of them (started first) becomes the most recently used: the next
        # start stops the least recently used one instead (sandboxes[-2]), not the oldest started
        warm = hello(url, sandboxes[-CAP])
        assert warm.status_code == 200 and set(worker_processes(proc.pid)) == set().union(
            *(started[p] for p in sandboxes[-CAP:])), "a warm call started or stopped a worker"
        before = set(worker_processes(proc.pid))
        again = hello(url, sandboxes[0])       # its worker was stopped: it starts one again
        assert again.status_code == 200 and again.json()["result"] == "Hello Neo", again.text
        live = set(worker_processes(proc.pid))
        assert len(live) == CAP and live - before and not live & started[sandboxes[-2]], (live, started)
        assert started[sandboxes[-CAP]] | started[sandboxes[-1]] <= live

def slow_call(port: int, prefix: str, seconds: int) -> socket.socket:
    """A call of demo/SlowTask in the sandbox at ``prefix``, sent on a raw connection that is never
    read: closing it cancels the call (its worker's process tree is killed)."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    body = str(seconds).encode()
    conn.sendall(f"POST {prefix}/v1/algo/demo/SlowTask HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: Simple {DEMO}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return conn


def test_at_the_cap_with_every_process_busy_a_call_is_refused_at_once():
    with served(MOCKSERVER_WORKER_PROCESSES_MAX="2", MOCKSERVER_PROFILE_SCALE="0") as (url, port, proc):
        busy_in = [new_sandbox(url) for _ in range(2)]
        held = [slow_call(port, prefix, 60) for prefix in busy_in]     # each holds its worker until closed
        try:
            # both calls running: two processes, each asleep in demo/SlowTask (a binding check's
            # process, started first for each new sandbox and then stopped for the worker, is not)
            assert until(lambda: len(running := worker_processes(proc.pid)) == 2 and all(map(sleeping, running)), 20)
            refused = hello(url, new_sandbox(url))
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "1", refused.text
            error = refused.json()["error"]
            assert "--worker-processes-max" in error["message"] and "none is idle" in error["message"], error
            assert len(worker_processes(proc.pid)) == 2 and requests.get(f"{url}/_mock/health", timeout=5).ok
        finally:
            for conn in held:
                conn.close()
        assert until(lambda: not worker_processes(proc.pid), 20)      # the cancelled calls' workers are gone
        answer = hello(url, busy_in[0])                                # and the cap has room again
        assert answer.status_code == 200 and answer.json()["result"] == "Hello Neo", answer.text

"""Issue 26, "Two keys stall every sandbox", against the mockserver command (loopback, bounded in time).

Four keys each run their full per-key cap (8) of long calls and 16 binding PUTs whose import
hangs are in flight: the server admits its default sandbox's share of calls (12) and of
checks (2), refuses the rest at once with 429 + Retry-After, and keeps answering everyone
else; a call and a binding check in another sandbox complete normally. The latency targets
(health p99 < 100 ms, GET algorithm p99 < 250 ms) are measured by benchmarks/timings.py.
"""
from __future__ import annotations

import requests

from support.admission_load import InFlight, hanging_module, make_algorithm, new_sandbox
from support.api import DEMO
from support.code import open_to_workers
from support.processes import served

CALL_S = 3.0              # calls of a few seconds, long enough to be in flight while we look
IMPORT_S = 4.0            # the admitted binding checks take this long (under the 10 s check timeout)
AUTH = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}


def test_calls_and_binding_checks_past_their_pools_are_refused_and_the_server_keeps_answering(tmp_path):
    target = hanging_module(open_to_workers(tmp_path), IMPORT_S)     # bound over HTTP: enterable as another uid
    wide = tmp_path / "wide.yaml"          # 4 warm slots: the 12 admitted calls finish in 3 rounds
    wide.write_text("profiles:\n  - {name: python3-cpu, processor: cpu, warm_slots: 4, queue_limit: 16}\n")
    with served(MOCKSERVER_ALGORITHMS_DIRS=str(tmp_path), MOCKSERVER_EXTRA_FIXTURES=str(wide),
                MOCKSERVER_PROFILE_SCALE="0") as (url, _port, _proc):
        make_algorithm(url, "Hangs")
        with InFlight(url, CALL_S, target, "Hangs") as load:
            assert load.wait_for_refusals(calls=32 - 12, binds=16 - 2), (len(load.calls), len(load.binds))
            # everything else is still answered, at once
            assert requests.get(f"{url}/_mock/health", timeout=5).status_code == 200
            hello = requests.get(f"{url}/v1/algorithms/demo/Hello", headers=AUTH, timeout=5)
            assert hello.status_code == 200 and hello.json()["name"] == "Hello"
            # another sandbox calls and checks a binding normally
            other = new_sandbox(url)
            called = requests.post(f"{url}{other}/v1/algo/demo/Hello", data='"Neo"', headers=AUTH, timeout=30)
            assert called.status_code == 200 and called.json()["result"] == "Hello Neo"
            make_algorithm(url, "Hangs", other)
            bound = requests.put(f"{url}{other}/_mock/algorithms/demo/Hangs/binding", json={"target": target},
                                 timeout=30)
            assert bound.status_code == 200, bound.text
        calls, binds = load.calls, load.binds
        assert len(calls) == 32 and len(binds) == 16
        done = [c for c in calls if c.status_code == 200]
        assert len(done) == 12 and all(c.json()["result"]["requested"] == CALL_S for c in done)
        for refused in (c for c in calls if c.status_code != 200):
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
            error = refused.json()["error"]
            assert error["error_type"] == "SystemError" and "calls in flight" in error["message"]
        assert sum(b.status_code == 200 for b in binds) == 2
        for refused in (b for b in binds if b.status_code != 200):
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["code"] == 6001
            assert "too many binding checks at once" in refused.json()["error"]["message"]
        # all slots given back: the default sandbox calls again
        again = requests.post(f"{url}/v1/algo/demo/Hello", data='"Neo"', headers=AUTH, timeout=30)
        assert again.status_code == 200 and again.json()["result"] == "Hello Neo"

"""Issue 26's load on a live server, for tests/ways/test_admission_live.py and benchmarks/timings.py:
four keys each running their full per-key cap of long calls, and binding PUTs whose import hangs,
each request on its own thread and connection, bounded in time."""
from __future__ import annotations

import threading
from pathlib import Path

import requests

from support.algorithms import SETTINGS
from support.api import ADMIN, ALICE, BOB, DEMO
from support.polling import until

KEYS = (ADMIN, DEMO, ALICE, BOB)


def hanging_module(folder: Path, seconds: float) -> str:
    """A module under ``folder`` whose import takes ``seconds``: the binding target."""
    path = folder / "hangs_on_import.py"
    path.write_text(f"import time\ntime.sleep({seconds})\n\n\ndef apply(x):\n    return x\n")
    return f"{path}:apply"


def make_algorithm(url: str, name: str, prefix: str = "") -> None:
    made = requests.post(f"{url}{prefix}/v1/algorithms/demo", timeout=10, headers={"Authorization": f"Simple {DEMO}"},
                         json={"name": name, "details": {"label": name}, "settings": SETTINGS})
    made.raise_for_status()


def new_sandbox(url: str) -> str:
    created = requests.post(f"{url}/_mock/sandboxes", headers={"Content-Type": "application/json"}, timeout=10)
    assert created.status_code == 201, created.text
    return f"/sandboxes/{created.json()['id']}"


class InFlight:
    """``per_key`` calls of demo/SlowTask (``call_seconds`` each) by each of the four keys, and
    ``puts`` PUTs of a binding to ``target`` on demo/``algorithm``, all at once. ``calls`` and
    ``binds`` collect each answer (a Response, or the exception)."""

    def __init__(self, url: str, call_seconds: float, target: str, algorithm: str, *, per_key: int = 8,
                 puts: int = 16, timeout: float = 120):
        self.calls: list = []
        self.binds: list = []
        self._threads = [threading.Thread(target=self._run, args=(self.calls, requests.post,
                                                                   f"{url}/v1/algo/demo/SlowTask"),
                                          kwargs={"data": str(call_seconds), "timeout": timeout,
                                                  "headers": {"Authorization": f"Simple {key}",
                                                              "Content-Type": "application/json"}},
                                          daemon=True)
                         for key in KEYS for _ in range(per_key)]
        self._threads += [threading.Thread(target=self._run, args=(self.binds, requests.put,
                                                                    f"{url}/_mock/algorithms/demo/{algorithm}/binding"),
                                           kwargs={"json": {"target": target}, "timeout": timeout}, daemon=True)
                          for _ in range(puts)]

    @staticmethod
    def _run(into: list, method, url: str, **kw) -> None:
        try:
            into.append(method(url, **kw))
        except requests.RequestException as exc:
            into.append(exc)

    def refused(self, answers: list) -> int:
        return sum(getattr(a, "status_code", None) == 429 for a in answers)

    def start(self) -> "InFlight":
        for t in self._threads:
            t.start()
        return self

    def __enter__(self) -> "InFlight":
        return self.start()

    def wait_for_refusals(self, calls: int, binds: int, timeout: float = 30) -> bool:
        """Until ``calls`` calls and ``binds`` binding PUTs were refused (the rest are in flight)."""
        return until(lambda: self.refused(self.calls) >= calls and self.refused(self.binds) >= binds, timeout, 0.05)

    def join(self, timeout: float = 120) -> None:
        for t in self._threads:
            t.join(timeout)

    def __exit__(self, *exc) -> None:
        self.join()

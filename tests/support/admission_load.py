"""Issue 26's load on a live server, for tests/ways/test_admission_live.py and benchmarks/timings.py:
four keys each running their full per-key cap of long calls, binding PUTs whose import hangs, and
builds whose import waits on a flag, each request on its own thread and connection, bounded in time."""
from __future__ import annotations

import tempfile
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


# -- builds (git push, POST .../compile) holding their pool ---------------------------------
BUILD_HOLD_S = 60           # a slow build's import waits at most this long for its flag to go


def slow_build_files(name: str, flag: Path) -> dict[str, str]:
    """An algorithm whose import (at its build's check) waits while ``flag`` exists: its builds
    stay in flight until the test removes the flag (bounded by BUILD_HOLD_S). A build that waits
    first leaves a mark (:func:`builds_started`): it holds its slot of the build pool by then."""
    started = str(flag.parent / STARTED / name)
    return {f"src/{name}.py": (f"import os, time\n_until = time.time() + {BUILD_HOLD_S}\n"
                               f"if os.path.exists({str(flag)!r}):\n"
                               f"    open({started!r}, 'w').close()\n"
                               f"while os.path.exists({str(flag)!r}) and time.time() < _until:\n"
                               "    time.sleep(0.05)\n\n\ndef apply(x):\n    return x\n")}


STARTED = "started"         # in the flag folder: a mark per slow build that waits on the flag


def flag_folder() -> Path:
    """A folder every worker uid may search (under /tmp), for the flag slow builds wait on, with
    one they may write their marks into."""
    folder = Path(tempfile.mkdtemp(prefix="mock-build-flag-"))
    folder.chmod(0o755)
    (folder / STARTED).mkdir()
    (folder / STARTED).chmod(0o1777)
    return folder


def builds_started(flags: Path, names: list[str]) -> bool:
    """Whether the slow build of each of ``names`` is waiting on its flag (so holds a build slot).
    Watching marks, not probing with compiles: a probing compile would take a slot itself."""
    return all((flags / STARTED / name).exists() for name in names)


class Compiles:
    """``POST .../compile`` of ``demo/<name>`` under each ``(prefix, name)``, each on its own
    thread; ``answers`` maps (prefix, name) to the Response (or the exception)."""

    def __init__(self, url: str, targets: list[tuple[str, str]], timeout: float = 120):
        self.answers: dict = {}
        self._threads = [threading.Thread(target=self._compile, args=(url, prefix, name, timeout), daemon=True)
                         for prefix, name in targets]

    def _compile(self, url: str, prefix: str, name: str, timeout: float) -> None:
        try:
            self.answers[(prefix, name)] = compile_algorithm(url, name, prefix, timeout)
        except requests.RequestException as exc:
            self.answers[(prefix, name)] = exc

    def start(self) -> "Compiles":
        for t in self._threads:
            t.start()
        return self

    def join(self, timeout: float = 120) -> None:
        for t in self._threads:
            t.join(timeout)


def compile_algorithm(url: str, name: str, prefix: str = "", timeout: float = 30) -> requests.Response:
    return requests.post(f"{url}{prefix}/v1/algorithms/demo/{name}/compile", timeout=timeout,
                         headers={"Authorization": f"Simple {DEMO}"})


def builds_full(url: str, prefix: str, why: str = "the server has") -> bool:
    """Whether a compile in the sandbox at ``prefix`` (of demo/Hello, bound: quick when admitted)
    is refused for ``why`` ("the server has": its build pool is full; "this sandbox has": the
    sandbox's share of it)."""
    answer = compile_algorithm(url, "Hello", prefix)
    return answer.status_code == 429 and why in answer.json()["error"]["message"]

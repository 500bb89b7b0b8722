"""Issue 26: user code cannot fill the disk. A process of code bound over HTTP (here demo/Hello's, rebound) or pushed gets a
folder of its own, its HOME and TMPDIR; no file it writes may grow past --worker-disk-mb
(RLIMIT_FSIZE), nor its folder in all (measured after each call and every second meanwhile).
Past the bound its call fails with an error object, the worker is replaced and its folder goes;
the server stays up. Against the mockserver command, bounded in time."""
from __future__ import annotations

import os
import time
from pathlib import Path

import requests

from support.api import DEMO
from support.code import write_algorithm
from support.processes import served

AUTH = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}
TRICKLE_S = 60                  # how long the trickling call would write if nothing stopped it
WRITER = '''import os, tempfile, time

TRICKLE_S = %d

CHUNK = b"x" * (256 * 1024)


def apply(mode):
    folder = tempfile.gettempdir()
    if mode == "where":
        return {"home": os.environ["HOME"], "tmp": folder, "files": sorted(os.listdir(folder))}
    if mode == "big":                       # one file past the bound
        with open(os.path.join(folder, "big"), "wb") as fh:
            fh.write(CHUNK * 8)
    elif mode == "many":                    # many files, each small, past the bound together
        for i in range(8):
            with open(os.path.join(folder, f"part{i}"), "wb") as fh:
                fh.write(CHUNK)
    elif mode == "trickle":                 # a long call that keeps writing
        deadline = time.time() + TRICKLE_S
        i = 0
        while time.time() < deadline:
            with open(os.path.join(folder, f"t{i}"), "wb") as fh:
                fh.write(CHUNK)
            i += 1
            time.sleep(0.05)
    elif mode == "small":
        with open(os.path.join(folder, "small"), "wb") as fh:
            fh.write(CHUNK)
    return mode
''' % TRICKLE_S


def call(url: str, mode: str) -> requests.Response:
    return requests.post(f"{url}/v1/algo/demo/Hello", json=mode, headers=AUTH, timeout=TRICKLE_S + 30)


def test_a_worker_writing_past_its_bound_fails_its_call_and_the_server_stays_up(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    target = write_algorithm(code, "writer.py", WRITER)
    with served(MOCKSERVER_ALGORITHMS_DIRS=str(code), MOCKSERVER_WORKER_DISK_MB="1",
                MOCKSERVER_PROFILE_SCALE="0") as (url, _port, _proc):
        bound = requests.put(f"{url}/_mock/algorithms/demo/Hello/binding", json={"target": target}, timeout=30)
        assert bound.status_code == 200, bound.text
        answer = call(url, "where").json()
        assert "result" in answer, answer
        where = answer["result"]
        assert where["home"] == where["tmp"] and where["files"] == []      # its own folder, empty
        root = Path(where["home"]).parent
        assert root.name.startswith("algorithmia-mock-workers-")
        big = call(url, "big").json()["error"]        # one file past the bound: the write fails (EFBIG)
        assert big["error_type"] == "AlgorithmError" and "File too large" in big["message"], big
        assert sum(f.stat().st_size for f in Path(where["home"]).iterdir()) == 1024 * 1024   # cut at the bound

        for mode in ("many", "trickle"):          # the folder past the bound: measured after, or during, the call
            started = time.monotonic()
            failed = call(url, mode)
            took = time.monotonic() - started
            error = failed.json().get("error")
            assert error is not None, (mode, failed.text)
            assert error["error_type"] == "SystemError" and "wrote more than 1 MiB" in error["message"], (mode, error)
            assert requests.get(f"{url}/_mock/health", timeout=5).status_code == 200
            assert sorted(os.listdir(root)) == [], (mode, os.listdir(root))   # the worker's folder went with it
            again = call(url, "where").json()["result"]                    # a new worker, a new, empty folder
            assert again["files"] == [] and again["home"] != where["home"]
            where = again
        assert took < TRICKLE_S / 2, took       # the trickle was stopped mid-call (the watcher), not at its end
        assert call(url, "small").json()["result"] == "small"              # within the bound: works
    assert not root.exists()                               # the server removed every folder when it stopped

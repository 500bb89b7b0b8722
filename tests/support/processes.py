"""Processes for tests: servers in subprocesses (a free port, the mockserver command, health, stop)
and whether a process is still alive."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from support.polling import until

ROOT = Path(__file__).resolve().parents[2]
# The Dockerfile's CMD (``mockserver``); bind host and port come from the environment.
SERVE = ["-m", "mockserver"]
BIND_ATTEMPTS = 3


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs: a zombie (``Z``) or dead (``X``) process, or none at all, is not alive."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"server exited with {proc.returncode}:\n{err[-2000:] if err else ''}")
        try:
            return requests.get(f"{url}/_mock/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False
    if not until(healthy, timeout, interval=0.05):
        raise AssertionError(f"server at {url} did not become healthy in {timeout} s")


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@contextmanager
def served(**env_extra: str) -> Iterator[tuple[str, int, subprocess.Popen]]:
    """The mock as the mockserver command serves it, healthy: yields (url, port, process).

    The free port is free when chosen; another process (a parallel test, any outgoing connection)
    may take it before the server binds it, and then the server stops saying it cannot listen:
    that start is retried on another port."""
    for attempt in range(1, BIND_ATTEMPTS + 1):
        port = free_port()
        env = {**os.environ, "MOCKSERVER_HOST": "127.0.0.1", "MOCKSERVER_PORT": str(port),
               "MOCKSERVER_LOG_LEVEL": "warning", **env_extra}
        proc = subprocess.Popen([sys.executable, *SERVE], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            break
        except AssertionError as exc:
            stop(proc)
            if "cannot listen" not in str(exc) or attempt == BIND_ATTEMPTS:
                raise
    try:
        yield url, port, proc
    finally:
        stop(proc)


def stop_and_collect(proc: subprocess.Popen, timeout: float = 10) -> tuple[int, float, str, str]:
    """SIGTERM, then (exit code, seconds to exit, stdout, stderr); fails if it does not exit in time."""
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("did not stop within the timeout after SIGTERM")
    return code, time.monotonic() - started, proc.stdout.read(), proc.stderr.read()


def worker_processes(server_pid: int) -> list[int]:
    """The pids of a server's worker and checker processes (its children running
    ``mockserver.runtime.worker_main``), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue                      # exited meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and b"worker_main" in cmdline and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found


def sleeping(pid: int) -> bool:
    """Whether process ``pid`` is in a timed sleep (Python's ``time.sleep``), as the kernel says
    in /proc/<pid>/wchan: an algorithm that sleeps is running, not a worker waiting for a call."""
    try:
        return (Path("/proc") / str(pid) / "wchan").read_text().strip() == "hrtimer_nanosleep"
    except OSError:
        return False

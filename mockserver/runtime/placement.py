"""Which CPUs the server's threads run on: one, while its worker processes run on the others.

The server's threads take turns holding Python's one interpreter lock (the GIL), so they never
run Python at the same time. Spread over several CPUs, every hand-over of that lock (a request
thread to the HTTP loop, to a runner thread and back) wakes a thread on another CPU; on the
benchmark's 2-CPU virtual machine that cost the server half its throughput and most of its tail
latency (docs/speed.md, "Phase G"). ``serve()`` therefore runs its threads on one CPU
(:func:`pin_server`, the ``--cpu`` setting), and every worker process a pinned server starts
moves to the other CPUs the server could use (:func:`worker_cpus`, applied by the worker with
:func:`release`): algorithm code runs beside the server, never on its CPU. (Left free to run
anywhere, a worker woken by the server was often woken on the server's own CPU, where the two
then took turns.)

Only the ``serve()`` entry pins: an app embedded in another process (the pytest plugin, a test's
background server) leaves that process's CPUs alone. Threads and checker processes started
before the pin (start-up's binding checks, the idle reaper) keep every CPU; the short-lived
non-worker children of a pinned server (a build's ``pip install``) stay on its CPU.
"""
from __future__ import annotations

import os
from typing import Optional

_worker_cpus: Optional[list[int]] = None     # set once the server is pinned: the CPUs but the server's


def usable_cpus() -> list[int]:
    """The CPUs this thread may run on (its affinity mask), sorted; [] where the OS has no masks."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def _pick(cpus: list[int]) -> int:
    # os.urandom, not the random module: worker processes import this module too, and random
    # costs them its import (and hashlib's).
    return cpus[int.from_bytes(os.urandom(4), "big") % len(cpus)]


def choose_cpu(choice: str, usable: list[int], pick=_pick) -> Optional[int]:
    """The CPU ``choice`` names among ``usable``: ``all``: none (no pinning); ``auto``: one of them
    at random (servers started side by side rarely land on one CPU, which a choice by process id
    would not give containers, whose servers all have the same pid); a number: that CPU. None
    with fewer than two usable CPUs: pinning would change nothing. ValueError for a CPU that is
    not usable."""
    if choice == "all" or len(usable) < 2:
        return None
    if choice == "auto":
        return pick(usable)
    cpu = int(choice)
    if cpu not in usable:
        raise ValueError(f"CPU {cpu} is not one this process may use ({', '.join(map(str, usable))})")
    return cpu


def pin_server(choice: str) -> Optional[int]:
    """Run this thread, and every thread it starts from now on, on the CPU ``choice`` names
    (:func:`choose_cpu`); the other CPUs it could use are the worker processes'. The CPU, or None."""
    global _worker_cpus
    usable = usable_cpus()
    cpu = choose_cpu(choice, usable)
    if cpu is None:
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:              # a sandbox that refuses the call (seccomp): serve unpinned
        return None
    _worker_cpus = [c for c in usable if c != cpu]
    return cpu


def worker_cpus() -> Optional[list[int]]:
    """The CPUs a new worker process should run on: those the server could use but its own, or
    None when the server is not pinned (the worker inherits the server's CPUs)."""
    return _worker_cpus


def release(cpus: Optional[list[int]]) -> Optional[str]:
    """In a worker process: run on ``cpus`` (the server's :func:`worker_cpus`). None when done or
    nothing to do, else why not (reported to the server like other set-up problems)."""
    if not cpus:
        return None
    try:
        os.sched_setaffinity(0, cpus)
    except (AttributeError, OSError, ValueError) as exc:
        return f"worker stays on the server's CPU ({type(exc).__name__}: {exc})"
    return None

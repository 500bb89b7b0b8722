"""Servers under test: started as subprocesses on free loopback ports, watched until healthy,
measured (memory and CPU of the whole process tree, from /proc) and stopped."""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
              timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    startup_s: float | None = None
    startup_cpu_s: float | None = None     # CPU time of the process tree when it first answered
    log: Any = None
    workdir: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mib(self) -> dict | None:
        """Memory of the whole process tree (server, worker processes, Node's children):
        ``{"rss", "pss", "processes": [{"pid", "rss", "pss", "cmd"}, ...]}`` in MiB. RSS counts a
        page shared by two processes (shared libraries) in both; PSS splits it between them."""
        procs = [m for m in map(process_memory, process_tree(self.proc.pid)) if m]
        if not procs:
            return None
        return {"rss": sum(m["rss"] for m in procs), "pss": sum(m["pss"] for m in procs), "processes": procs}

    def log_tail(self, size: int = 2000) -> str:
        if not self.log:
            return ""
        self.log.seek(0)
        return self.log.read()[-size:].decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)   # own session: the group is ours
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.log:
            self.log.close()
        if self.workdir:
            self.workdir.cleanup()


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from each process's parent in /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree = [pid]
    for p in tree:
        tree.extend(children.get(p, []))
    return tree


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid``'s tree: the live processes and the children they reaped."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])       # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def process_memory(pid: int) -> dict | None:
    """RSS and PSS of one process in MiB (/proc/<pid>/smaps_rollup), None once it is gone. The
    mock's server process is non-dumpable (docs/security.md): unless this runs as root its
    smaps_rollup is unreadable, and /proc/<pid>/status gives its RSS, standing in for PSS too."""
    fields = {}
    try:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except PermissionError:
            lines = [line.replace("VmRSS:", "Rss:") for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("VmRSS:")]
            lines += [line.replace("Rss:", "Pss:") for line in lines]
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1]) / 1024
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    return {"pid": pid, "rss": fields.get("Rss", 0.0), "pss": fields.get("Pss", 0.0), "cmd": cmd[:120]}


def start_server(name: str, argv: list[str], env: dict[str, str], health: str, timeout: float = 60,
                 healthy=lambda status: status < 500) -> Server:
    """Start ``argv`` (``{port}`` replaced by a free port, also in MOCKSERVER_PORT) with exactly
    ``env`` plus the port, in an empty working directory (so that nothing is imported from a
    checkout by accident), and wait until ``health`` answers. ``startup_s`` is the time from the
    start of the process to that answer."""
    port = free_port()
    env = {**env, "MOCKSERVER_HOST": "127.0.0.1", "MOCKSERVER_PORT": str(port)}
    argv = [a.replace("{port}", str(port)) for a in argv]
    workdir = tempfile.TemporaryDirectory(prefix=f"bench-{name}-")
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=workdir.name, env=env, stdout=log, stderr=log, start_new_session=True)
    server = Server(name, port, proc, log=log, workdir=workdir)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"{name} exited with {proc.returncode}: {tail}")
        try:
            status, _ = http_call(port, "GET", health, timeout=2)
            if healthy(status):
                server.startup_s = time.perf_counter() - started
                server.startup_cpu_s = tree_cpu_s(proc.pid)
                return server
        except OSError:
            pass
        time.sleep(0.002)
    server.stop()
    raise RuntimeError(f"{name} not healthy after {timeout} s")


def base_env() -> dict[str, str]:
    """The environment a server starts with: this one's, without anything that would make a
    Python server import other code than its own install, or change its settings."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("MOCKSERVER_", "PYTHON", "VIRTUAL_ENV", "ALGORITHMIA_"))}

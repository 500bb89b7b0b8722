#!/usr/bin/env python
"""Benchmarks of algorithmia-mock against same-run baselines (see benchmarks/README.md).

    python benchmarks/run.py [--duration 2] [--rounds 5] [--connections 16] [--soak] [--no-prism] [--only KEYS]

Starts, as subprocesses on free loopback ports, under the project's one serving path
(``python -m mockserver.serving.serve``: waitress, one process, 32 threads):

- ``mock``      the mock (default sandbox + benchmarks/fixtures.yaml + 100 synthetic users), log level info
- ``mock-quiet`` the same with per-request logging off (``MOCKSERVER_LOG_LEVEL=warning``)
- ``mock-100k`` the same with 100,000 synthetic users (listing, RSS)
- ``bare``      benchmarks/bare_app.py: bare Flask returning fixed JSON (baseline)
- ``prism``     Stoplight Prism mocking openapi/algorithmia.yaml, default logging (baseline;
                skipped with a note when Node/npx or the package is not available)
- ``prism-quiet`` the same with ``-v error``: the pair of ``mock-quiet``

and drives them with ``wrk`` (Lua scripts for auth headers and bodies) or, without
wrk, a bounded Python threaded load generator. The route list is data-driven: a
scenario whose probe answers 501 (not emulated yet) or fails its set-up is skipped
with the reason and is measured automatically once the feature lands.

Prints a table with ratios against the baselines and PASS/FAIL per target of
issue 8, and writes benchmarks/results/latest.json and latest.md.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
ADMIN = "simAdminSandboxKey000000000"
DEMO = "simDemoSandboxKey0000000000"
KiB, MiB = 1024, 1024 * 1024
PRISM_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
SERVE = [sys.executable, "-m", "mockserver.serving.serve"]
# Targets of issue 15, per pairing (mock vs Prism at default logging; both quiet).
PAIRINGS = (("mock", "prism", "default logging: mock at info vs Prism default"),
            ("mock-quiet", "prism-quiet", "per-request logging off: mock at warning vs prism -v error"))
PAIRED_SCENARIOS = ("get_algorithm", "create_algorithm", "invoke_inprocess", "invoke_process")
BIG = 100_000
SMALL = 100

# -------------------------------------------------------------------------------- servers


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
    log: Any = None

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


def start_server(name: str, argv: list[str], env_extra: dict[str, str], health: str,
                 timeout: float = 60, port: int | None = None) -> Server:
    port = port or free_port()
    env = {**os.environ, "MOCKSERVER_HOST": "127.0.0.1", "MOCKSERVER_PORT": str(port),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env_extra}
    argv = [a.replace("{port}", str(port)) for a in argv]
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    server = Server(name, port, proc, log=log)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} exited with {proc.returncode}: {log.read()[-2000:].decode(errors='replace')}")
        try:
            status, _ = http_call(port, "GET", health, timeout=2)
            if status < 500:
                server.startup_s = time.perf_counter() - started
                return server
        except OSError:
            pass
        time.sleep(0.005)
    server.stop()
    raise RuntimeError(f"{name} not healthy after {timeout} s")


def mock_env(users: int, baseline: bool) -> dict[str, str]:
    from mockserver.fixtures import default_fixture
    return {"MOCKSERVER_FIXTURES": os.pathsep.join([str(default_fixture()), str(ROOT / "benchmarks" / "fixtures.yaml")]),
            "BENCH_USERS": str(users), "BENCH_BASELINE": "1" if baseline else "0",
            "MOCKSERVER_LOG_LEVEL": "info",
            # The load is one client key on 16 connections: with the default cap of 8 concurrent
            # calls per key (and 12 per sandbox), part of every invocation round would be 429s,
            # counted as errors and as throughput. Measure the invocations, not the caps (Prism
            # has none); the server-wide bound (16 calls) still fits 16 connections.
            "MOCKSERVER_INVOCATIONS_PER_KEY": "0", "MOCKSERVER_INVOCATIONS_PER_SANDBOX": "16"}


def prism_command() -> tuple[list[str] | None, str]:
    """The prism binary: the cache dir install, installing it there with npm if needed."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        if not shutil.which("npm") or not shutil.which("node"):
            return None, "Node.js/npm not installed"
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", PRISM_PACKAGE], cwd=PRISM_DIR,
                           check=True, timeout=600, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"npm install {PRISM_PACKAGE} failed: {exc}"
    if not binary.exists():
        return None, "prism binary missing after npm install"
    return [str(binary), "mock", "-h", "127.0.0.1", "-p", "{port}", str(ROOT / "openapi" / "algorithmia.yaml")], ""


# -------------------------------------------------------------------------------- load

@dataclass
class Scenario:
    key: str
    title: str
    method: str
    path: str
    key_header: str | None = DEMO
    body: bytes | None = None
    content_type: str | None = None
    unique: bool = False              # body/path has __UNIQ__, replaced per request
    fallbacks: list[str] = field(default_factory=list)   # other paths to try when one answers 501
    setup: list[tuple[str, str, bytes | None, str | None]] = field(default_factory=list)
    servers: tuple[str, ...] = ("mock", "bare", "prism")
    paired: bool = False              # also run mock-quiet and prism-quiet (PAIRINGS)
    connections: int | None = None
    prism_path: str | None = None     # Prism's {data_path} matches one segment only
    # "response": the work is the bytes of a big answer. Prism answers its spec example
    # instead of the file, so req/s would compare unequal work: compare bytes/s.
    compare_by: str = "requests"

    def path_for(self, role: str) -> str:
        return self.prism_path if role.startswith("prism") and self.prism_path else self.path

    def roles(self) -> tuple[str, ...]:
        return self.servers + (("mock-quiet", "prism-quiet") if self.paired else ())

    def headers(self) -> dict[str, str]:
        h = {}
        if self.key_header:
            h["Authorization"] = f"Simple {self.key_header}"
        if self.content_type:
            h["Content-Type"] = self.content_type
        return h


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int           # non-2xx/3xx answers + socket errors
    engine: str
    bytes_read: int = 0   # response bytes received (headers included)

    @property
    def read_per_s(self) -> float:
        return self.bytes_read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**self.__dict__, "read_per_s": round(self.read_per_s)}


LUA = r"""
local method, path, body, uniq, nonce = "%(method)s", "%(path)s", nil, %(unique)s, "x"
local headers = %(headers)s
local counter, cached = 0, nil
tid = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  nonce = args[1] or "x"
  local f = io.open("%(body_file)s", "rb")
  if f then body = f:read("*all"); f:close() end
  if body == "" then body = nil end
  if not uniq then cached = wrk.format(method, path, headers, body) end
end
function request()
  if cached then return cached end
  counter = counter + 1
  local u = nonce .. "T" .. tid .. "N" .. counter
  local b = body and body:gsub("__UNIQ__", u) or nil
  return wrk.format(method, (path:gsub("__UNIQ__", u)), headers, b)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"p50_us":%%d,"p99_us":%%d,"bytes":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), summary.bytes))
end
"""


def _lua_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def run_wrk(port: int, sc: Scenario, path: str, seconds: float, connections: int, threads: int) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_bytes(sc.body or b"")
        headers = "{" + ", ".join(f'["{_lua_str(k)}"] = "{_lua_str(v)}"' for k, v in sc.headers().items()) + "}"
        script = Path(tmp) / "s.lua"
        script.write_text(LUA % {"method": sc.method, "path": _lua_str(path), "unique": "true" if sc.unique else "false",
                                 "headers": headers, "body_file": _lua_str(str(body_file))})
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                "-s", str(script), f"http://127.0.0.1:{port}", "--", uuid.uuid4().hex[:8]]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((l for l in out.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out[-500:]}")
    data = json.loads(line[8:])
    secs = data["duration_us"] / 1e6
    return LoadResult(data["requests"], secs, data["requests"] / secs if secs else 0.0,
                      data["p50_us"] / 1000, data["p99_us"] / 1000, data["errors"], "wrk", data.get("bytes", 0))


def run_python_load(port: int, sc: Scenario, path: str, seconds: float, connections: int,
                    max_requests: int = 2_000_000) -> LoadResult:
    """Bounded threaded load: ``connections`` keep-alive clients for ``seconds`` (and at most max_requests)."""
    stop_at = time.perf_counter() + seconds
    lats: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    received = [0] * connections
    budget = max_requests // connections
    nonce = uuid.uuid4().hex[:8]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while time.perf_counter() < stop_at and n < budget:
            n += 1
            u = f"{nonce}T{i}N{n}"
            body = sc.body.replace(b"__UNIQ__", u.encode()) if sc.body and sc.unique else sc.body
            t0 = time.perf_counter()
            try:
                conn.request(sc.method, path.replace("__UNIQ__", u), body=body, headers=sc.headers())
                resp = conn.getresponse()
                received[i] += len(resp.read())
                if resp.status >= 400:
                    errors[i] += 1
            except OSError:
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            lats[i].append(time.perf_counter() - t0)
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 30)
    elapsed = time.perf_counter() - started
    all_lats = sorted(x for l in lats for x in l)
    n = len(all_lats)
    pct = lambda q: all_lats[min(n - 1, int(q * n))] * 1000 if n else 0.0
    return LoadResult(n, elapsed, n / elapsed if elapsed else 0.0, pct(0.5), pct(0.99), sum(errors), "python",
                      sum(received))


def median_round(runs: list[LoadResult]) -> LoadResult:
    """The round with the median throughput (its latencies come with it)."""
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def load(port: int, sc: Scenario, path: str, seconds: float, connections: int) -> LoadResult:
    if shutil.which("wrk"):
        return run_wrk(port, sc, path, seconds, connections, threads=1 if connections < 4 else 2)
    return run_python_load(port, sc, path, seconds, connections)


def latency_probe(port: int, method: str, path: str, headers: dict, n: int = 200, body: bytes | None = None) -> dict:
    """Sequential requests on one keep-alive connection: per-request latency without queueing."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    status = None
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        samples.append((time.perf_counter() - t0) * 1000)
        status = resp.status
    conn.close()
    samples.sort()
    return {"status": status, "p50_ms": statistics.median(samples), "p99_ms": samples[min(n - 1, int(0.99 * n))],
            "mean_ms": statistics.fmean(samples)}


# -------------------------------------------------------------------------------- scenarios

ALGO_SETTINGS = {"language": "python3-1", "source_visibility": "open", "license": "apl",
                 "network_access": "isolated", "pipeline_enabled": False, "environment": "cpu"}


def scenarios() -> list[Scenario]:
    create_body = json.dumps({"name": "B__UNIQ__", "details": {"label": "bench"}, "settings": ALGO_SETTINGS}).encode()
    small, big = os.urandom(KiB), os.urandom(5 * MiB)
    mkdir = [("POST", "/v1/data/.my", b'{"name":"bench"}', "application/json")]
    return [
        Scenario("get_algorithm", "GET algorithm (auth + validated)", "GET", "/v1/algorithms/demo/BenchGet",
                 fallbacks=["/v1/users/demo", "/v1/scms"], paired=True),
        Scenario("create_algorithm", "POST create algorithm (validated body)", "POST", "/v1/algorithms/demo",
                 body=create_body, content_type="application/json", unique=True, paired=True),
        # A JSON string input: Prism validates the */* string schema against the parsed JSON.
        Scenario("invoke_inprocess", "invoke no-op (in-process)", "POST", "/v1/algo/demo/NoopInprocess",
                 body=b'"hello"', content_type="application/json", paired=True),
        Scenario("invoke_process", "invoke no-op (worker process)", "POST", "/v1/algo/demo/NoopProcess",
                 body=b'"hello"', content_type="application/json", paired=True),
        Scenario("data_put_1k", "data PUT 1 KiB", "PUT", "/v1/data/.my/bench/small.bin", body=small,
                 content_type="application/octet-stream", setup=mkdir, prism_path="/v1/data/small.bin"),
        Scenario("data_get_1k", "data GET 1 KiB", "GET", "/v1/data/.my/bench/small.bin",
                 setup=mkdir + [("PUT", "/v1/data/.my/bench/small.bin", small, "application/octet-stream")],
                 prism_path="/v1/data/small.bin"),
        Scenario("data_put_5m", "data PUT 5 MiB", "PUT", "/v1/data/.my/bench/big.bin", body=big,
                 content_type="application/octet-stream", setup=mkdir, connections=4, prism_path="/v1/data/big.bin"),
        Scenario("data_get_5m", "data GET 5 MiB", "GET", "/v1/data/.my/bench/big.bin",
                 setup=mkdir + [("PUT", "/v1/data/.my/bench/big.bin", big, "application/octet-stream")], connections=4,
                 prism_path="/v1/data/big.bin", compare_by="response"),
        Scenario("list_users_100", f"list users, page of 50 of {SMALL}", "GET", "/v1/users?limit=50", key_header=ADMIN),
        Scenario("list_users_100k", f"list users, page of 50 of {BIG:,}", "GET", "/v1/users?limit=50", key_header=ADMIN,
                 servers=("mock-100k", "bare", "prism")),
    ]


def probe(port: int, sc: Scenario, role: str = "mock") -> tuple[str | None, str]:
    """The path to load (first non-501 of path + fallbacks) after the scenario's set-up, or None + why."""
    auth = {"Authorization": f"Simple {sc.key_header}"} if sc.key_header else {}
    for method, path, body, ctype in ([] if role.startswith("prism") else sc.setup):
        status, data = http_call(port, method, path, body, {**auth, **({"Content-Type": ctype} if ctype else {})})
        if status == 501:
            return None, f"set-up {method} {path} answers 501 (not emulated yet)"
    why = ""
    for path in [sc.path_for(role), *sc.fallbacks]:
        real = path.replace("__UNIQ__", "probe" + uuid.uuid4().hex[:6])
        body = sc.body.replace(b"__UNIQ__", b"probe" + uuid.uuid4().hex[:6].encode()) if sc.body else None
        status, data = http_call(port, sc.method, real, body, sc.headers())
        if status == 501:
            why = f"{sc.method} {path} answers 501 (not emulated yet)"
            continue
        if status >= 400:
            return None, f"{sc.method} {path} answers {status}: {data[:160].decode(errors='replace')}"
        return path, ""
    return None, why


# -------------------------------------------------------------------------------- in-process figures

ALGORITHM_LISTING_SIZES = (100, 10_000)


def _algorithm_listing_ms(app, pages: int = 200) -> dict[str, float]:
    """p50 of one page (50) of GET /v1/users/{owner}/algorithms, for an owner with 100 and
    one with 10,000 algorithms: copies of a created algorithm put straight into the store."""
    import dataclasses

    client = app.test_client()
    auth = {"Authorization": f"Simple {ADMIN}"}
    r = client.post("/v1/algorithms/demo", headers=auth,
                    json={"name": "ListingTemplate", "details": {"label": "bench"}, "settings": ALGO_SETTINGS})
    assert r.status_code == 200, r.data
    store = app.extensions["mockserver"].ctx.store
    with store.write() as state:
        template = state.algorithms["demo/ListingTemplate"]
        for owner, count in zip(("alice", "bob"), ALGORITHM_LISTING_SIZES):
            for i in range(count):
                state.put_algorithm(dataclasses.replace(template, owner=owner, name=f"Listed{i:05d}",
                                                        id=f"listing-{owner}-{i}"))
    out = {}
    for owner, count in zip(("alice", "bob"), ALGORITHM_LISTING_SIZES):
        samples = []
        for _ in range(pages):
            t0 = time.perf_counter()
            r = client.get(f"/v1/users/{owner}/algorithms?limit=50", headers=auth)
            samples.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200 and len(r.get_json()["results"]) == 50, r.data[:200]
        out[str(count)] = statistics.median(samples)
    return out


def inprocess_figures(n: int = 20000) -> dict:
    """Validation CPU per request (gate.check vs a no-op), and reset time, in this process."""
    from werkzeug.datastructures import Headers, MultiDict

    from mockserver.edge import gate
    from mockserver.app import create_app
    from mockserver.settings import Settings
    from mockserver.fixtures import default_fixture

    app = create_app(Settings(profile_scale=0.0, log_level="warning",
                              fixtures=[str(default_fixture()), str(ROOT / "benchmarks" / "fixtures.yaml")]))
    server = app.extensions["mockserver"]
    ops = server.spec.operations
    body = json.dumps({"name": "Hello", "details": {"label": "bench"}, "settings": ALGO_SETTINGS}).encode()
    cases = {
        "getAlgorithm": (ops["getAlgorithm"], {"username": "demo", "algoname": "BenchGet"}, MultiDict(), b""),
        "createAlgorithm": (ops["createAlgorithm"], {"username": "demo"}, MultiDict(), body),
        "listUsers": (ops["listUsers"], {}, MultiDict({"limit": "50"}), b""),
    }
    headers = Headers({"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"})
    out: dict[str, Any] = {"validation_us": {}}

    def cpu(fn) -> float:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        return (time.process_time() - t0) / n * 1e6

    noop = lambda op, view, args, hdrs, read: None
    for name, (op, view, args, data) in cases.items():
        read = lambda data=data: data
        base = cpu(lambda: noop(op, view, args, headers, read))
        full = cpu(lambda: gate.check(op, view, args, headers, read))
        out["validation_us"][name] = round(max(0.0, full - base), 2)
    # Reset: the store alone, and the whole server reset (store + ids + clock + engine + journal + faults)
    store = server.ctx.store
    t0 = time.perf_counter()
    for _ in range(200):
        store.reset()
    out["store_reset_ms"] = (time.perf_counter() - t0) / 200 * 1000
    t0 = time.perf_counter()
    for _ in range(200):
        server.reset()
    out["server_reset_ms"] = (time.perf_counter() - t0) / 200 * 1000
    out["algorithm_listing_ms"] = _algorithm_listing_ms(app)
    with contextlib.suppress(Exception):
        server.ctx.engine.shutdown()
    return out


# -------------------------------------------------------------------------------- soak

SOAK_ROUTES = [  # (method, path, body, content type, key)
    ("GET", "/v1/algorithms/demo/BenchGet", None, None, DEMO),
    ("GET", "/v1/users/demo", None, None, ADMIN),
    ("GET", "/v1/users?limit=20", None, None, ADMIN),
    ("POST", "/v1/algo/demo/NoopInprocess", b'{"a":1}', "application/json", DEMO),
    ("PUT", "/v1/users/demo", json.dumps({"username": "demo", "email": "demo@example.com",
                                          "fullname": "Demo User"}).encode(), "application/json", ADMIN),
    ("GET", "/v1/organizations/acme/members", None, None, ADMIN),
]


def soak(port: int, seconds: float, threads: int = 8) -> dict:
    """``threads`` keep-alive clients cycling through SOAK_ROUTES (skipping routes that answer 501)."""
    routes = [r for r in SOAK_ROUTES if http_call(port, r[0], r[1], r[2], _hdrs(r))[0] != 501]
    stop_at = time.perf_counter() + seconds
    counts = [0] * threads
    errors: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        n = 0
        while time.perf_counter() < stop_at and n < 1_000_000:
            method, path, body, _ctype, _key = r = routes[(i + n) % len(routes)]
            n += 1
            try:
                conn.request(method, path, body=body, headers=_hdrs(r))
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    with lock:
                        errors.append(f"{method} {path}: {resp.status}")
            except OSError as exc:
                with lock:
                    errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        counts[i] = n
        conn.close()

    pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 60)
    return {"seconds": seconds, "threads": threads, "requests": sum(counts), "errors": len(errors),
            "first_errors": errors[:5], "routes": [f"{r[0]} {r[1]}" for r in routes]}


def _hdrs(route) -> dict:
    h = {"Authorization": f"Simple {route[4]}"}
    if route[3]:
        h["Content-Type"] = route[3]
    return h


# -------------------------------------------------------------------------------- main

def machine() -> dict:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        wrk_version = (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or [""])[0]
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform(),
            "load_generator": wrk_version or "python threaded", "server": _server_build(),
            "load_average_at_start": os.getloadavg()}


def _server_build() -> str:
    from importlib import metadata
    try:
        return f"waitress {metadata.version('waitress')}"
    except metadata.PackageNotFoundError:
        return "waitress (not installed)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=2.0,
                    help="seconds of load per round, scenario and server (default 2)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds per scenario, servers alternating (default 5: the median of 3 still moved by ±10 %%)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    ap.add_argument("--soak", action="store_true", help="also run the 30 s 8-thread soak against the mock")
    ap.add_argument("--soak-seconds", type=float, default=30.0)
    ap.add_argument("--no-prism", action="store_true", help="skip the Prism baseline")
    ap.add_argument("--only", default="", help="comma-separated scenario keys")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/latest.*")
    args = ap.parse_args(argv)
    seconds = max(1.0, args.duration)

    results: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                               "settings": {"duration_s": seconds, "rounds": args.rounds,
                                            "connections": args.connections,
                                            "server": "python -m mockserver.serving.serve (waitress, 1 process, 32 threads)"},
                               "servers": {}, "scenarios": {}, "notes": []}
    notes = results["notes"]
    print(f"machine: {results['machine']}", flush=True)

    inproc = inprocess_figures()
    results["inprocess"] = inproc
    print(f"in-process: {inproc}", flush=True)

    servers: dict[str, Server] = {}
    try:
        # start-up time: the plain Docker command (default fixtures), median of 3
        startups = []
        for _ in range(3):
            s = start_server("startup", SERVE + ["mockserver.serving.wsgi:app"], {"MOCKSERVER_LOG_LEVEL": "info"},
                             "/_mock/health")
            startups.append(s.startup_s)
            s.stop()
        results["startup_s"] = statistics.median(startups)
        print(f"start-up to first healthy response: {[round(x, 3) for x in startups]} s", flush=True)

        servers["mock"] = start_server("mock", SERVE + ["benchmarks.bench_wsgi:app"], mock_env(SMALL, True), "/_mock/health")
        servers["mock-quiet"] = start_server("mock-quiet", SERVE + ["benchmarks.bench_wsgi:app"],
                                             {**mock_env(SMALL, True), "MOCKSERVER_LOG_LEVEL": "warning"}, "/_mock/health")
        servers["mock-100k"] = start_server("mock-100k", SERVE + ["benchmarks.bench_wsgi:app"], mock_env(BIG, False),
                                            "/_mock/health", timeout=180)
        servers["bare"] = start_server("bare", SERVE + ["benchmarks.bare_app:app"], {"MOCKSERVER_LOG_LEVEL": "warning"}, "/")
        if args.no_prism:
            notes.append("Prism baseline skipped (--no-prism)")
        else:
            cmd, why = prism_command()
            if cmd is None:
                notes.append(f"Prism baseline skipped: {why}")
            else:
                try:
                    servers["prism"] = start_server("prism", cmd, {}, "/v1/organization/types", timeout=90)
                    servers["prism-quiet"] = start_server("prism-quiet", cmd + ["-v", "error"], {},
                                                          "/v1/organization/types", timeout=90)
                except RuntimeError as exc:
                    notes.append(f"Prism baseline skipped: could not start: {exc}")
        for name, s in servers.items():
            results["servers"][name] = {"startup_s": round(s.startup_s, 3), "port": s.port}

        # reset over HTTP (client round trip, sequential)
        lat = []
        for _ in range(50):
            t0 = time.perf_counter()
            status, _ = http_call(servers["mock"].port, "POST", "/_mock/reset",
                                  headers={"Content-Type": "application/json"})
            lat.append((time.perf_counter() - t0) * 1000)
            assert status == 200, status
        results["http_reset_ms"] = statistics.median(lat)


        # listing latency, sequential (no queueing): same page on 100 vs 100,000 users
        auth = {"Authorization": f"Simple {ADMIN}"}
        results["listing_latency"] = {
            "100": latency_probe(servers["mock"].port, "GET", "/v1/users?limit=50", auth),
            "100000": latency_probe(servers["mock-100k"].port, "GET", "/v1/users?limit=50", auth),
        }
        print(f"listing latency: {results['listing_latency']}", flush=True)

        # invocation overhead, sequential: a no-op callable in-process vs in a warm worker process
        # (issue 5: worker-process mode adds < 1 ms p50), with bare Flask's round trip for scale
        call = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}
        results["invoke_latency"] = {
            mode: latency_probe(servers["mock"].port, "POST", f"/v1/algo/demo/{algo}", call, n=300, body=b'"x"')
            for mode, algo in (("inprocess", "NoopInprocess"), ("process", "NoopProcess"))}
        results["invoke_latency"]["bare"] = latency_probe(servers["bare"].port, "POST", "/v1/algo/demo/NoopProcess",
                                                          call, n=300, body=b'"x"')
        print(f"invocation latency: {results['invoke_latency']}", flush=True)

        wanted = {k for k in args.only.split(",") if k}
        for sc in scenarios():
            if wanted and sc.key not in wanted:
                continue
            entry: dict[str, Any] = {"title": sc.title, "method": sc.method, "path": sc.path,
                                     "compare_by": sc.compare_by}
            results["scenarios"][sc.key] = entry
            conns = sc.connections or args.connections
            ready: dict[str, str] = {}          # role -> path to load
            for role in sc.roles():
                if role not in servers:
                    continue
                label = "mock" if role == "mock-100k" else role
                try:
                    path, why = probe(servers[role].port, sc, role)
                except OSError as exc:
                    path, why = None, f"probe failed: {exc}"
                if path is None:
                    entry[label] = {"skipped": why}
                    print(f"  {sc.key:18s} {label:6s} skipped: {why}", flush=True)
                    continue
                load(servers[role].port, sc, path, 1.0, conns)      # warm-up
                ready[role] = path
            # Rounds alternate the servers, so a slow spell of the shared machine hits
            # all of them; each server's median round is reported.
            rounds: dict[str, list[LoadResult]] = {role: [] for role in ready}
            for _ in range(args.rounds):
                for role, path in ready.items():
                    rounds[role].append(load(servers[role].port, sc, path, seconds, conns))
            for role, runs in rounds.items():
                label = "mock" if role == "mock-100k" else role
                r = median_round(runs)
                errors = sum(x.errors for x in runs)          # every round's, not only the median's
                entry[label] = {**r.as_dict(), "errors": errors, "path": ready[role],
                                "rounds_rps": [round(x.rps, 1) for x in runs]}
                print(f"  {sc.key:18s} {label:6s} {r.rps:9.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms"
                      f"  errors {errors}  rounds {[round(x.rps) for x in runs]}  ({ready[role]})", flush=True)

        # Memory of each server's whole process tree, after the load (issue 15: RSS, mock <= Prism)
        results["memory"] = {name: s.memory_mib() for name, s in servers.items()}
        results["rss_mib"] = {name: m and m["rss"] for name, m in results["memory"].items()}
        results["pss_mib"] = {name: m and m["pss"] for name, m in results["memory"].items()}
        for name, m in results["memory"].items():
            if m:
                print(f"memory after the benchmark, {name}: RSS {m['rss']:.0f} MiB, PSS {m['pss']:.0f} MiB, "
                      f"{len(m['processes'])} processes "
                      f"{[(round(p['rss']), round(p['pss'])) for p in m['processes']]}", flush=True)

        if args.soak:
            print(f"soak: {args.soak_seconds:.0f} s, 8 threads ...", flush=True)
            results["soak"] = soak(servers["mock"].port, args.soak_seconds, 8)
            print(f"soak: {results['soak']}", flush=True)
    finally:
        for s in servers.values():
            s.stop()

    # Other jobs on the machine move every figure: say how busy it was (1, 5, 15 min averages).
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if not args.no_write:      # the raw figures first: a bug in the report must not lose a run
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["targets"] = targets(results)
    table = render(results)
    print()
    print(table)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (RESULTS / "latest.md").write_text(table + "\n")
        update_readme(table)
    return 0 if all(t["pass"] is not False for t in results["targets"]) else 1


def _rps(entry: dict, who: str) -> float | None:
    v = entry.get(who) or {}
    return v.get("rps")


def targets(res: dict) -> list[dict]:
    out = []

    def add(name, value, goal, ok, note=""):
        out.append({"target": name, "value": value, "goal": goal, "pass": ok, "note": note})

    get = res["scenarios"].get("get_algorithm", {})
    m, b, p = _rps(get, "mock"), _rps(get, "bare"), _rps(get, "prism")
    route = (get.get("mock") or {}).get("path", "-")
    add("validated GET vs bare Flask", f"{m / b:.2f}x" if m and b else "n/a", ">= 0.50x",
        (m / b >= 0.5) if m and b else None, route)
    add("validated GET vs Prism", f"{m / p:.2f}x" if m and p else "n/a", ">= 1.00x",
        (m / p >= 1.0) if m and p else None, route)
    add("start-up to first healthy response", f"{res['startup_s']:.3f} s", "< 1.5 s", res["startup_s"] < 1.5)
    inp = res["inprocess"]
    add("reset (POST /_mock/reset round trip)", f"{res['http_reset_ms']:.2f} ms", "< 5 ms", res["http_reset_ms"] < 5)
    add("reset (in-process Store.reset / MockServer.reset)",
        f"{inp['store_reset_ms']:.3f} / {inp['server_reset_ms']:.3f} ms", "< 5 ms",
        max(inp["store_reset_ms"], inp["server_reset_ms"]) < 5)
    ll = res["listing_latency"]
    ratio = ll["100000"]["p50_ms"] / ll["100"]["p50_ms"]
    add("listing p50, 100,000 vs 100 users", f"{ratio:.2f}x ({ll['100']['p50_ms']:.2f} -> {ll['100000']['p50_ms']:.2f} ms)",
        "<= 2x", ratio <= 2.0)
    al = inp.get("algorithm_listing_ms")
    if al:
        small, big = (al[str(n)] for n in ALGORITHM_LISTING_SIZES)
        add("algorithm listing p50, owner with 10,000 vs 100 algorithms (in-process)",
            f"{big / small:.2f}x ({small:.2f} -> {big:.2f} ms)", "<= 2x", big / small <= 2.0)
    il = res.get("invoke_latency")
    if il:
        extra = il["process"]["p50_ms"] - il["inprocess"]["p50_ms"]
        add("worker-process invocation overhead over in-process (p50, sequential)", f"{extra:+.3f} ms "
            f"({il['inprocess']['p50_ms']:.2f} -> {il['process']['p50_ms']:.2f} ms; bare Flask round trip "
            f"{il['bare']['p50_ms']:.2f} ms)", "< 1 ms", extra < 1.0)
    worst = max(inp["validation_us"].items(), key=lambda kv: kv[1])
    add("validation CPU per request (gate.check - no-op)", f"{worst[1] / 1000:.3f} ms ({worst[0]})", "< 0.2 ms",
        worst[1] < 200, ", ".join(f"{k} {v:.0f} us" for k, v in inp["validation_us"].items()))
    for key, entry in res["scenarios"].items():
        m, p = _rps(entry, "mock"), _rps(entry, "prism")
        if m is None:
            add(f"throughput >= Prism: {key}", "not measured", ">= 1.00x", None,
                (entry.get("mock") or {}).get("skipped", ""))
        elif p is None:
            add(f"throughput >= Prism: {key}", f"{m:.0f} req/s", ">= 1.00x", None,
                (entry.get("prism") or {}).get("skipped", "no Prism figure"))
        elif p == 0:
            add(f"throughput >= Prism: {key}", f"{m:.0f} vs 0 req/s", ">= 1.00x", m > 0,
                "Prism completed no request in the run")
        elif entry.get("compare_by") == "response":
            mb, pb = entry["mock"].get("read_per_s", 0), entry["prism"].get("read_per_s", 0)
            per = entry["prism"].get("bytes_read", 0) / max(1, entry["prism"].get("requests", 1))
            add(f"throughput >= Prism: {key}", f"{mb / pb:.0f}x by bytes/s ({m / p:.2f}x by req/s)" if pb else "n/a",
                ">= 1.00x", (mb / pb >= 1.0) if pb else None,
                f"Prism answers its {per:.0f}-byte spec example, not the file: compared by response bytes/s")
        else:
            add(f"throughput >= Prism: {key}", f"{m / p:.2f}x", ">= 1.00x", m / p >= 1.0)
    out += pairing_targets(res)
    soak_res = res.get("soak")
    if soak_res:
        add("30 s soak, 8 threads, zero errors", f"{soak_res['requests']} req, {soak_res['errors']} errors", "0 errors",
            soak_res["errors"] == 0)
    return out


def pairing_targets(res: dict) -> list[dict]:
    """Issue 15: in both pairings, throughput >= Prism on GET, create and invoke; GET p99 <=
    1.5x Prism's; RSS of the whole process tree after the benchmark <= Prism's."""
    out = []
    rss = res.get("rss_mib") or {}
    for mock, prism, what in PAIRINGS:
        def add(name, value, goal, ok, note=""):
            out.append({"target": f"[{what}] {name}", "value": value, "goal": goal, "pass": ok, "note": note})
        for key in PAIRED_SCENARIOS:
            entry = res["scenarios"].get(key)
            if entry is None:
                continue
            m, p = _rps(entry, mock), _rps(entry, prism)
            add(f"throughput {key}", f"{m / p:.2f}x ({m:.0f} vs {p:.0f} req/s)" if m and p else "n/a", ">= 1.00x",
                (m / p >= 1.0) if m and p else None)
        get = res["scenarios"].get("get_algorithm") or {}
        mp, pp = (get.get(mock) or {}).get("p99_ms"), (get.get(prism) or {}).get("p99_ms")
        add("GET p99", f"{mp / pp:.2f}x ({mp:.1f} vs {pp:.1f} ms)" if mp and pp else "n/a", "<= 1.50x",
            (mp / pp <= 1.5) if mp and pp else None)
        mr, pr = rss.get(mock), rss.get(prism)
        ms, ps = (res.get("pss_mib") or {}).get(mock), (res.get("pss_mib") or {}).get(prism)
        add("RSS of the process tree after the benchmark", f"{mr:.0f} vs {pr:.0f} MiB" if mr and pr else "n/a",
            "<= Prism's", (mr <= pr) if mr and pr else None,
            f"PSS {ms:.0f} vs {ps:.0f} MiB, for information" if ms and ps else "")
    return out


def render(res: dict) -> str:
    mc = res["machine"]
    lines = [f"Date: {res['date']}  ",
             f"Machine: {mc['nproc']} CPUs, {mc['cpu']}; Python {mc['python']}; {mc['platform']}  ",
             f"Load: {mc['load_generator']}, {res['settings']['connections']} connections, "
             f"{res['settings'].get('rounds', 1)} rounds of {res['settings']['duration_s']:.0f} s per route and server "
             f"(servers alternating, median round shown); servers under `python -m mockserver.serving.serve` "
             f"({mc.get('server', 'waitress')}, 1 process, 32 threads), default install (no extras)  "]
    if mc.get("load_average_at_start") and mc.get("load_average_at_end"):
        lines.append("Machine load (load average over 1/5/15 min, on %d CPUs): %s at the start, %s at the end"
                     % (mc["nproc"], " / ".join(f"{x:.1f}" for x in mc["load_average_at_start"]),
                        " / ".join(f"{x:.1f}" for x in mc["load_average_at_end"])))
    lines.append("")
    lines += ["| route | mock req/s | p50 ms | p99 ms | errors | bare req/s | mock/bare | Prism req/s | mock/Prism |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, e in res["scenarios"].items():
        m, b, p = e.get("mock") or {}, e.get("bare") or {}, e.get("prism") or {}
        if "rps" not in m:
            lines.append(f"| {e['title']} | skipped: {m.get('skipped', 'not run')} | | | | | | | |")
            continue
        fmt = lambda d: f"{d['rps']:.0f}" if "rps" in d else "-"
        ratio = lambda d: f"{m['rps'] / d['rps']:.2f}x" if d.get("rps") else ("no answer" if "rps" in d else "-")
        path = m.get("path", e["path"])
        title = e["title"] + ("" if path == e["path"] else f" (via `{path}`)")
        prism_cell, prism_ratio = fmt(p), ratio(p)
        if e.get("compare_by") == "response" and p.get("requests") and p.get("read_per_s"):
            prism_cell += f" ({p['bytes_read'] / p['requests']:.0f}-byte answers)"
            prism_ratio = f"{m.get('read_per_s', 0) / p['read_per_s']:.0f}x by bytes/s"
        lines.append(f"| {title} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['errors']} | {fmt(b)} | "
                     f"{ratio(b)} | {prism_cell} | {prism_ratio} |")
    srv = res.get("servers", {})
    lines += ["", "| figure | value |", "|---|---:|",
              f"| start-up to first healthy response (mock, median of 3) | {res['startup_s']:.3f} s |"]
    for name in ("bare", "prism"):
        if name in srv:
            lines.append(f"| start-up ({name}) | {srv[name]['startup_s']:.3f} s |")
    lines += [f"| reset, POST /_mock/reset round trip (p50) | {res['http_reset_ms']:.2f} ms |",
              f"| reset, in-process Store.reset / MockServer.reset | {res['inprocess']['store_reset_ms']:.3f} / "
              f"{res['inprocess']['server_reset_ms']:.3f} ms |"]
    ll = res["listing_latency"]
    lines += [f"| listing page p50 (sequential), 100 users | {ll['100']['p50_ms']:.2f} ms |",
              f"| listing page p50 (sequential), 100,000 users | {ll['100000']['p50_ms']:.2f} ms |"]
    for n, ms in (res["inprocess"].get("algorithm_listing_ms") or {}).items():
        lines.append(f"| algorithm listing page p50 (in-process), owner with {int(n):,} algorithms | {ms:.2f} ms |")
    for name, m in (res.get("memory") or {}).items():
        if m:
            parts = " + ".join(f"{p['rss']:.0f}" for p in m["processes"])
            lines.append(f"| memory of the process tree after the benchmark, {name}: RSS (per process) / PSS "
                         f"| {m['rss']:.0f} MiB ({parts}) / {m['pss']:.0f} MiB |")
    for op, us in res["inprocess"]["validation_us"].items():
        lines.append(f"| validation CPU per request, {op} | {us:.0f} us |")
    if res.get("soak"):
        s = res["soak"]
        lines.append(f"| soak: {s['seconds']:.0f} s, {s['threads']} threads | {s['requests']} requests, {s['errors']} errors |")
    lines += ["", "| target | value | goal | result |", "|---|---|---|---|"]
    for t in res["targets"]:
        verdict = {True: "PASS", False: "**FAIL**", None: "n/a"}[t["pass"]]
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['value']}{note} | {t['goal']} | {verdict} |")
    if res["notes"]:
        lines += [""] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines)


def update_readme(table: str) -> None:
    readme = ROOT / "benchmarks" / "README.md"
    start, end = "<!-- latest:start -->", "<!-- latest:end -->"
    if not readme.exists():
        return
    text = readme.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    sys.exit(main())

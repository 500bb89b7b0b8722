"""Load generators: wrk with a generated Lua script per route (auth header, bodies, a unique
name per request for creates) or, without wrk, a bounded threaded Python client; sequential
probes on one keep-alive connection; the optional soak."""
from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from scenarios import ADMIN, DEMO, Scenario
from servers import http_call


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


def latency_probe(port: int, method: str, path: str, headers: dict, n: int = 200, body: bytes | None = None,
                  warmup: int = 0) -> dict:
    """``n`` sequential requests on one keep-alive connection (after ``warmup`` unmeasured ones):
    per-request latency without queueing, in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples, errors, status = [], 0, None
    try:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            took = (time.perf_counter() - t0) * 1000
            status = resp.status
            if i >= warmup:
                samples.append(took)
                errors += status >= 400
    finally:
        conn.close()
    samples.sort()
    return {"status": status, "n": n, "errors": errors, "p50_ms": statistics.median(samples),
            "p90_ms": percentile(samples, 0.90), "p99_ms": percentile(samples, 0.99),
            "mean_ms": statistics.fmean(samples), "max_ms": samples[-1]}


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted samples (nearest rank)."""
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


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

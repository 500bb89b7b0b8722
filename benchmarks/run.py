#!/usr/bin/env python
"""Benchmarks of algorithmia-mock against same-run baselines: issue 31's targets (see benchmarks/README.md).

    python benchmarks/run.py [--duration 2] [--rounds 5] [--connections 16] [--extended] [--soak]

Installs (installs.py, cached between runs) the mock as a user does (``pip install .``, no
extras; and the wheel alone for the Docker image's CMD), gunicorn beside the same Flask, and
Prism 5. Then, in one run:

1. in-process figures on the checkout's code (inprocess.py);
2. on idle servers (latency.py): start-up of ``mockserver`` and of the image's CMD, the
   reset round trip, 1,000 sequential worker-process invocations;
3. under load (wrk, or a bounded Python client), the servers taking turns round after round:
   ``mock`` (logging at info) and ``mock-quiet`` (warning), both ``python -m
   mockserver.serving.serve`` with the default sandbox + benchmarks/fixtures.yaml + 100 users,
   ``--invocations-per-key 0 --invocations-per-sandbox 16 --profile-scale 0``; bare Flask (benchmarks/bare_app.py) under the
   mock's own server and under gunicorn gthread (8 threads); Prism mocking
   openapi/algorithmia.yaml at its default logging and with ``-v error``;
4. each server's process-tree memory after the load.

Prints every target with PASS/FAIL and its figures (targets.py), writes
benchmarks/results/latest.{json,md} and the marked blocks of benchmarks/README.md and
docs/speed.md (report.py). Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import installs
import latency
import report
from load import LoadResult, load, median_round, soak
from scenarios import BARE, BIG, MOCK, MOCK_100K, MOCK_QUIET, PRISM, PRISM_QUIET, SMALL, probe, scenarios
from servers import ROOT, Server, base_env, start_server
from targets import targets

RESULTS = ROOT / "benchmarks" / "results"
GUNICORN_THREADS = 8


def machine() -> dict:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = ""
    if shutil.which("wrk"):
        wrk = (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or [""])[0]
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform(),
            "load_generator": wrk.split(" Copyright")[0] or "python threaded (wrk not installed)",
            "load_average_at_start": os.getloadavg()}


class Bench:
    """The installs and the commands and environments of every server."""

    def __init__(self):
        self.project = installs.project_venv()
        self.docker_cmd, self.docker_env = latency.dockerfile_cmd_and_env()
        self.docker = installs.docker_venv(self.docker_env)
        self.tools = installs.tools_venv(self.project)
        self.python_env = {**base_env(), "PYTHONPATH": installs.benchmarks_path()}
        origin = installs.imports_from(self.project, self.python_env)
        if not origin.startswith(str(self.project)):
            raise RuntimeError(f"the servers would import mockserver from {origin}, not from the install")
        self.default_fixture = subprocess.run(
            [str(self.project / "bin" / "python"), "-c", "from mockserver.fixtures import default_fixture as d; print(d())"],
            capture_output=True, text=True, check=True, env=self.python_env, cwd="/").stdout.strip()
        self.versions = {**installs.versions(self.project, "algorithmia-mock", "waitress", "flask", "werkzeug"),
                         **installs.versions(self.tools, "gunicorn")}
        self.threads = subprocess.run(
            [str(self.project / "bin" / "python"), "-c", "from mockserver.settings import Settings; print(Settings().threads)"],
            capture_output=True, text=True, check=True, env=self.python_env, cwd="/").stdout.strip()

    def serve(self, app: str) -> list[str]:
        return [str(self.project / "bin" / "python"), "-m", "mockserver.serving.serve", app]

    def mock_env(self, users: int, baseline: bool, level: str) -> dict[str, str]:
        return {**self.python_env, "BENCH_USERS": str(users), "BENCH_BASELINE": "1" if baseline else "0",
                "MOCKSERVER_FIXTURES": os.pathsep.join([self.default_fixture, str(latency.BENCH_FIXTURES)]),
                "MOCKSERVER_LOG_LEVEL": level, "MOCKSERVER_PROFILE_SCALE": "0",
                # One client key on 16 connections: with the default caps of 8 concurrent calls per
                # key and 12 per sandbox, part of every invocation round would be 429s. Measure the
                # calls, not the caps (Prism has none); the server-wide bound still fits 16 connections.
                "MOCKSERVER_INVOCATIONS_PER_KEY": "0", "MOCKSERVER_INVOCATIONS_PER_SANDBOX": "16"}

    def describe(self) -> tuple[str, str]:
        v = self.versions
        install = (f"algorithmia-mock {v['algorithmia-mock']} by `pip install .` (no extras) into a fresh venv; the "
                   f"image's CMD from the wheel alone (`pip wheel --no-deps`, `pip install` of it)")
        servers = (f"mock and bare Flask {v['flask']} (Werkzeug {v['werkzeug']}) under `python -m mockserver.serving.serve` "
                   f"(waitress {v['waitress']}, 1 process, {self.threads} threads on one CPU: the defaults, `--cpu auto`); bare Flask under gunicorn {v['gunicorn']} gthread "
                   f"(1 worker, {GUNICORN_THREADS} threads); Prism {installs.prism_version()} (`prism mock "
                   f"openapi/algorithmia.yaml`, default logging and `-v error`)")
        return install, servers


def idle_figures(bench: Bench, results: dict) -> None:
    """Start-up, reset and sequential invocation latency (latency.py), before any load."""
    figures = results["latency"] = {"startup": {}}
    plain = [str(bench.project / "bin" / "mockserver")]
    latency.startup("warm-up", plain, base_env(), runs=1)           # the first start compiles the spec cache
    figures["startup"]["`mockserver`"], server = latency.startup("mockserver", plain, base_env(), keep_last=True)
    try:
        figures["reset"] = latency.reset_round_trip(server.port)
    finally:
        server.stop()
    cmd = bench.docker_cmd
    env = {**base_env(), **bench.docker_env, "PATH": f"{bench.docker / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    steps = [[str(bench.docker / "bin" / step[0]), *step[1:]] for step in latency.dockerfile_build_steps()]
    figures["startup"]["the image's CMD from the wheel (a new container: the home the image's build left)"], _ = \
        latency.startup("docker-cmd", [str(bench.docker / "bin" / cmd[0]), *cmd[1:]], env, fresh_home=True,
                        prepare=steps)
    results["startup_info"] = {"`mockserver` with an empty cache directory": latency.startup(
        "cold", plain, base_env(), runs=3, fresh_home=True)[0]}
    server = start_server("invoke", bench.serve("benchmarks.bench_wsgi:app"), bench.mock_env(0, False, "info"),
                          "/_mock/health")
    try:
        figures["invoke"] = latency.invoke_latency(server.port)
    finally:
        server.stop()
    print(f"idle: {json.dumps(figures)}", flush=True)


def start_servers(bench: Bench, args, notes: list[str]) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    bare = bench.python_env
    servers[MOCK] = start_server(MOCK, bench.serve("benchmarks.bench_wsgi:app"), bench.mock_env(SMALL, True, "info"),
                                 "/_mock/health")
    servers[MOCK_QUIET] = start_server(MOCK_QUIET, bench.serve("benchmarks.bench_wsgi:app"),
                                       bench.mock_env(SMALL, True, "warning"), "/_mock/health")
    if args.extended:
        servers[MOCK_100K] = start_server(MOCK_100K, bench.serve("benchmarks.bench_wsgi:app"),
                                          bench.mock_env(BIG, False, "warning"), "/_mock/health", timeout=180)
    servers[BARE[0]] = start_server(BARE[0], bench.serve("benchmarks.bare_app:app"),
                                    {**bare, "MOCKSERVER_LOG_LEVEL": "warning"}, "/")
    servers[BARE[1]] = start_server(BARE[1], [str(bench.tools / "bin" / "gunicorn"), "-k", "gthread", "--threads",
                                              str(GUNICORN_THREADS), "-w", "1", "-b", "127.0.0.1:{port}",
                                              "benchmarks.bare_app:app"], bare, "/")
    if args.no_prism:
        notes.append("Prism baseline skipped (--no-prism)")
        return servers
    cmd, why = installs.prism_command()
    if cmd is None:
        notes.append(f"Prism baseline skipped: {why}")
        return servers
    try:
        servers[PRISM] = start_server(PRISM, cmd, base_env(), "/v1/organization/types", timeout=120)
        servers[PRISM_QUIET] = start_server(PRISM_QUIET, cmd + ["-v", "error"], base_env(), "/v1/organization/types",
                                            timeout=120)
    except RuntimeError as exc:
        notes.append(f"Prism baseline skipped: could not start: {exc}")
    return servers


def run_scenarios(servers: dict[str, Server], args, results: dict) -> None:
    wanted = {k for k in args.only.split(",") if k}
    seconds = max(1.0, args.duration)
    for sc in scenarios():
        if (wanted and sc.key not in wanted) or (sc.extended and not args.extended and sc.key not in wanted):
            continue
        entry: dict[str, Any] = {"title": sc.title, "method": sc.method, "path": sc.path, "compare_by": sc.compare_by}
        results["scenarios"][sc.key] = entry
        conns = sc.connections or args.connections
        ready: dict[str, str] = {}          # role -> path to load
        for role in sc.roles():
            if role not in servers:
                continue
            label = MOCK if role == MOCK_100K else role
            try:
                path, why = probe(servers[role].port, sc, role)
            except OSError as exc:
                path, why = None, f"probe failed: {exc}"
            if path is None:
                entry[label] = {"skipped": why}
                print(f"  {sc.key:18s} {label:13s} skipped: {why}", flush=True)
                continue
            load(servers[role].port, sc, path, 1.0, conns)      # warm-up
            ready[role] = path
        # Rounds alternate the servers, so a slow spell of the shared machine hits all of them.
        rounds: dict[str, list[LoadResult]] = {role: [] for role in ready}
        for _ in range(args.rounds):
            for role, path in ready.items():
                rounds[role].append(load(servers[role].port, sc, path, seconds, conns))
        for role, runs in rounds.items():
            label = MOCK if role == MOCK_100K else role
            r = median_round(runs)
            errors = sum(x.errors for x in runs)          # every round's, not only the median's
            entry[label] = {**r.as_dict(), "errors": errors, "path": ready[role],
                            "rounds_rps": [round(x.rps, 1) for x in runs]}
            print(f"  {sc.key:18s} {label:13s} {r.rps:7.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms"
                  f"  errors {errors}  rounds {[round(x.rps) for x in runs]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds of load per round, route and server (2)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per route, servers alternating (5)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    ap.add_argument("--extended", action="store_true",
                    help="also the data and listing routes (and the mock with 100,000 users)")
    ap.add_argument("--soak", action="store_true", help="also a 30 s 8-thread soak against the mock")
    ap.add_argument("--soak-seconds", type=float, default=30.0)
    ap.add_argument("--no-prism", action="store_true", help="skip the Prism baseline")
    ap.add_argument("--no-idle", action="store_true", help="skip start-up, reset and sequential invoke latency")
    ap.add_argument("--only", default="", help="comma-separated route keys")
    ap.add_argument("--no-write", action="store_true", help="write no results, README or docs block")
    args = ap.parse_args(argv)

    results: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                               "settings": {"duration_s": max(1.0, args.duration), "rounds": args.rounds,
                                            "connections": args.connections},
                               "scenarios": {}, "notes": []}
    print(f"machine: {results['machine']}", flush=True)
    bench = Bench()
    results["install"], results["servers_text"] = bench.describe()
    results["versions"] = bench.versions
    print(f"installs: {bench.versions}", flush=True)

    # In-process figures import the checkout's code: only after the installs are checked.
    import inprocess
    results["inprocess"] = inprocess.inprocess_figures()
    print(f"in-process: {results['inprocess']}", flush=True)
    if not args.no_idle:
        idle_figures(bench, results)

    servers: dict[str, Server] = {}
    try:
        servers = start_servers(bench, args, results["notes"])
        results["servers"] = {name: {"startup_s": round(s.startup_s, 3)} for name, s in servers.items()}
        run_scenarios(servers, args, results)
        results["memory"] = {name: s.memory_mib() for name, s in servers.items()}
        for name, m in results["memory"].items():
            if m:
                print(f"memory after the load, {name}: RSS {m['rss']:.0f} MiB, PSS {m['pss']:.0f} MiB, "
                      f"{[(round(p['rss']), round(p['pss'])) for p in m['processes']]}", flush=True)
        if args.soak:
            results["soak"] = soak(servers[MOCK].port, args.soak_seconds, 8)
            print(f"soak: {results['soak']}", flush=True)
    finally:
        for s in servers.values():
            s.stop()

    results["machine"]["load_average_at_end"] = os.getloadavg()
    if not args.no_write:      # the raw figures first: a bug in the report must not lose a run
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["targets"] = targets(results)
    table = report.render(results)
    print()
    print(table)
    if not args.no_write:
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (RESULTS / "latest.md").write_text(table + "\n")
        report.write(results, table)
    return 0 if all(t["pass"] is not False for t in results["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Issue 31's latency targets, as a test suite feels them (run.py and timings.py both use these):

- start-up to the first healthy answer (``GET /_mock/health`` 200) <= 1.0 s, for the plain
  ``mockserver`` command and for the Docker image's CMD run from a wheel install (with the
  Dockerfile's ENV and a new home where the Dockerfile's build steps ran, as a new container has);
- ``POST /_mock/reset`` round trip <= 2 ms (median of sequential resets on one connection);
- one worker-process invocation of a no-op on an idle server, 1,000 sequential calls on one
  keep-alive connection: p50 <= 2 ms, p99 <= 5 ms.
"""
from __future__ import annotations

import json
import re
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

from load import latency_probe
from scenarios import DEMO
from servers import ROOT, Server, start_server

STARTUP_MAX_S = 1.0
RESET_MAX_MS = 2.0
INVOKE_P50_MAX_MS, INVOKE_P99_MAX_MS = 2.0, 5.0
INVOKE_CALLS = 1000
BENCH_FIXTURES = ROOT / "benchmarks" / "fixtures.yaml"       # NoopProcess: a no-op in a worker process


def dockerfile_cmd_and_env() -> tuple[list[str], dict[str, str]]:
    """The image's CMD (exec form) and the variables its ENV sets, read from the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD\s+(\[.*\])\s*$", text, re.M).group(1))
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", text, re.M):
        for name, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
            env[name] = value
    return cmd, env


def dockerfile_build_steps() -> list[list[str]]:
    """The Dockerfile's ``RUN python ...`` steps after its ``USER`` (they fill the mock user's
    home in the image, e.g. the compiled-spec cache), each as an argv."""
    text = (ROOT / "Dockerfile").read_text()
    after_user = text[re.search(r"^USER\s", text, re.M).start():]
    return [shlex.split(line) for line in re.findall(r"^RUN\s+(python\s.*)$", after_user, re.M)]


def startup(name: str, argv: list[str], env: dict[str, str], runs: int = 5, fresh_home: bool = False,
            keep_last: bool = False, prepare: list[list[str]] = ()) -> tuple[dict, Server | None]:
    """Start ``argv`` ``runs`` times; seconds from process start to the first healthy answer
    (and the CPU seconds the process tree had spent by then). ``fresh_home``: an empty HOME and
    cache directory for each start, where the ``prepare`` commands run first (unmeasured: the image's
    build steps). ``keep_last``: the last server is returned running."""
    walls, cpus, kept = [], [], None
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
            run_env = {**env, "HOME": home, "XDG_CACHE_HOME": str(Path(home) / ".cache")} if fresh_home else env
            for step in prepare:
                subprocess.run(step, env=run_env, cwd=home, check=True, stdout=subprocess.DEVNULL, timeout=120)
            server = start_server(name, argv, run_env, "/_mock/health", healthy=lambda s: s == 200)
            walls.append(server.startup_s)
            cpus.append(server.startup_cpu_s)
            if keep_last and i == runs - 1:
                kept = server
            else:
                server.stop()
    return {"runs_s": [round(x, 3) for x in walls], "median_s": statistics.median(walls), "min_s": min(walls),
            "cpu_median_s": statistics.median(cpus), "fresh_home": fresh_home}, kept


def reset_round_trip(port: int, n: int = 200) -> dict:
    """Sequential ``POST /_mock/reset`` on one keep-alive connection (the plugin's reset between tests)."""
    return latency_probe(port, "POST", "/_mock/reset", {"Content-Type": "application/json"}, n=n, warmup=10)


def invoke_latency(port: int, n: int = INVOKE_CALLS) -> dict:
    """``n`` sequential calls of the worker-process no-op (after 50 that start and warm its worker)."""
    headers = {"Authorization": f"Simple {DEMO}", "Content-Type": "application/json"}
    return latency_probe(port, "POST", "/v1/algo/demo/NoopProcess", headers, n=n, body=b'"x"', warmup=50)


def targets(figures: dict) -> list[dict]:
    """PASS/FAIL lines for whatever of ``figures`` was measured: ``startup`` {label: startup()},
    ``reset`` reset_round_trip(), ``invoke`` invoke_latency()."""
    out = []

    def add(name, value, goal, ok, note=""):
        out.append({"target": name, "value": value, "goal": goal, "pass": ok, "note": note})

    for label, s in (figures.get("startup") or {}).items():
        add(f"start-up to the first healthy answer, {label} (median of {len(s['runs_s'])})",
            f"{s['median_s']:.3f} s", f"<= {STARTUP_MAX_S:.1f} s", s["median_s"] <= STARTUP_MAX_S,
            f"runs {s['runs_s']} s; CPU of the process tree by then {s['cpu_median_s']:.2f} s")
    r = figures.get("reset")
    if r:
        add("reset, POST /_mock/reset round trip (median)", f"{r['p50_ms']:.2f} ms", f"<= {RESET_MAX_MS:g} ms",
            r["p50_ms"] <= RESET_MAX_MS, f"p90 {r['p90_ms']:.2f} ms, {r['n']} resets, {r['errors']} errors")
    inv = figures.get("invoke")
    if inv:
        note = f"{inv['n']} sequential calls, one keep-alive connection, {inv['errors']} errors"
        add("worker-process invoke on an idle server, p50", f"{inv['p50_ms']:.2f} ms", f"<= {INVOKE_P50_MAX_MS:g} ms",
            inv["p50_ms"] <= INVOKE_P50_MAX_MS and not inv["errors"], note)
        add("worker-process invoke on an idle server, p99", f"{inv['p99_ms']:.2f} ms", f"<= {INVOKE_P99_MAX_MS:g} ms",
            inv["p99_ms"] <= INVOKE_P99_MAX_MS and not inv["errors"], note)
    return out

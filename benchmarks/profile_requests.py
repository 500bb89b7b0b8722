"""Where a request's time goes, in-process: cProfile over the WSGI app, called as a server calls it.

    python benchmarks/profile_requests.py                       # every route below, 2,000 requests each
    python benchmarks/profile_requests.py --route create_algorithm --count 5000 --top 40

Builds the app as the benchmark's mock (default sandbox + benchmarks/fixtures.yaml, logging at
warning, --profile-scale 0, no per-key cap), sends the route's request ``--count`` times
after a warm-up, and prints the CPU time per request grouped by area (the mock's packages,
Flask, Werkzeug, the standard library, ...) and the functions with the most own time.
Each request is the app called with a prebuilt WSGI environ (a copy, with a fresh body
stream), as waitress calls it: Flask's test client would add about 1 ms of its own per
request. The HTTP server's share is not here: for it, use py-spy on a served mock
(benchmarks/README.md, "Profiles").
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import io
import json
import pstats
import sys
import time

from scenarios import ALGO_SETTINGS, DEMO
from servers import ROOT

sys.path.insert(0, str(ROOT))

from werkzeug.test import EnvironBuilder  # noqa: E402

from mockserver.app import create_app  # noqa: E402
from mockserver.fixtures import default_fixture  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

AUTH = {"Authorization": f"Simple {DEMO}"}
# route: (method, path, body of request i)
ROUTES = {
    "get_algorithm": ("GET", "/v1/algorithms/demo/BenchGet", None),
    "create_algorithm": ("POST", "/v1/algorithms/demo", lambda i, _body=json.dumps(
        {"name": "P__I__", "details": {"label": "bench"}, "settings": ALGO_SETTINGS}).encode(): _body.replace(
        b"__I__", str(i).encode())),
    "invoke_inprocess": ("POST", "/v1/algo/demo/NoopInprocess", lambda i: b'"hello"'),
    "invoke_process": ("POST", "/v1/algo/demo/NoopProcess", lambda i: b'"hello"'),
}


def sender(app, route: str):
    """``send(i) -> status``: request ``i`` of the route through the WSGI app."""
    method, path, body = ROUTES[route]
    headers = {**AUTH, **({"Content-Type": "application/json"} if body else {})}
    base = EnvironBuilder(path=path, method=method, headers=headers, base_url="http://127.0.0.1:8080").get_environ()
    status: list[str] = []

    def start_response(line, _headers, _exc_info=None):
        status.append(line)

    def send(i) -> int:
        env = dict(base)
        data = body(i) if body else b""
        env["wsgi.input"], env["CONTENT_LENGTH"] = io.BytesIO(data), str(len(data))
        status.clear()
        result = app(env, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            getattr(result, "close", lambda: None)()
        return int(status[0].split()[0])
    return send


def area(filename: str) -> str:
    """The package a function belongs to, mockserver's by sub-package."""
    if "/mockserver/" in filename:
        parts = filename.split("/mockserver/", 1)[1].split("/")
        return "mockserver." + (parts[0] if len(parts) > 1 else parts[0].removesuffix(".py"))
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if filename.startswith("<") or filename == "~":
        return "builtins (C)"
    return "stdlib:" + filename.rsplit("/", 1)[-1].removesuffix(".py")


def profile(app, route: str, count: int, top: int) -> None:
    send = sender(app, route)
    for i in range(200):                                   # warm-up: workers, caches
        assert send(f"w{i}") == 200
    started = time.process_time()
    for i in range(count):
        send(f"u{i}")
    plain = (time.process_time() - started) / count * 1e6
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for i in range(count):
        send(i)
    prof.disable()
    stats = pstats.Stats(prof)
    by_area: collections.Counter = collections.Counter()
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        by_area[area(filename)] += tottime
        total += tottime
    print(f"\n## {route}: {plain:.0f} us CPU per request in this process (without the profiler)\n")
    print("| area | share of own time |\n|---|---:|")
    for name, t in by_area.most_common(14):
        print(f"| {name} | {100 * t / total:.1f} % |")
    cumulative = sorted(((ct, f"{area(fn)}:{name}") for (fn, _l, name), (_cc, _nc, _tt, ct, _c) in stats.stats.items()
                         if "/mockserver/" in fn), reverse=True)
    print("\nThe mock's functions by cumulative time (share of the request, callees included):\n")
    print("| function | share |\n|---|---:|")
    for ct, name in cumulative[:top]:
        print(f"| {name} | {100 * ct / total:.1f} % |")
    print("\nFunctions by own time:\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.print_callers(r"copy.py.*\(copy\)|encoder.py.*\(iterencode\)|uuid.py.*\(__init__\)|strftime")


def build_app():
    """The benchmark's quiet mock (run.py's ``mock-quiet``), as an app in this process."""
    settings = Settings(profile_scale=0.0, log_level="warning", invocations_per_key=0,
                        fixtures=[str(default_fixture()), str(ROOT / "benchmarks" / "fixtures.yaml")])
    return create_app(settings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--route", action="append", choices=sorted(ROUTES), help="repeatable; default: all")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    app = build_app()
    try:
        for route in args.route or list(ROUTES):
            profile(app, route, args.count, args.top)
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()
    print(json.dumps({"routes": args.route or list(ROUTES), "count": args.count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

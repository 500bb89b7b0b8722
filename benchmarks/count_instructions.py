"""Instructions per request, in-process, under callgrind: a figure that a loaded machine does not move.

    python benchmarks/count_instructions.py                          # every route, 300 requests each
    python benchmarks/count_instructions.py --route create_algorithm --count 500
    python benchmarks/count_instructions.py --bare        # bare Flask (bare_app.py) answering the same requests

The app and the requests are profile_requests.py's (the benchmark's mock, the WSGI app called
with a prebuilt environ). Each route runs twice in its own process under
``valgrind --tool=callgrind`` with ``PYTHONHASHSEED=0``: set-up and a warm-up, then ``--count``
requests in one run and none in the other; the difference of the two runs' totals divided by
``--count`` is the figure. (Dumping the counters around the measured requests, at a marker call,
was split at times by the same call made elsewhere in the process.) Worker processes are started
with exec and not traced: the figure is the server process's own work. Needs valgrind on PATH;
about two minutes per route.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def inner(route: str, count: int, bare: bool) -> None:
    from profile_requests import ROUTES, build_app, sender   # noqa: the measured process only
    if bare:
        from bare_app import app
        app.extensions["mockserver"] = _NoServer()
    else:
        app = build_app()
    try:
        send = sender(app, route)
        for i in range(100):
            assert send(f"w{i}") == 200
        for i in range(count):
            send(i)
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()
    assert ROUTES


class _NoServer:
    class ctx:
        class engine:
            @staticmethod
            def shutdown():
                pass


def measure(route: str, count: int, bare: bool = False) -> float:
    return (_run(route, count, bare) - _run(route, 0, bare)) / count


def _run(route: str, count: int, bare: bool) -> int:
    """Instructions of one whole run of :func:`inner` under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
               "--trace-children=no", sys.executable, os.path.abspath(__file__),
               "--inner", route, "--count", str(count), *(["--bare"] if bare else [])]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE,
                       env={**os.environ, "PYTHONHASHSEED": "0"})
        return sum(_total(path) for path in glob.glob(out + "*"))


def _total(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {path}")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, HERE)
    from profile_requests import ROUTES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--route", action="append", choices=sorted(ROUTES), help="repeatable; default: all")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--bare", action="store_true", help="bare Flask (bare_app.py) with the routes' requests: the floor")
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        inner(args.inner, args.count, args.bare)
        return 0
    results = {}
    for route in args.route or list(ROUTES):
        results[route] = round(measure(route, args.count, args.bare))
        print(f"{route}: {results[route]:,} instructions per request ({args.count} requests)", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

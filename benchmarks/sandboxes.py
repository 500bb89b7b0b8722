"""Sandbox creation time and memory per idle sandbox, against the targets of issue 20.

    python benchmarks/sandboxes.py               # 1,000 sandboxes, ~10-30 s on 2 cores
    python benchmarks/sandboxes.py --count 200

One process, the bundled fixtures, no HTTP server: creation through the registry
(what ``POST /_mock/sandboxes`` calls) and through the Flask test client (the whole
control request), then the resident set size (``/proc/self/statm``) after creating
``--count`` sandboxes, and again after one API request in each (a sandbox copies its
baseline state on first use). Targets: creation under 5 ms; 1,000 idle sandboxes
under 500 MB (the figure is the whole process: the app and its fixtures included).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.app import create_app  # noqa: E402
from mockserver.settings import Settings  # noqa: E402
from mockserver.control.sandboxes import rss_bytes  # noqa: E402

MB = 1024 * 1024
DEMO = {"Authorization": "Simple simDemoSandboxKey0000000000"}


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="idle sandboxes to hold (default 1000)")
    args = parser.parse_args(argv)
    count = max(args.count, 1)

    app = create_app(Settings(profile_scale=0.0, log_level="warning", sandbox_max=count + 200,
                              sandbox_memory_mb=0, sandbox_ttl=0))
    registry = app.extensions["mockserver.sandboxes"]
    client = app.test_client()
    client.get("/v1/data/.my", headers=DEMO)             # warm the request path
    gc.collect()
    rss_app = rss_bytes()

    created, direct = [], []
    for _ in range(count):
        started = time.perf_counter()
        created.append(registry.create())
        direct.append(time.perf_counter() - started)
    gc.collect()
    rss_created = rss_bytes()

    first = []
    for sandbox in created:
        started = time.perf_counter()
        response = client.get(f"/sandboxes/{sandbox.id}/v1/data/.my", headers=DEMO)
        first.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data()
    gc.collect()
    rss_used = rss_bytes()
    later = []
    for sandbox in created[:200]:
        started = time.perf_counter()
        client.get(f"/sandboxes/{sandbox.id}/v1/data/.my", headers=DEMO)
        later.append(time.perf_counter() - started)

    over_http = []
    for _ in range(50):
        started = time.perf_counter()
        response = client.post("/_mock/sandboxes", headers={"Content-Type": "application/json"})
        over_http.append(time.perf_counter() - started)
        assert response.status_code == 201, response.get_data()
    registry.close_all()

    create_ms = _median_ms(direct)
    print(f"sandboxes: {count}, bundled fixtures, Python {sys.version.split()[0]}")
    print(f"creation, in-process (registry.create): median {create_ms:.3f} ms, "
          f"p90 {sorted(direct)[int(len(direct) * 0.9)] * 1000:.3f} ms  target < 5 ms: "
          f"{'PASS' if create_ms < 5 else 'FAIL'}")
    print(f"creation, POST /_mock/sandboxes (Flask test client): median {_median_ms(over_http):.3f} ms")
    print(f"first API request in a new sandbox (copies its state): median {_median_ms(first):.3f} ms; "
          f"later requests: median {_median_ms(later):.3f} ms")
    if rss_app is None:
        print("RSS: /proc/self/statm is not readable here")
        return 0
    per_created = (rss_created - rss_app) / count / 1024
    per_used = (rss_used - rss_app) / count / 1024
    projected = (rss_app + (rss_used - rss_app) * 1000 / count) / MB
    print(f"RSS: app {rss_app / MB:.1f} MB; +{per_created:.1f} KiB per created sandbox; "
          f"+{per_used:.1f} KiB per sandbox after one request each; total {rss_used / MB:.1f} MB")
    print(f"1,000 idle (used once) sandboxes: {projected:.1f} MB of process RSS  target < 500 MB: "
          f"{'PASS' if projected < 500 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

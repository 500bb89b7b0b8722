"""Figures measured in this process on the checkout's code (no server, no HTTP): validation CPU
per request, in-process reset, and the algorithm listing on an owner with 100 vs 10,000 algorithms."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import statistics
import sys
import time
from typing import Any

from scenarios import ADMIN, ALGO_SETTINGS, DEMO
from servers import ROOT

sys.path.insert(0, str(ROOT))

from werkzeug.datastructures import Headers, MultiDict  # noqa: E402

from mockserver.app import create_app  # noqa: E402
from mockserver.edge import gate  # noqa: E402
from mockserver.fixtures import default_fixture  # noqa: E402
from mockserver.settings import Settings  # noqa: E402


ALGORITHM_LISTING_SIZES = (100, 10_000)


def _algorithm_listing_ms(app, pages: int = 200) -> dict[str, float]:
    """p50 of one page (50) of GET /v1/users/{owner}/algorithms, for an owner with 100 and
    one with 10,000 algorithms: copies of a created algorithm put straight into the store."""
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

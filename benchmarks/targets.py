"""Issue 31's targets, judged from one run's figures (PASS/FAIL with the figures behind each).

Throughput: the quiet mock (logging at warning) against bare Flask, whose figure per route is
the faster of bare Flask under the mock's own server (waitress) and under gunicorn gthread
(8 threads); both mocks against Prism in their pairing (scenarios.PAIRINGS). GET p99 and the
RSS of each server's whole process tree against Prism's, in both pairings. The latency targets
are latency.py's.
"""
from __future__ import annotations

import latency
from scenarios import BARE, MOCK_QUIET, PAIRINGS

VS_BARE = {"get_algorithm": 0.9, "create_algorithm": 0.9, "invoke_inprocess": 0.8, "invoke_process": 0.7}
VS_PRISM = 1.2
PAIRED = tuple(VS_BARE)


def rps(entry: dict, role: str) -> float | None:
    return (entry.get(role) or {}).get("rps")


def bare_baseline(entry: dict) -> tuple[float | None, str]:
    """The faster bare Flask of the route: (req/s, role)."""
    found = [(rps(entry, role), role) for role in BARE if rps(entry, role)]
    return max(found) if found else (None, "")


def targets(res: dict) -> list[dict]:
    out: list[dict] = []

    def add(name, value, goal, ok, note=""):
        out.append({"target": name, "value": value, "goal": goal, "pass": ok, "note": note})

    scenarios = res.get("scenarios", {})
    for key, goal in VS_BARE.items():
        entry = scenarios.get(key)
        if entry is None:
            continue
        m = rps(entry, MOCK_QUIET)
        b, which = bare_baseline(entry)
        others = ", ".join(f"{role} {rps(entry, role):.0f}" for role in BARE if rps(entry, role))
        add(f"quiet mock vs bare Flask: {key}", f"{m / b:.2f}x ({m:.0f} vs {b:.0f} req/s, {which})" if m and b else "n/a",
            f">= {goal:.1f}x", (m / b >= goal) if m and b else None, f"bare: {others}" if others else "")
    memory = res.get("memory") or {}
    for mock, prism, what in PAIRINGS:
        for key in PAIRED:
            entry = scenarios.get(key)
            if entry is None:
                continue
            m, p = rps(entry, mock), rps(entry, prism)
            add(f"[{what}] vs Prism: {key}", f"{m / p:.2f}x ({m:.0f} vs {p:.0f} req/s)" if m and p else "n/a",
                f">= {VS_PRISM:.1f}x", (m / p >= VS_PRISM) if m and p else None)
        get = scenarios.get("get_algorithm") or {}
        mp, pp = (get.get(mock) or {}).get("p99_ms"), (get.get(prism) or {}).get("p99_ms")
        add(f"[{what}] GET p99 vs Prism's", f"{mp:.1f} vs {pp:.1f} ms" if mp and pp else "n/a", "<= Prism's",
            (mp <= pp) if mp and pp else None)
        mm, pm = memory.get(mock), memory.get(prism)
        add(f"[{what}] RSS of the process tree after the load vs Prism's",
            f"{mm['rss']:.0f} vs {pm['rss']:.0f} MiB" if mm and pm else "n/a", "<= Prism's",
            (mm["rss"] <= pm["rss"]) if mm and pm else None,
            f"PSS {mm['pss']:.0f} vs {pm['pss']:.0f} MiB, for information" if mm and pm else "")
    out += latency.targets(res.get("latency") or {})
    soak = res.get("soak")
    if soak:
        add("30 s soak, 8 threads, zero errors", f"{soak['requests']} req, {soak['errors']} errors", "0 errors",
            soak["errors"] == 0)
    return out

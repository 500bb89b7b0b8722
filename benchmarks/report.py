"""A run's figures as Markdown: benchmarks/results/latest.md, the "Latest results" block of
benchmarks/README.md, the "Latest run" block of docs/speed.md and the "Speed" block of README.md
(marked blocks, replaced whole)."""
from __future__ import annotations

from scenarios import BARE, MOCK, MOCK_QUIET, PRISM, PRISM_QUIET
from servers import ROOT
from targets import PAIRED, bare_baseline, rps

ROLES = (MOCK, MOCK_QUIET, *BARE, PRISM, PRISM_QUIET)
VERDICT = {True: "PASS", False: "**FAIL**", None: "n/a"}


QUIET_LOAD = 1.0     # a 1-minute load average below this at the start counts as a quiet machine


def quiet(machine: dict) -> bool:
    """The machine was quiet when the run started (the load at its end is mostly the run's own:
    wrk and the servers keep about three of two CPUs' run queues busy)."""
    start = machine.get("load_average_at_start") or []
    return bool(start) and start[0] < QUIET_LOAD


def header(res: dict) -> list[str]:
    mc, st = res["machine"], res["settings"]
    load = lambda xs: " / ".join(f"{x:.1f}" for x in xs)
    return [f"Date: {res['date']}  ",
            f"Machine: {mc['nproc']} CPUs ({mc['cpu']}), Python {mc['python']}, {mc['platform']}; "
            f"load average (1/5/15 min) {load(mc['load_average_at_start'])} at the start, "
            f"{load(mc.get('load_average_at_end') or [])} at the end (the run's own load included)"
            f"{'' if quiet(mc) else '; other jobs shared the machine: figures are noisy'}  ",
            f"Install: {res['install']}  ",
            f"Servers: {res['servers_text']}  ",
            f"Load: {mc['load_generator']}, {st['connections']} connections, {st['rounds']} rounds of "
            f"{st['duration_s']:.0f} s per route and server, the servers taking turns; each server's median round  "]


def route_table(res: dict, keys=None) -> list[str]:
    lines = ["| route | " + " | ".join(ROLES) + " | quiet/bare | info/Prism | quiet/Prism -v error |",
             "|---|" + "---:|" * (len(ROLES) + 3)]
    for key, e in res["scenarios"].items():
        if keys and key not in keys:
            continue
        cells = []
        for role in ROLES:
            r = e.get(role) or {}
            cells.append(f"{r['rps']:.0f}" if "rps" in r else ("skipped" if "skipped" in r else "-"))
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
        base, _ = bare_baseline(e)
        lines.append(f"| {e['title']} | " + " | ".join(cells) + f" | {ratio(rps(e, MOCK_QUIET), base)} | "
                     f"{ratio(rps(e, MOCK), rps(e, PRISM))} | {ratio(rps(e, MOCK_QUIET), rps(e, PRISM_QUIET))} |")
    return lines


def latency_table(res: dict) -> list[str]:
    lines = ["| route: p50 / p99 ms (errors) | " + " | ".join(ROLES) + " |", "|---|" + "---:|" * len(ROLES)]
    for key, e in res["scenarios"].items():
        cells = []
        for role in ROLES:
            r = e.get(role) or {}
            cells.append(f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ({r['errors']})" if "rps" in r else "-")
        lines.append(f"| {e['title']} | " + " | ".join(cells) + " |")
    return lines


def figures_table(res: dict) -> list[str]:
    lines = ["| figure | value |", "|---|---|"]
    lat = res.get("latency") or {}
    for label, s in (lat.get("startup") or {}).items():
        lines.append(f"| start-up to the first healthy answer, {label} | median {s['median_s']:.3f} s, runs "
                     f"{s['runs_s']} s; CPU of the process tree by then {s['cpu_median_s']:.2f} s |")
    for label, s in (res.get("startup_info") or {}).items():
        lines.append(f"| start-up, {label} (for information) | median {s['median_s']:.3f} s, runs {s['runs_s']} s |")
    if lat.get("reset"):
        r = lat["reset"]
        lines.append(f"| reset round trip, idle `mockserver` | p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms, "
                     f"p99 {r['p99_ms']:.2f} ms |")
    if lat.get("invoke"):
        r = lat["invoke"]
        lines.append(f"| worker-process no-op invoke, idle server, {r['n']} sequential calls | p50 {r['p50_ms']:.2f} ms, "
                     f"p90 {r['p90_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms |")
    inp = res.get("inprocess") or {}
    if inp:
        lines.append(f"| reset in-process, Store.reset / MockServer.reset | {inp['store_reset_ms']:.3f} / "
                     f"{inp['server_reset_ms']:.3f} ms |")
        for op, us in inp["validation_us"].items():
            lines.append(f"| validation CPU per request (gate.check), {op} | {us:.0f} us |")
        for n, ms in (inp.get("algorithm_listing_ms") or {}).items():
            lines.append(f"| algorithm listing page p50 (in-process), owner with {int(n):,} algorithms | {ms:.2f} ms |")
    for name, m in (res.get("memory") or {}).items():
        if m:
            parts = " + ".join(f"{p['rss']:.0f}" for p in m["processes"])
            lines.append(f"| memory after the load, {name}: RSS (per process) / PSS | {m['rss']:.0f} MiB ({parts}) / "
                         f"{m['pss']:.0f} MiB |")
    if res.get("soak"):
        s = res["soak"]
        lines.append(f"| soak: {s['seconds']:.0f} s, {s['threads']} threads | {s['requests']} requests, {s['errors']} errors |")
    return lines


def targets_table(res: dict) -> list[str]:
    lines = ["| target | value | goal | result |", "|---|---|---|---|"]
    for t in res["targets"]:
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['value']}{note} | {t['goal']} | {VERDICT[t['pass']]} |")
    return lines


def render(res: dict) -> str:
    lines = header(res) + ["", "Throughput, req/s:", ""] + route_table(res) + ["", "Latency under load:", ""]
    lines += latency_table(res) + [""] + figures_table(res) + [""] + targets_table(res)
    if res["notes"]:
        lines += [""] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines)


def summary(res: dict) -> str:
    """docs/speed.md's block: the issue's columns and every target."""
    passed = sum(t["pass"] is True for t in res["targets"])
    lines = ratios(res) + ["", f"Targets: {passed} of {len(res['targets'])} pass.", ""] + targets_table(res)
    return "\n".join(lines)


def readme_summary(res: dict) -> str:
    """README.md's block: the issue's columns, and which targets pass."""
    passed = [t["target"] for t in res["targets"] if t["pass"] is True]
    failed = [t["target"] for t in res["targets"] if t["pass"] is False]
    lines = ratios(res) + ["", f"Targets: {len(passed)} of {len(res['targets'])} pass"
                               + (f"; not: {'; '.join(failed)}." if failed else ".")]
    return "\n".join(lines)


def ratios(res: dict) -> list[str]:
    """The run's header and the issue's columns, a row per route."""
    lines = header(res) + ["", "| route | quiet mock vs bare Flask | mock vs Prism (info vs default) | "
                               "quiet mock vs `prism -v error` |", "|---|---:|---:|---:|"]
    for key in PAIRED:
        e = res["scenarios"].get(key)
        if not e:
            continue
        base, which = bare_baseline(e)
        ratio = lambda a, b: f"{a / b:.2f}x ({a:.0f} / {b:.0f})" if a and b else "-"
        lines.append(f"| {e['title']} | {ratio(rps(e, MOCK_QUIET), base)} {which} | {ratio(rps(e, MOCK), rps(e, PRISM))} | "
                     f"{ratio(rps(e, MOCK_QUIET), rps(e, PRISM_QUIET))} |")
    return lines


def replace_block(path, name: str, text: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if not path.exists():
        return
    content = path.read_text()
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        path.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def write(res: dict, table: str) -> None:
    replace_block(ROOT / "benchmarks" / "README.md", "latest", table)
    replace_block(ROOT / "docs" / "speed.md", "latest-run", summary(res))
    replace_block(ROOT / "README.md", "speed", readme_summary(res))

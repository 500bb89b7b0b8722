"""Directory listing cost vs directory size (hosted data, one collection).

Fills one collection through the domain (the same rules as the API) with 100
and then 100,000 files, and times fetching one page (first page, a page from
the middle through its marker, the last page) at each size, in the domain and
through the HTTP stack (Flask test client). A listing page should cost
O(log n + page), so the two rows should be close.

    python benchmarks/data_listing.py [--files 100000] [--page 100] [--repeat 50]

Prints a table; no assertions.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.app import create_app            # noqa: E402
from mockserver.domain.principal import Principal            # noqa: E402
from mockserver.settings import Settings           # noqa: E402
from mockserver.domain import data               # noqa: E402
from mockserver.pagination import encode_marker  # noqa: E402

DEMO = "simDemoSandboxKey0000000000"


def fill(ctx, who, collection: str, n: int) -> float:
    data.create_directory(ctx, who, "data", "demo", collection.encode())
    started = time.perf_counter()
    for i in range(n):
        data.upload(ctx, who, "data", f"demo/{collection}/file-{i:07d}.txt", b"x")
    return time.perf_counter() - started


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6   # microseconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--page", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()

    app = create_app(Settings(profile_scale=0.0, page_max=max(1000, args.page)))
    mock = app.extensions["mockserver"]
    ctx = mock.ctx
    with ctx.store.read() as state:
        who = Principal(state.keys[DEMO])
    http = app.test_client()
    headers = {"Authorization": DEMO}
    page = {"limit": args.page, "marker": None, "max_limit": max(1000, args.page), "default_limit": args.page}

    rows = []
    for n in (100, args.files):
        name = f"bench{n}"
        fill_s = fill(ctx, who, name, n)
        path = f"demo/{name}"
        # a marker in the middle and one near the end, fetched once
        middle = encode_marker(f"data:{path}", f"file-{n // 2:07d}.txt")
        last = encode_marker(f"data:{path}", f"file-{max(0, n - args.page - 1):07d}.txt")
        first_us = timed(lambda: data.get(ctx, who, "data", path, page=page), args.repeat)
        mid_us = timed(lambda: data.get(ctx, who, "data", path, page={**page, "marker": middle}), args.repeat)
        last_us = timed(lambda: data.get(ctx, who, "data", path, page={**page, "marker": last}), args.repeat)
        q = {"limit": args.page, "marker": middle}
        http_us = timed(lambda: http.get(f"/v1/data/{path}", headers=headers, query_string=q), args.repeat)
        head_us = timed(lambda: http.head(f"/v1/data/{path}/file-{n // 2:07d}.txt", headers=headers), args.repeat)
        rows.append((n, fill_s, first_us, mid_us, last_us, http_us, head_us))

    print(f"page size {args.page}, median of {args.repeat} runs (microseconds)\n")
    header = ("files in dir", "fill (s)", "first page", "middle page", "last page", "HTTP middle", "HTTP HEAD file")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    for n, fill_s, first_us, mid_us, last_us, http_us, head_us in rows:
        cells = (f"{n:,}", f"{fill_s:.2f}", f"{first_us:,.0f}", f"{mid_us:,.0f}", f"{last_us:,.0f}",
                 f"{http_us:,.0f}", f"{head_us:,.0f}")
        print("| " + " | ".join(c.rjust(len(h)) for c, h in zip(cells, header)) + " |")

    t = time.perf_counter()
    mock.reset()
    print(f"\nreset (deep copy of the baseline) after the fill: {(time.perf_counter() - t) * 1000:.1f} ms")


if __name__ == "__main__":
    main()

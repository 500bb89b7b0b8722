"""The mock under the project's one serving path, plus synthetic users for the scale benchmarks.

``python -m mockserver.serving.serve benchmarks.bench_wsgi:app`` with
``BENCH_USERS=N``: after the normal app factory (fixtures from MOCKSERVER_FIXTURES),
N users ``benchuser000000..`` are inserted straight into the store, with the
e-mail index kept as create() keeps it (the same ``User`` records, without paying
for validation and rendering 100,000 times at start-up).
With ``BENCH_BASELINE=1`` they become part of what /_mock/reset returns to.
"""
import os

from mockserver.domain.models import User
from mockserver.serving.wsgi import app

_n = int(os.environ.get("BENCH_USERS", "0"))
if _n:
    _server = app.extensions["mockserver"]
    _ctx = _server.ctx
    with _ctx.store.write() as state:
        for i in range(_n):
            name = f"benchuser{i:06d}"
            state.put_user(User(username=name, email=f"{name}@bench.example", fullname=f"Bench User {i}",
                                id=_ctx.ids.uuid(), company_name=None, company_role=None,
                                created_at=_ctx.clock.iso(), seq=state.next_seq()))
    if os.environ.get("BENCH_BASELINE") == "1":
        _ctx.store.mark_baseline()

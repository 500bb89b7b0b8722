"""Control endpoints for the ways in: faults, metrics, bindings, fixtures, dashboard.

All under ``/_mock/`` (a second blueprint next to ``control``), all answering
Algorithmia error objects on failure:

- ``POST /_mock/faults``  add a fault (see :mod:`mockserver.faults`); ``GET`` lists
  the active ones with remaining counts; ``DELETE`` clears them;
  ``DELETE /_mock/faults/<id>`` removes one.
- ``GET /_mock/metrics``  Prometheus text format (see :mod:`mockserver.metrics`).
- bindings: the HTTP side is ``/_mock/algorithms/bindings`` (control.py, lifecycle);
  :func:`bind` here is the plugin's entry (same domain function).
- ``POST /_mock/fixtures`` a fixture YAML document (body) applied on top of the state.
- ``GET /_mock/``  the dashboard (:mod:`mockserver.dashboard`).

:func:`install` wires CORS, faults and metrics into an app; app.py calls it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from .errors import REQUEST_INVALID, ApiError
from .jsonio import json_response, request_json

sandbox = Blueprint("sandbox", __name__, url_prefix="/_mock")


def _server():
    return current_app.extensions["mockserver"]


# ------------------------------------------------------------------ faults

@sandbox.post("/faults")
def add_fault():
    fault = _server().faults.add(request_json())
    return json_response(fault.describe(), 201)


@sandbox.get("/faults")
def list_faults():
    return json_response({"faults": _server().faults.list()})


@sandbox.delete("/faults")
def clear_faults():
    _server().faults.clear()
    return json_response({"faults": []})


@sandbox.delete("/faults/<fault_id>")
def remove_fault(fault_id: str):
    if not _server().faults.remove(fault_id):
        raise ApiError(REQUEST_INVALID, f"No active fault {fault_id!r} (exhausted faults are removed)", 404)
    return json_response({"faults": _server().faults.list()})


# ------------------------------------------------------------------ metrics

@sandbox.get("/metrics")
def metrics():
    return Response(_server().metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


# ------------------------------------------------------------------ bindings

def binding_key(algorithm: str, version: str | None = None) -> str:
    parts = algorithm.strip("/").split("/") if isinstance(algorithm, str) else []
    if len(parts) == 3 and version is None:
        parts, version = parts[:2], parts[2]
    if len(parts) != 2 or not all(parts):
        raise ApiError(REQUEST_INVALID, f"algorithm: expected 'owner/name', not {algorithm!r}")
    return "/".join(parts + ([str(version)] if version else []))


def bind(server, algorithm: str, target: str, version: str | None = None) -> str:
    """Bind ``target`` ("pkg.mod:fn", "path/file.py:fn", "callable:<name>" from Binding.from_callable) to an
    existing algorithm (all versions) or one version, through the lifecycle domain
    (``domain.bindings.set_binding``: checks the algorithm exists and the target imports).
    Returns the state.bindings key."""
    from .domain.bindings import set_binding
    key = binding_key(algorithm, version)
    owner, name, *rest = key.split("/")
    set_binding(server.ctx, owner, name, target, rest[0] if rest else None, base_dir=os.getcwd())
    return key


# ------------------------------------------------------------------ fixtures

def load_fixtures(server, path: str | os.PathLike) -> None:
    """Apply a fixture file on top of the current state (until the next reset)."""
    from .fixtures import load_file
    load_file(server.ctx, Path(path))


@sandbox.post("/fixtures")
def post_fixtures():
    from .fixtures import FixtureError
    raw = request.get_data()
    if not raw.strip():
        raise ApiError(REQUEST_INVALID, "Send a fixture YAML (or JSON) document as the request body")
    with tempfile.NamedTemporaryFile("wb", suffix=".yaml", delete=False) as fh:
        fh.write(raw)
    try:
        load_fixtures(_server(), fh.name)
    except FixtureError as exc:
        raise ApiError(REQUEST_INVALID, f"Bad fixtures: at {exc.where}: {exc.reason}") from None
    finally:
        os.unlink(fh.name)
    return json_response({"status": "loaded"})


# ------------------------------------------------------------------ dashboard

@sandbox.get("")
def dashboard():
    from .dashboard import render
    return Response(render(_server()), content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------ wiring

def install(app, server) -> None:
    """Faults, CORS, metrics and the blueprint. Hook order: CORS preflight, faults, gate."""
    from . import cors, faults
    # The invoke handler reports each call as server.observe_invocation(algorithm, seconds, ok).
    server.observe_invocation = (lambda algorithm, seconds, ok=True:
                                 server.metrics.observe_invocation(seconds, algorithm, ok))
    app.register_blueprint(sandbox)
    faults.install(app, server)
    cors.install(app, server)        # inserted first: a preflight is never faulted nor gated

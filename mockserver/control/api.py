"""The control API under ``/_mock/`` (not part of Algorithmia): thin handlers by operationId.

Routes, parameters and bodies come from ``openapi/control.yaml``, checked by the same
gate as ``/v1``; the site and key checks in :mod:`mockserver.control.guard` run before
any of these. The plain functions at the end (:func:`bind`, :func:`load_fixtures`) are
the pytest plugin's in-process entries to the same domain calls.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from flask import Blueprint, Response, current_app, g, request

from mockserver.control import guard as control_guard
from mockserver.web import site
from mockserver.control.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mockserver.web import current
from mockserver.web.handlers import Handlers
from mockserver.web.current import base_url
from mockserver.control.dashboard import render, render_sign_in
from mockserver.domain import bindings, gitbuilds
from mockserver.errors import (BINDING_NOT_ALLOWED, FAULT_NOT_FOUND, REQUEST_INVALID, SANDBOX_NOT_FOUND,
                               SANDBOXES_AT_ROOT_ONLY, WRONG_CONTROL_KEY, ApiError)
from mockserver.fixtures import FixtureError, load_file, load_text
from mockserver.web.jsonio import json_response

ops = Handlers()


def blueprint() -> Blueprint:
    """The blueprint that holds every route of ``/_mock`` (a new one per app: the app factory adds
    a rule per operation of ``openapi/control.yaml``, with these handlers)."""
    return Blueprint("control", __name__)


_server = current.server      # the request's sandbox (the default one at the root)


@ops("getControlSpec")
def control_spec(_inp):
    return json_response(_server().spec.control_document)


@ops("getHealth")
def health(_inp):
    with _server().ctx.store.read() as state:
        counts = {"users": len(state.users), "organizations": len(state.orgs),
                  "algorithms": len(state.algorithms)}
    return json_response({"status": "ok", "objects": counts})


@ops("resetState")
def reset(_inp):
    _server().reset()
    return json_response({"status": "reset"})


@ops("getJournal")
def journal(inp):
    server = _server()
    return json_response({"last": server.journal.last_seq(),
                          "entries": server.journal.entries(inp.query.get("since", 0), inp.query.get("limit"))})


@ops("exportState")
def export_state(inp):
    large = inp.query.get("large_blobs") == "include"
    return json_response(_server().ctx.store.export(large_blobs=large))


@ops("importState")
def import_state(inp):
    ctx = _server().ctx
    try:
        ctx.store.load(inp.body, prepare=functools.partial(gitbuilds.blobs_on_disk, ctx))
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ApiError(REQUEST_INVALID, f"Not a state this server exported: {type(exc).__name__}: {exc}") from None
    return json_response({"status": "loaded"})


@ops("applyFixtures")
def apply_fixtures(_inp):
    server = _server()
    raw = request.get_data()
    if not raw.strip():
        raise ApiError(REQUEST_INVALID, "Send a fixture YAML (or JSON) document as the request body")
    try:
        load_text(server.ctx, raw, "(request body)", base_dir=None)   # None: no file may be referenced
    except FixtureError as exc:
        if exc.kind is BINDING_NOT_ALLOWED:       # a binding to code outside the allowed folders / modules
            raise ApiError(BINDING_NOT_ALLOWED, f"Bad fixtures: at {exc.where}: {exc.reason}") from None
        raise ApiError(REQUEST_INVALID, f"Bad fixtures: at {exc.where}: {exc.reason}") from None
    return json_response({"status": "loaded"})


# ------------------------------------------------------------------ faults

@ops("addFault")
def add_fault(inp):
    return json_response(_server().faults.add(inp.body).describe(), 201)


@ops("listFaults")
def list_faults(_inp):
    return json_response({"faults": _server().faults.list()})


@ops("clearFaults")
def clear_faults(_inp):
    _server().faults.clear()
    return json_response({"faults": []})


@ops("removeFault")
def remove_fault(inp):
    fault_id = inp.path["fault_id"]
    faults = _server().faults
    if not faults.remove(fault_id):
        raise ApiError(FAULT_NOT_FOUND, f"No active fault {fault_id!r} (exhausted faults are removed)")
    return json_response({"faults": faults.list()})


@ops("getMetrics")
def metrics(_inp):
    return Response(_server().metrics.render(), content_type=METRICS_CONTENT_TYPE)


# ------------------------------------------------------------------ bindings

@ops("listBindings")
def list_bindings(_inp):
    return json_response(bindings.list_bindings(_server().ctx))


@ops("putBinding", "putVersionBinding")
def put_binding(inp):
    p = inp.path
    target = bindings.set_binding(_server().ctx, p["owner"], p["algoname"], inp.body["target"], p.get("version"))
    return json_response({"algorithm": f"{p['owner']}/{p['algoname']}", "version": p.get("version"), "target": target})


@ops("deleteBinding", "deleteVersionBinding")
def delete_binding(inp):
    p = inp.path
    bindings.clear_binding(_server().ctx, p["owner"], p["algoname"], p.get("version"))
    return json_response({"status": "cleared"})


# ------------------------------------------------------------------ dashboard

@ops("getDashboard")
def dashboard(_inp):
    server = _server()
    if not g.get("control_authorized"):
        page = render_sign_in(server)
    elif request.environ.get(current.SANDBOX_KEY):
        page = render(server)
    else:
        registry, root = current_app.extensions["mockserver.sandboxes"], _root_url()
        page = render(server, sandboxes=[registry.describe(s, root) for s in registry.list()])
    return Response(page, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


@ops("signIn")
def sign_in(inp):
    key = _server().control_key
    if key is None:
        return json_response({"status": "no control key is set"})
    if not site.same_secret(inp.body["control_key"], key):
        raise ApiError(WRONG_CONTROL_KEY, "Wrong control key")
    response = json_response({"status": "signed in"})
    response.set_cookie(control_guard.SESSION_COOKIE, control_guard.session_token(key), httponly=True,
                        samesite="Strict", path=request.script_root + "/_mock")
    return response


@ops("signOut")
def sign_out(_inp):
    response = json_response({"status": "signed out"})
    response.delete_cookie(control_guard.SESSION_COOKIE, path=request.script_root + "/_mock", httponly=True,
                           samesite="Strict")
    return response


# ------------------------------------------------------------------ sandboxes (sandboxes.py)

def _sandboxes():
    if request.environ.get(current.SANDBOX_KEY):
        raise ApiError(SANDBOXES_AT_ROOT_ONLY, "Sandboxes are managed at the server's root (/_mock/sandboxes), "
                       "not inside a sandbox")
    return current_app.extensions["mockserver.sandboxes"]


def _root_url() -> str:
    return base_url()


@ops("createSandbox")
def create_sandbox(inp):
    registry = _sandboxes()
    body = inp.body or {}
    sandbox = registry.create(fixtures=body.get("fixtures"), seed=body.get("seed"), clock=body.get("clock"),
                              profile_scale=body.get("profile_scale"), name=body.get("name"))
    return json_response(registry.describe(sandbox, _root_url()), 201)


@ops("listSandboxes")
def list_sandboxes(_inp):
    registry, root = _sandboxes(), _root_url()
    return json_response({"sandboxes": [registry.describe(s, root) for s in registry.list()],
                          "limits": registry.limits()})


@ops("getSandbox")
def get_sandbox(inp):
    registry, sandbox_id = _sandboxes(), inp.path["sandbox_id"]
    sandbox = registry.get(sandbox_id)
    if sandbox is None:
        raise ApiError(SANDBOX_NOT_FOUND, registry.why_missing(sandbox_id))
    return json_response(registry.describe(sandbox, _root_url()))


@ops("deleteSandbox")
def delete_sandbox(inp):
    registry, sandbox_id = _sandboxes(), inp.path["sandbox_id"]
    if not registry.delete(sandbox_id):
        raise ApiError(SANDBOX_NOT_FOUND, registry.why_missing(sandbox_id))
    return json_response({"status": "deleted"})


# ------------------------------------------------------------------ in-process (pytest plugin)

def bind(server, algorithm: str, target: str, version: str | None = None) -> str:
    """Bind ``target`` to an existing algorithm (all versions) or one version, for a test in this
    process: a callable registered by ``Binding.from_callable``, "pkg.mod:fn" or "path/file.py:fn"
    (relative to the working directory). Returns the binding key. Trusted: a test put it there,
    so no folder/prefix check, and ``mode: inprocess`` profiles may run it in this process."""
    owner, name, version = bindings.parse_binding_key(algorithm, version)
    bindings.set_binding(server.ctx, owner, name, target, version, base_dir=os.getcwd(), trusted=True)
    return bindings.binding_key(owner, name, version)


def load_fixtures(server, path: str | os.PathLike) -> None:
    """Apply a fixture file on top of the current state (until the next reset). Trusted (the
    pytest plugin's): it may bind code in its own folder, as start-up fixtures may, and its
    bindings may run in this process."""
    engine = server.ctx.engine
    if engine is not None and engine.policy is not None:
        engine.policy.allow_dir(os.path.dirname(os.path.abspath(path)))
    load_file(server.ctx, Path(path))

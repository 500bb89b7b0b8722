"""The control API under /_mock/: not part of Algorithmia, for tests and sandboxes."""
from __future__ import annotations


from flask import Blueprint, current_app, request

from .errors import REQUEST_INVALID, ApiError
from .jsonio import json_response, request_json

control = Blueprint("control", __name__, url_prefix="/_mock")


def _server():
    return current_app.extensions["mockserver"]


@control.get("/health")
def health():
    server = _server()
    with server.ctx.store.read() as state:
        counts = {"users": len(state.users), "organizations": len(state.orgs),
                  "algorithms": len(state.algorithms)}
    return json_response({"status": "ok", "objects": counts})


@control.post("/reset")
def reset():
    _server().reset()
    return json_response({"status": "reset"})


@control.get("/journal")
def journal():
    try:
        since = int(request.args.get("since", 0))
        limit = int(request.args["limit"]) if "limit" in request.args else None
    except ValueError:
        raise ApiError(REQUEST_INVALID, "since and limit must be integers") from None
    server = _server()
    return json_response({"last": server.journal.last_seq(), "entries": server.journal.entries(since, limit)})


@control.get("/state")
def export_state():
    return json_response(_server().ctx.store.export())


@control.put("/state")
def import_state():
    data = request_json("The state must be a JSON object as GET /_mock/state exports it")
    try:
        _server().ctx.store.load(data)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ApiError(REQUEST_INVALID, f"Not a state this server exported: {type(exc).__name__}: {exc}") from None
    return json_response({"status": "loaded"})


@control.get("/algorithms/bindings")
def list_bindings():
    from .domain import bindings
    return json_response(bindings.list_bindings(_server().ctx))


@control.put("/algorithms/<owner>/<algo>/binding")
@control.put("/algorithms/<owner>/<algo>/versions/<version>/binding")
def put_binding(owner, algo, version=None):
    from .domain import bindings
    body = request_json("The body must be a JSON object: {\"target\": \"pkg.mod:apply\"}")
    return json_response(bindings.set_binding(_server().ctx, owner, algo, body.get("target"), version))


@control.delete("/algorithms/<owner>/<algo>/binding")
@control.delete("/algorithms/<owner>/<algo>/versions/<version>/binding")
def delete_binding(owner, algo, version=None):
    from .domain import bindings
    bindings.clear_binding(_server().ctx, owner, algo, version)
    return json_response({"status": "cleared"})


"""The app factory: spec, fixtures, store, gate, handlers and control API in one Flask app."""
from __future__ import annotations

import logging
import secrets
import socket
from http import HTTPStatus
import time
import traceback
from typing import Callable

from flask import Flask, g, request
from werkzeug.routing import BaseConverter
from werkzeug.exceptions import (ClientDisconnected, HTTPException, MethodNotAllowed, NotFound,
                                 RequestEntityTooLarge)

from . import auth, control, control_guard, cors, faults, gate
from .api import Handlers, admin, algorithms, data, invoke, meta
from .config import Settings
from .domain.context import Ctx
from .faults import FaultSet
from .fixtures import load_into
from .logs import log_request
from .metrics import Metrics
from .errors import INTERNAL, NOT_IMPLEMENTED, REQUEST_INVALID, ApiError
from .ids import Clock, Ids
from .journal import Journal
from .runtime import DEFAULT_PROFILES, Engine
from .jsonio import json_response
from .spec import ApiSpec
from .store import Store

log = logging.getLogger("mockserver")


class MockServer:
    """Everything one running mock holds; ``app.extensions["mockserver"]``."""

    def __init__(self, settings: Settings, spec: ApiSpec):
        self.settings = settings
        # Off loopback the control plane is never open: without a configured key, make one
        # (the CLI and the log print it once at start-up).
        self.control_key = settings.control_key
        self.control_key_generated = False
        if self.control_key is None and not control_guard.is_loopback_host(settings.host):
            self.control_key = secrets.token_urlsafe(24)
            self.control_key_generated = True
        self.spec = spec
        self.ctx = Ctx(store=Store(), ids=Ids(settings.seed), clock=Clock(settings.clock), settings=settings,
                       engine=Engine(scale=settings.profile_scale),
                       profiles={p.name: p for p in DEFAULT_PROFILES})
        self.journal = Journal(settings.journal_size, settings.journal_body_bytes)
        self.host_urls: dict[tuple, str] = {}   # request.host_url by its environ inputs (api.common)
        self.faults = FaultSet()        # /_mock/faults (cleared on reset)
        self.metrics = Metrics()        # /_mock/metrics (survive reset)
        load_into(self.ctx, settings.fixtures)
        self.ctx.store.mark_baseline()
        self.ctx.ids.mark()             # a reset replays ids/times from here, not from the seed:
        self.ctx.clock.mark()           # otherwise new objects would reuse the fixtures' ids

    def reset(self) -> None:
        """Back to the loaded fixtures, with fresh id and clock sequences."""
        self.ctx.store.reset()
        self.ctx.restart_generators()
        self.ctx.engine.reset()          # warm workers hold code of the state being dropped
        self.journal.clear()
        self.faults.clear()
        self.metrics.forget_algorithms()

    def add_fault(self, body: dict) -> "faults.Fault":
        """A fault from a body checked against the control spec (the plugin's entry; HTTP
        bodies pass the same schema in the gate)."""
        gate.check_body(self.spec.operations["addFault"], body)
        return self.faults.add(body)

    def observe_invocation(self, algorithm: str, seconds: float, ok: bool) -> None:
        self.metrics.observe_invocation(seconds, algorithm, ok)


class MockFlask(Flask):
    def ensure_sync(self, func):
        # Every view and hook here is synchronous: skip Flask's per-call coroutine check
        # (an inspect call for each of the ~6 callables a request runs).
        return func


def create_app(settings: Settings | None = None, *, spec: ApiSpec | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = MockFlask(__name__)
    app.url_map.merge_slashes = False      # "//" would answer a 308 redirect, not an error object
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_request_bytes, settings.max_upload_bytes)
    server = MockServer(settings, spec or ApiSpec.load())
    app.extensions["mockserver"] = server
    if server.control_key_generated:
        log.warning("control key (X-Mock-Control-Key, generated for host %s): %s", settings.host, server.control_key)
    _register_operations(app, server.spec)
    # Every hook, in the order it runs. Before: a CORS preflight of /v1 is answered (and one of
    # /_mock refused) before anything else; the control plane's site and key checks; injected
    # faults (never on /_mock); then auth and the spec gate. After: CORS headers on /v1 only,
    # then the journal, metrics and the access line.
    before, after = _request_hooks(app, server)
    app.before_request_funcs[None] = [cors.preflight_hook(server), _control_guard_hook(server),
                                      faults.injection_hook(server), before]
    app.after_request_funcs[None] = [after, cors.headers_hook(server)]   # Flask runs these in reverse
    _register_error_handlers(app, server)
    app.wsgi_app = TrailingSlashMiddleware(app.wsgi_app)
    return app


class AlgorithmIdConverter(BaseConverter):
    """An algorithm id (a UUID): /v1/algorithms/{id}/errors only when the segment has that
    shape, so /v1/algorithms/{user}/errors stays the algorithm named ``errors``."""
    regex = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    weight = 50       # tried before the plain {username} segment (default weight 100)


def _register_operations(app: Flask, spec: ApiSpec) -> None:
    app.url_map.converters["algorithm_id"] = AlgorithmIdConverter
    handlers = all_handlers()
    # HEAD rules first: Flask adds HEAD to every GET rule, and the first match wins.
    for op in sorted(spec.operations.values(), key=lambda o: o.method != "HEAD"):
        fn = handlers.get(op.id, _not_implemented)
        app.add_url_rule(op.flask_rule, endpoint=op.id, view_func=_view(fn), methods=[op.method],
                         strict_slashes=False, provide_automatic_options=False)


# One module per resource of /v1, and the control API: each registers its handlers by operationId.
HANDLER_MODULES = (meta, admin, algorithms, invoke, data, control)


def all_handlers() -> dict[str, Callable]:
    merged: dict[str, Callable] = {}
    for module in HANDLER_MODULES:
        handlers: Handlers = module.ops
        for operation_id, fn in handlers.by_operation.items():
            if operation_id in merged:
                raise ValueError(f"two handlers for {operation_id}")
            merged[operation_id] = fn
    return merged


def _view(fn):
    def view(**_path):
        return fn(g.input)
    view.__name__ = fn.__name__
    return view


def _not_implemented(_input):
    raise ApiError(NOT_IMPLEMENTED, f"Feature not implemented: {request.method} {request.path} is not emulated yet")


# Operations after which some algorithms may be gone (with their per-algorithm metrics).
_DELETES_ALGORITHMS = frozenset({"deleteAlgorithm", "deleteUser", "deleteOrganization", "importState"})


def _control_guard_hook(server: MockServer):
    operations = server.spec.operations
    settings = server.settings

    def control_guard_check():
        if not control_guard.is_control_path(request.path):
            return None
        op = operations.get(request.endpoint or "")
        g.control_authorized = control_guard.guard(
            request.environ, control_key=server.control_key, public_names=settings.public_names,
            operation_id=op.id if op else None, public=bool(op and op.access == "control-public"),
            cookies=request.cookies)
        return None
    return control_guard_check


def _request_hooks(app: Flask, server: MockServer):
    operations = server.spec.operations

    ids, journal, metrics, store = server.ctx.ids, server.journal, server.metrics, server.ctx.store

    # Both hooks run on every request: each resolves the request/g proxies once
    # (a proxy lookup is a context-variable read) and keeps to what it must do.
    def check_request():
        req, gg = request._get_current_object(), g._get_current_object()
        gg.started = time.perf_counter()
        gg.request_id = ids.request_id()
        op = operations.get(req.endpoint or "")
        if op is None:
            return None
        gg.operation = op
        headers = req.headers
        if not op.access.startswith("control"):     # control operations: control_guard decided
            gg.principal = principal = auth.resolve(store, headers.get("Authorization"))
            auth.enforce(op.access, op.permission, principal)
        gg.input = gate.check(op, req.view_args or {}, req.args, headers, lambda: req.get_data(cache=True))
        return None

    def record(response):
        req, gg = request._get_current_object(), g._get_current_object()
        status = response.status_code
        # Standard reason phrases ("204 No Content"): Werkzeug upper-cases them, and the
        # Python client's deleteHelper compares response.reason with "No Content".
        response.status = _status_line(status)
        attrs = gg.__dict__
        started = attrs.get("started")
        duration = time.perf_counter() - started if started else 0.0
        request_id = attrs.get("request_id", "")
        fault = attrs.get("fault")
        # Set, not checked first: a miss in Werkzeug's Headers raises and catches a
        # BadRequestKeyError, a few µs on every request.
        response.headers["X-Request-Id"] = request_id
        environ = req.environ
        path, method, endpoint = req.path, environ["REQUEST_METHOD"], req.endpoint
        if not path.startswith("/_mock"):
            query = environ.get("QUERY_STRING")
            journal.record({
                "request_id": request_id or None, "method": method,
                "path": req.full_path.rstrip("?") if query else path, "status": status,
                "duration_ms": round(duration * 1000, 3), "operation": endpoint,
                "time": time.time(),   # wall clock: never advance the API's clock
                "request_body": _body_for_journal(req, req.content_length, journal.body_bytes * 4),
                "response_body": None if response.direct_passthrough else response.get_data(),
                "fault": fault,
            })
        operation = endpoint if endpoint in operations else "unmatched"
        metrics.observe_request(operation, method, status, duration)
        if fault:
            metrics.observe_fault()
        if endpoint in _DELETES_ALGORITHMS and status < 300:
            with store.read() as state:
                metrics.forget_algorithms(keep=set(state.algorithms))
        log_request(method, path, status, duration * 1000, request_id, operation=operation, fault=fault)
        return response

    return check_request, record


def _register_error_handlers(app: Flask, server: MockServer) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        return json_response(_error_body(server, err), err.status, err.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, NotFound):
            err = ApiError(REQUEST_INVALID, f"No such route: {request.method} {request.path}", 404)
        elif isinstance(exc, MethodNotAllowed):
            allowed = ", ".join(sorted(exc.valid_methods or []))
            err = ApiError(REQUEST_INVALID, f"Method {request.method} is not allowed on {request.path}; allowed: {allowed}",
                           405, headers={"Allow": allowed})
        elif isinstance(exc, ClientDisconnected):     # Werkzeug's wrapper for a failed body read
            err = _body_read_failed(timed_out=isinstance(exc.__cause__ or exc.__context__, TimeoutError))
        elif isinstance(exc, RequestEntityTooLarge):
            err = ApiError(REQUEST_INVALID, f"Request body too large: the limit is {app.config['MAX_CONTENT_LENGTH']} bytes", 413)
        else:
            err = ApiError(REQUEST_INVALID, f"{exc.name}: {exc.description}", exc.code or 400)
        return json_response(_error_body(server, err), err.status, err.headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, TimeoutError):      # a body read timed out (MOCKSERVER_BODY_TIMEOUT, ConnSocket)
            err = _body_read_failed(timed_out=True)
            return json_response(_error_body(server, err), err.status, err.headers)
        log.error("internal error on %s %s\n%s", request.method, request.path, traceback.format_exc())
        err = ApiError(INTERNAL, f"There was an internal error ({type(exc).__name__}); see the server log", 500)
        return json_response(_error_body(server, err), err.status)


def _body_read_failed(timed_out: bool) -> ApiError:
    """The error for a body that stopped arriving (408) or broke off (400), ending the connection.

    The rest of the body cannot be drained, and gunicorn ignores an app's "Connection: close":
    it would try to drain a stalled body, pinning a thread. Shutting the socket's read side
    makes that drain see EOF at once; the answer still goes out.
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
    if timed_out:
        return ApiError(REQUEST_INVALID, "The request body did not arrive in time", 408,
                        headers={"Connection": "close"})
    return ApiError(REQUEST_INVALID, "The request body was cut off", 400, headers={"Connection": "close"})


def _error_body(server: MockServer, err: ApiError) -> dict:
    """The error object; under --seed its id comes from the seeded ids (reproducible bytes)."""
    body = err.body()
    if server.ctx.ids.seed is not None and isinstance(body.get("error"), dict) and "id" in body["error"]:
        body["error"]["id"] = server.ctx.ids.uuid()
    return body


def _body_for_journal(req, length: int | None, cap: int) -> bytes | None:
    """The (small) request body for the journal; None when big, or unreadable (timed out, cut off)."""
    if not length or length > cap:
        return None
    try:
        return req.get_data(cache=True)
    except (OSError, HTTPException):
        return None


_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _status_line(code: int) -> str:
    return _STATUS_LINES.get(code) or str(code)


class TrailingSlashMiddleware:
    """A trailing slash never changes the resource: /v1/data/demo/ is /v1/data/demo."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/") or "/"
        return self.app(environ, start_response)

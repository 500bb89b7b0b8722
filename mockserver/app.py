"""The app factory: spec, fixtures, store, gate, handlers and control API in one Flask app."""
from __future__ import annotations

import logging
import secrets
import threading
from http import HTTPStatus
import time
import traceback
from typing import Any, Callable

from flask import Flask, g, request
from werkzeug.routing import BaseConverter
from werkzeug.exceptions import (BadRequest, ClientDisconnected, HTTPException, MethodNotAllowed, NotFound,
                                 RequestEntityTooLarge)

from mockserver.control import api as control, faults, guard as control_guard
from mockserver.web import site
from mockserver.edge import auth, cors, gate, memory_gate
from mockserver.web import current
from mockserver.api import admin, algorithms, data, invoke, meta
from mockserver.web.handlers import Handlers
from mockserver.settings import MiB, Settings
from mockserver.domain.context import Ctx
from mockserver.control.faults import FaultSet
from mockserver.domain.storage import Storage
from mockserver.fixtures import load_into, replaces_sandbox
from mockserver.edge.git_route import GitMiddleware
from mockserver.control.logs import LOGGED_KEY, AccessLog, access_log, explanation, log_request
from mockserver.control.metrics import Metrics
from mockserver.errors import (BODY_CUT_OFF, BODY_TIMED_OUT, BODY_TOO_LARGE, INTERNAL, METHOD_NOT_ALLOWED, NO_SUCH_ROUTE,
                               REQUEST_INVALID, ApiError, Code, Kind)
from mockserver.ids import Clock, Ids
from mockserver.memory import MemoryBudget
from mockserver.control.journal import Journal
from mockserver.runtime import DEFAULT_PROFILES
from mockserver.runtime.admission import Admission
from mockserver.runtime.checkouts import CheckoutCache
from mockserver.domain.engine_setup import EngineParts, admission_for, engine_for, isolation_for
from mockserver.web.answer import status_line
from mockserver.web.jsonio import error_response
from mockserver.web.lane import Lane, declared_length
from mockserver.edge.spec import ApiSpec, Operation
from mockserver.control.sandboxes import SandboxMiddleware, Sandboxes, Template
from mockserver.domain.store import Store

log = logging.getLogger("mockserver")


class MockServer:
    """Everything one running mock holds; ``app.extensions["mockserver"]``."""

    def __init__(self, settings: Settings, spec: ApiSpec, template: Template | None = None,
                 admission: Admission | None = None, parent: "MockServer | None" = None,
                 parts: EngineParts | None = None):
        """``parent``: the root server of a sandbox, whose worker users, checkout cache and git
        storage it shares. ``parts``: a root server's admission, isolation and engine, built
        before the app (the command's start-up, domain/engine_setup.py)."""
        self.settings = settings
        # The server-wide pools of calls, binding checks and builds, and the cap on worker
        # processes: the root server's, shared by its sandboxes (each engine holds its own share
        # of them: a Tenant).
        self.admission = parts.admission if parts else admission or admission_for(settings)
        # Off loopback the control plane is never open: without a configured key, make one
        # (the CLI and the log print it once at start-up).
        self.control_key = settings.control_key
        self.control_key_generated = False
        if self.control_key is None and not site.is_loopback_host(settings.host):
            self.control_key = secrets.token_urlsafe(24)
            self.control_key_generated = True
        self.spec = spec
        # Who runs user code, where checkouts and large git blobs live: one of each per server
        # process, its sandboxes' too.
        self.isolation = parent.isolation if parent else parts.isolation if parts else isolation_for(settings)
        self.checkouts = parent.checkouts if parent else CheckoutCache(
            self.isolation, settings.storage_dir, settings.checkout_cache_mb * MiB)
        self.storage = parent.storage if parent else Storage(settings)
        engine = parts.engine if parts else engine_for(settings, self.isolation, self.admission,
                                                       "sandbox" if template is not None else "default")
        if template is not None:       # a sandbox: the template's fixtures, loaded once (sandboxes.py)
            self.ctx = template.new_ctx(settings, engine)
            self.ctx.checkouts, self.ctx.storage = self.checkouts, self.storage
        else:
            self.ctx = Ctx(store=Store(), ids=Ids(settings.seed), clock=Clock(settings.clock), settings=settings,
                           engine=engine, profiles={p.name: p for p in DEFAULT_PROFILES}, checkouts=self.checkouts,
                           storage=self.storage)
        self.journal = Journal(settings.journal_size, settings.journal_body_bytes)
        self.host_urls: dict[tuple, str] = {}   # request.host_url by its environ inputs (api.common)
        self.faults = FaultSet()        # /_mock/faults (cleared on reset)
        self.metrics = Metrics()        # /_mock/metrics (survive reset)
        # --fixtures without the bundled sandbox: 401/404 messages say where 'demo' went.
        self.replaced_sandbox = replaces_sandbox(settings.fixtures)
        if template is not None:
            return
        load_into(self.ctx, settings.fixtures, extra=settings.extra_fixtures)
        self.ctx.store.mark_baseline()
        self.ctx.ids.mark()             # a reset replays ids/times from here, not from the seed:
        self.ctx.clock.mark()           # otherwise new objects would reuse the fixtures' ids

    def reset(self) -> None:
        """Back to the loaded fixtures, with fresh id and clock sequences."""
        self.ctx.store.reset()
        self.ctx.restart_generators()
        self.ctx.engine.reset()          # warm workers hold code of the state being dropped
        self.forget_checkouts()
        self.journal.clear()
        self.faults.clear()
        self.metrics.forget_algorithms()

    def forget_checkouts(self, keep: set[str] | None = None) -> None:
        """Remove this server's checkouts: all, or those of algorithms (by id) not in ``keep``."""
        self.checkouts.forget(self.ctx.scope, keep)

    def close(self) -> None:
        """Stop the workers and remove the checkouts (a sandbox deleted or expired)."""
        self.ctx.engine.shutdown()
        self.forget_checkouts()

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


# The operations answered by the lane (web/lane.py) instead of Flask's request machinery: the
# ones a client calls most, whose handlers read only their Input.
LANE_OPERATIONS = frozenset({"getAlgorithm", "createAlgorithm", "invokeAlgorithm", "invokeAlgorithmVersion"})


def create_app(settings: Settings, *, spec: ApiSpec | None = None, lane: bool = True,
               parts: EngineParts | None = None) -> Flask:
    """The mock's app for the run's ``settings``, which are required: they are built once by the
    entry point (``Settings.load()`` from flags and the environment, or ``Settings(...)`` in code),
    never read from the environment here (docs/architecture.md). ``lane=False`` sends every
    request through Flask (tests compare the two paths). ``parts``: the engine the entry point
    built for these settings before it imported the app (domain/engine_setup.py)."""
    if not isinstance(settings, Settings):
        raise TypeError(f"create_app needs the run's Settings, not {settings!r}: build them once at the entry "
                        "point (Settings.load() reads flags and MOCKSERVER_* variables) or pass Settings(...)")
    app = MockFlask(__name__)
    app.url_map.merge_slashes = False      # "//" would answer a 308 redirect, not an error object
    app.config["MAX_CONTENT_LENGTH"] = api_body_limit(settings)
    spec = spec or ApiSpec.load()
    # The routes are registered on a helper thread while the server loads its fixtures, which
    # mostly waits for the binding checks' child processes (start-up time, issue 31).
    routes = _Background(_register_operations, app, spec)
    try:
        server = MockServer(settings, spec, parts=parts)
    finally:
        routes.join()
    endpoints = routes.result()
    app.extensions["mockserver"] = server
    if server.control_key_generated:
        log.warning("control key (X-Mock-Control-Key, generated for host %s): %s", settings.host, server.control_key)
    # Every request hook, here and nowhere else, run by Flask and by the lane alike.
    # The process's memory budget: one for every sandbox, the API's writes and git's pushes.
    memory = MemoryBudget(settings.state_memory_mb)
    before, after = _before_view(server, endpoints, memory), _after_view(server, endpoints)
    on_error = _error_answers(server, app.config["MAX_CONTENT_LENGTH"])
    _flask_hooks(app, before, after)
    _register_error_handlers(app, on_error)
    api_app = app.wsgi_app
    if lane:
        hot = {op_id: handler for op_id, handler in all_handlers().items() if op_id in LANE_OPERATIONS}
        api_app = Lane(app.wsgi_app, app.url_map, hot, {op_id: endpoints[op_id].method for op_id in hot},
                       before, after, on_error, app.config["MAX_CONTENT_LENGTH"])
    sandboxes = app.extensions["mockserver.sandboxes"] = Sandboxes(
        server, lambda sandbox_settings, template: MockServer(sandbox_settings, server.spec, template,
                                                              admission=server.admission, parent=server))
    # Outermost first: the access line of answers made outside Flask (git's, an unknown sandbox's),
    # the sandbox prefix, then /git (the request's sandbox's repositories), then slashes.
    app.wsgi_app = AccessLog(SandboxMiddleware(GitMiddleware(TrailingSlashMiddleware(api_app), server,
                                                             git_push_limit(settings), memory), sandboxes),
                             on_answer=_journal_git(server))
    return app


def _journal_git(server: MockServer):
    """git's answers in the journal of their server (sandbox), as the app's own are: a user whose
    git client printed only "403" reads why on the dashboard. Pack bodies are not kept."""
    def record(environ: dict, status: int, duration_ms: float, error: Any) -> None:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/git/"):
            return
        query = environ.get("QUERY_STRING")
        current.server_of(environ, server).journal.record({
            "request_id": None, "method": environ.get("REQUEST_METHOD", ""),
            "path": f"{path}?{query}" if query else path, "status": status,
            "duration_ms": round(duration_ms, 3), "operation": "git", "time": time.time(),
            "request_body": None, "response_body": None, "fault": None, "error": error, "notes": None,
        })
    return record


class _Background(threading.Thread):
    """``fn(*args)`` on a thread of its own; :meth:`result` (after :meth:`join`) returns or raises what it did."""

    def __init__(self, fn: Callable, *args: Any):
        super().__init__(name="mockserver-setup", daemon=True)
        self._call, self._value, self._error = (fn, args), None, None
        self.start()

    def run(self) -> None:
        fn, args = self._call
        try:
            self._value = fn(*args)
        except BaseException as exc:       # raised again by result(), on the caller's thread
            self._error = exc

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def api_body_limit(settings: Settings) -> int:
    """The largest body of an API or control request (routes refuse more with a 413 error object)."""
    return max(settings.max_request_bytes, settings.max_upload_bytes)


def git_push_limit(settings: Settings) -> int:
    """The largest git push body: the API's limit, the one the HTTP server has always enforced on it."""
    return api_body_limit(settings)


def server_body_bound(settings: Settings) -> int:
    """The bound the HTTP server enforces by itself, outside the app: twice the largest body a
    route accepts, so a body somewhat over a route's limit still reaches the route and gets its
    413 error object, while no request can make the server read more than this."""
    return 2 * max(api_body_limit(settings), git_push_limit(settings))


class AlgorithmIdConverter(BaseConverter):
    """An algorithm id (a UUID): /v1/algorithms/{id}/errors only when the segment has that
    shape, so /v1/algorithms/{user}/errors stays the algorithm named ``errors``."""
    regex = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    weight = 50       # tried before the plain {username} segment (default weight 100)


def _register_operations(app: Flask, spec: ApiSpec) -> dict[str, Operation]:
    """A route per operation of both specs: /v1 on the app, all of /_mock on the control
    blueprint (endpoints ``control.<operationId>``). Returns the operation of each endpoint."""
    app.url_map.converters["algorithm_id"] = AlgorithmIdConverter
    handlers = all_handlers()
    missing = sorted(set(spec.operations) - set(handlers))
    if missing:        # every operation of both specs is emulated: a gap is a programming error
        raise ValueError(f"no handler for operations {', '.join(missing)}")
    blueprint = control.blueprint()
    endpoints: dict[str, Operation] = {}
    # HEAD rules first: Flask adds HEAD to every GET rule, and the first match wins.
    for op in sorted(spec.operations.values(), key=lambda o: o.method != "HEAD"):
        target = blueprint if site.is_control_path(op.path) else app
        target.add_url_rule(op.flask_rule, endpoint=op.id, view_func=_view(handlers[op.id]), methods=[op.method],
                            strict_slashes=False, provide_automatic_options=False)
        endpoints[f"{blueprint.name}.{op.id}" if target is blueprint else op.id] = op
    app.register_blueprint(blueprint)
    return endpoints


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


# Operations after which some algorithms may be gone (with their per-algorithm metrics).
_DELETES_ALGORITHMS = frozenset({"deleteAlgorithm", "deleteUser", "deleteOrganization", "importState"})


def _before_view(server: MockServer, endpoints: dict[str, Operation], memory: MemoryBudget):
    """Before a view, in this order: a CORS preflight of /v1 answered, of /_mock refused; the
    control guard (/_mock: Host, Origin, Content-Type, control key); injected faults (never on
    /_mock); auth and the spec gate. Each step is ``step(request, g)``; the first that answers
    ends the request. Returns ``before(request, g)``, shared by Flask's hook and the lane."""
    steps = (cors.preflight_hook(server), _control_guard_hook(server, endpoints), faults.injection_hook(server),
             _check_request(server, endpoints, memory))

    def before(req, gg):
        for step in steps:
            answer = step(req, gg)
            if answer is not None:
                return answer
        return None
    before.steps = steps
    return before


def _after_view(server: MockServer, endpoints: dict[str, Operation]):
    """After a view: CORS headers (/v1 only), then the journal, metrics and access line, which
    see the final answer. Each step is ``step(request, g, response) -> response``. Returns
    ``after(request, g, response)``, shared by Flask's hook and the lane."""
    steps = (cors.headers_hook(server), _record(server, endpoints))

    def after(req, gg, response):
        for step in steps:
            response = step(req, gg, response)
        return response
    after.steps = steps
    return after


def _flask_hooks(app: Flask, before: Callable, after: Callable) -> None:
    """The before and after steps as Flask's request hooks, app-wide (not hooks of the control
    blueprint): the control guard must also cover /_mock paths no route matches, and must run
    before the spec gate. One hook each (a hook per step cost a call and two context look-ups)."""
    def before_view():
        # The request and g proxies resolved once (a proxy look-up is a context-variable read).
        return before(request._get_current_object(), g._get_current_object())

    def after_view(response):
        return after(request._get_current_object(), g._get_current_object(), response)
    before_view.steps, after_view.steps = before.steps, after.steps
    app.before_request(before_view)
    app.after_request(after_view)


def _control_guard_hook(server: MockServer, endpoints: dict[str, Operation]):
    settings = server.settings

    def control_guard_check(req, gg) -> None:
        if not site.is_control_path(req.path):
            return None
        op = endpoints.get(req.endpoint or "")
        gg.control_authorized = control_guard.guard(
            req.environ, control_key=server.control_key, public_names=settings.public_names,
            operation_id=op.id if op else None, public=bool(op and op.access == "control-public"),
            cookies=req.cookies)
        return None
    return control_guard_check


# _check_request and _record run on every request: each keeps to what it must do, and hands the
# handler what it resolved (Input.mock, .principal, .request_id, .request) so that handlers
# need no proxy look-ups of their own.
# The request's sandbox is in the environ (SandboxMiddleware); the root's is the default.

def _check_request(server: MockServer, endpoints: dict[str, Operation], budget: MemoryBudget):
    key = current.SERVER_KEY
    writes = memory_gate.write_operations(endpoints.values())

    def check_request(req, gg) -> None:
        gg.started = time.perf_counter()
        environ = req.environ
        mock = environ.get(key) or server
        # Control-plane and dashboard requests draw their ids from their own stream: they
        # never shift the ids of the API calls (reproducible under --seed).
        gg.request_id = request_id = mock.ctx.ids.request_id(site.is_mock_own_path(req.path))
        op = endpoints.get(req.endpoint or "")
        if op is None:
            return None
        gg.operation = op
        principal = None
        if not op.access.startswith("control"):     # control operations: control_guard decided
            gg.principal = principal = auth.resolve(mock.ctx.store, environ.get("HTTP_AUTHORIZATION"))
            auth.enforce(op.access, op.permission, principal)
        # No query string: an empty mapping rather than parsing one (every invocation).
        args = (req.args if environ.get("QUERY_STRING") else _NO_ARGS) if op.query_params else None
        found = gate.check(op, req.view_args or {}, args, req.headers,
                           lambda: req.get_data(cache=True))
        if op.id in writes:
            memory_gate.check(budget)
        found.mock, found.principal, found.request_id, found.request = mock, principal, request_id, req
        gg.input = found
        return None
    return check_request


class _NoQuery(dict):
    """The query of a request without one: an empty mapping whose misses are plain dict misses
    (a Werkzeug MultiDict raises and catches a KeyError for each, ~1 µs, three per invocation)."""

    def getlist(self, name: str) -> list:
        return []


_NO_ARGS = _NoQuery()


def _record(server: MockServer, endpoints: dict[str, Operation]):
    """The journal entry, metrics and access line of every answered request."""
    key = current.SERVER_KEY

    def record(req, gg, response):
        mock = req.environ.get(key) or server
        journal, metrics = mock.journal, mock.metrics
        status = response.status_code
        # Standard reason phrases ("204 No Content"): Werkzeug upper-cases them, and the
        # Python client's deleteHelper compares response.reason with "No Content".
        line = status_line(status)
        if response.status != line:
            response.status = line
        attrs = gg.__dict__
        started = attrs.get("started")
        duration = time.perf_counter() - started if started else 0.0
        request_id = attrs.get("request_id", "")
        fault = attrs.get("fault")
        # Set, not checked first: a miss in Werkzeug's Headers raises and catches a
        # BadRequestKeyError, a few µs on every request.
        response.headers["X-Request-Id"] = request_id
        environ = req.environ
        path, method = req.path, environ["REQUEST_METHOD"]
        op = endpoints.get(req.endpoint or "")
        operation = op.id if op is not None else "unmatched"
        error = None
        if status >= 400 and not response.direct_passthrough:     # why, for clients that hide the body
            error = explanation(response.get_data(), response.content_type)
        if not site.is_mock_own_path(path):
            query = environ.get("QUERY_STRING")
            journal.record({
                "request_id": request_id or None, "method": method,
                "path": req.full_path.rstrip("?") if query else path, "status": status,
                "duration_ms": round(duration * 1000, 3), "operation": op.id if op is not None else None,
                "time": time.time(),   # wall clock: never advance the API's clock
                "request_body": _body_for_journal(req, declared_length(environ), journal.body_bytes * 4),
                "response_body": None if response.direct_passthrough else response.get_data(),
                "fault": fault, "error": error,
                "notes": attrs.get("notes"),   # how the request was read (api.common.note), or None
            })
        metrics.observe_request(operation, method, status, duration)
        if fault:
            metrics.observe_fault()
        if operation in _DELETES_ALGORITHMS and status < 300:
            with mock.ctx.store.read() as state:
                names, ids = set(state.algorithms), {algo.id for algo in state.algorithms.values()}
            metrics.forget_algorithms(keep=names)
            mock.forget_checkouts(keep=ids)
            mock.ctx.engine.retire_pools(lambda key: key.rsplit("/", 1)[0] not in names)   # pool keys: name/commit
        environ[LOGGED_KEY] = True
        if access_log.isEnabledFor(logging.INFO):     # (the call's keyword arguments cost, even unlogged)
            log_request(method, path, status, duration * 1000, request_id, operation=operation, fault=fault,
                        error_code=error and error["code"], error_message=error and error["message"])
        return response
    return record


def _register_error_handlers(app: Flask, on_error: Callable) -> None:
    @app.errorhandler(Exception)
    def any_error(exc: Exception):
        return on_error(request._get_current_object(), exc)


def _error_answers(server: MockServer, body_limit: int):
    """``answer(request, exc)``: the error object of an exception a step or a view raised."""
    def answer(req, exc: Exception):
        if isinstance(exc, ApiError):
            err = exc
        elif isinstance(exc, HTTPException):
            err = _http_error(req, exc, body_limit)
        else:
            log.error("internal error on %s %s\n%s", req.method, req.path, traceback.format_exc())
            err = ApiError(INTERNAL, f"There was an internal error ({type(exc).__name__}); see the server log")
        return error_response(err, _error_body(current.server_of(req.environ, server), err, req.path))
    return answer


def _http_error(req, exc: HTTPException, body_limit: int) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(NO_SUCH_ROUTE, f"No such route: {req.method} {req.path}")
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or []))
        return ApiError(METHOD_NOT_ALLOWED, f"Method {req.method} is not allowed on {req.path}; allowed: {allowed}",
                        headers={"Allow": allowed})
    if isinstance(exc, ClientDisconnected):     # Werkzeug's wrapper for a failed body read
        return _body_read_failed(timed_out=isinstance(exc.__cause__ or exc.__context__, TimeoutError))
    if isinstance(exc, RequestEntityTooLarge):
        return ApiError(BODY_TOO_LARGE, f"Request body too large: the limit is {body_limit} bytes")
    if isinstance(exc, BadRequest):       # a request werkzeug could not make sense of
        return ApiError(REQUEST_INVALID, f"{exc.name}: {exc.description}")
    # another error werkzeug raised itself (none of the routes does today): its status
    werkzeug_kind = Kind(Code.REQUEST_INVALID, exc.code)
    return ApiError(werkzeug_kind, f"{exc.name}: {exc.description}")


def _body_read_failed(timed_out: bool) -> ApiError:
    """The error for a body that stopped arriving (408) or broke off (400), ending the connection.
    (waitress buffers whole bodies before the app runs; a server that streams them lands here.)"""
    if timed_out:
        return ApiError(BODY_TIMED_OUT, "The request body did not arrive in time", headers={"Connection": "close"})
    return ApiError(BODY_CUT_OFF, "The request body was cut off", headers={"Connection": "close"})


def _error_body(server: MockServer, err: ApiError, path: str) -> dict:
    """The error object; under --seed its id comes from the seeded ids (reproducible bytes)."""
    body = err.body()
    error = body.get("error")
    if not isinstance(error, dict):
        return body
    control = site.is_mock_own_path(path)
    if server.ctx.ids.seed is not None and "id" in error:
        error["id"] = server.ctx.ids.error_id(control)
    if server.replaced_sandbox and not control and (err.status == HTTPStatus.UNAUTHORIZED or err.code == Code.USER_NOT_FOUND) \
            and "message" in error:
        error["message"] += _replaced_sandbox_hint(server.settings.fixtures)
    return body


def _replaced_sandbox_hint(fixtures: list[str]) -> str:
    """Why a sandbox key or user is unknown: --fixtures replaced the sandbox."""
    names = ", ".join(fixtures)
    return (f" (the loaded fixtures [{names}] replace the bundled sandbox, so its users and keys such as"
            " 'demo' do not exist; use --extra-fixtures / MOCKSERVER_EXTRA_FIXTURES /"
            " --mockserver-extra-fixtures to add fixtures on top of the sandbox instead)")


def _body_for_journal(req, length: int | None, cap: int) -> bytes | None:
    """The (small) request body for the journal; None when big, or unreadable (timed out, cut off)."""
    if not length or length > cap:
        return None
    try:
        return req.get_data(cache=True)
    except (OSError, HTTPException):
        return None


class TrailingSlashMiddleware:
    """A trailing slash never changes the resource: /v1/data/demo/ is /v1/data/demo."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/") or "/"
        return self.app(environ, start_response)

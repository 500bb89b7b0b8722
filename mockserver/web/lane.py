"""The lane: the hot /v1 operations answered without Flask's per-request machinery.

For every request Flask pushes an app and a request context, binds a URL adapter to the
environ, opens a session, sends four signals and finalizes the response: about half of the
CPU of a GET algorithm here (docs/speed.md). For the operations the app factory names, the
lane does only what the app's own hooks need: the route from a bounded cache of Werkzeug's
own matches, a Werkzeug request, then the app's same before-view steps, the view, the same
error answers and the same after-view steps (auth, the spec gate, faults, CORS, the journal,
metrics and the access line all run as they do under Flask).

Everything else goes to Flask, unchanged: other operations, the control plane and the
dashboard, unmatched paths and other methods, paths that are not ASCII, and bodies without a
Content-Length or over the limit (whose errors Flask's request raises). tests/http/test_lane.py
sends the same requests both ways and compares the answers, the journal and the metrics.
"""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request
from werkzeug.wsgi import ClosingIterator

from mockserver.web.answer import Answer

# The lane's RequestState of the request being answered (None under Flask, whose ``g`` it replaces).
STATE: ContextVar["RequestState | None"] = ContextVar("mockserver.lane_state", default=None)

_NOT_IN_LANE = False
ROUTE_PATH_MAX = 512        # longer paths are matched on every request, never cached: the cache stays small


class LaneRequest:
    """The request as the app's steps and views read it: what they use, read straight from the
    environ (a Werkzeug request costs several µs to build). The lane takes only ASCII paths and
    bodies of a declared length within the limit, so the path needs no re-decoding and the body
    is read straight from the server's stream. Anything else a reader asks for (cookies, the
    stream, URLs) comes from a Werkzeug request of the same environ, built on first use."""
    __slots__ = ("environ", "endpoint", "view_args", "_body", "_headers", "_werkzeug")

    def __init__(self, environ: dict, endpoint: str, view_args: dict[str, Any]):
        self.environ, self.endpoint, self.view_args = environ, endpoint, view_args
        self._body = self._headers = self._werkzeug = None

    @property
    def method(self) -> str:
        return self.environ["REQUEST_METHOD"]

    @property
    def path(self) -> str:
        return "/" + self.environ.get("PATH_INFO", "").lstrip("/")

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.environ.get('QUERY_STRING', '').encode('latin1').decode()}"

    @property
    def headers(self) -> EnvironHeaders:
        if self._headers is None:
            self._headers = EnvironHeaders(self.environ)
        return self._headers

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
        body = self._body
        if body is None:
            body = self._body = _read_body(self.environ)
        return body.decode(errors="replace") if as_text else body

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        werkzeug = self._werkzeug
        if werkzeug is None:
            werkzeug = self._werkzeug = Request(self.environ, populate_request=False)
        return getattr(werkzeug, name)


class RequestState:
    """Values the hooks and the handler share during one request: Flask's ``g`` in the lane."""

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def setdefault(self, name: str, default: Any) -> Any:
        return self.__dict__.setdefault(name, default)


class Lane:
    """WSGI: the named endpoints' plain requests in the lane, every other request to ``fallback``.

    ``before(req, state)`` returns an answer or None, ``views[endpoint](state.input)`` answers,
    ``on_error(req, exc)`` turns an exception into an answer, ``after(req, state, response)``
    returns the final answer: the app's hooks, shared with its Flask path."""

    def __init__(self, fallback: Callable, url_map: Map, views: dict[str, Callable], methods: dict[str, str],
                 before: Callable, after: Callable, on_error: Callable, body_limit: int, routes_max: int = 4096):
        self.fallback = fallback
        self.adapter = url_map.bind("localhost")         # for matching paths only: never builds URLs
        self.views, self.methods = views, methods       # endpoint -> view, endpoint -> its one method
        self.before, self.after, self.on_error = before, after, on_error
        self.body_limit = body_limit
        # (method, path) -> (endpoint, path values), or _NOT_IN_LANE; cleared when full, paths over
        # ROUTE_PATH_MAX never kept: a client sending ever new paths costs the server only
        # Werkzeug's match, never memory.
        self.routes: dict[tuple[str, str], Any] = {}
        self.routes_max = routes_max

    def __call__(self, environ: dict, start_response: Callable):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        route = self.routes.get((method, path))
        if route is None:
            route = self._route(method, path)
        if route is _NOT_IN_LANE or not self._plain_body(environ):
            return self.fallback(environ, start_response)
        req = LaneRequest(environ, route[0], dict(route[1]))
        state = RequestState()
        token = STATE.set(state)
        try:
            try:
                response = self.before(req, state) or self.views[req.endpoint](state.input)
            except Exception as exc:        # noqa: BLE001 - every error gets the app's error answer, as under Flask
                response = self.on_error(req, exc)
            response = self.after(req, state, response)
        finally:
            STATE.reset(token)
        return _send(response, environ, start_response)

    def _route(self, method: str, path: str):
        route: Any = _NOT_IN_LANE
        if path.isascii():       # Flask re-decodes other paths from latin-1: left to it
            try:
                endpoint, args = self.adapter.match(path, method)
            except HTTPException:       # 404, 405, a redirect: Flask answers them
                endpoint = None
            if endpoint in self.views and self.methods[endpoint] == method:
                route = (endpoint, args)
        if len(path) <= ROUTE_PATH_MAX:
            if len(self.routes) >= self.routes_max:
                self.routes.clear()
            self.routes[(method, path)] = route
        return route

    def _plain_body(self, environ: dict) -> bool:
        """No body, or one of a declared length within the limit (else Flask's request refuses it)."""
        if "HTTP_TRANSFER_ENCODING" in environ:
            return False
        length = environ.get("CONTENT_LENGTH")
        if not length:
            return True
        return length.isdigit() and int(length) <= self.body_limit


def _read_body(environ: dict) -> bytes:
    """Exactly CONTENT_LENGTH bytes; ClientDisconnected (as Werkzeug raises it: the error a
    read raised as its cause) when the stream ends or fails first."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return b""
    stream, parts, got = environ["wsgi.input"], [], 0
    while got < length:
        try:
            part = stream.read(length - got)
        except (OSError, ValueError) as exc:
            raise ClientDisconnected() from exc
        if not part:
            raise ClientDisconnected()
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _send(response, environ: dict, start_response: Callable):
    """The answer to the server. A body of bytes whose length is set, with nothing for Werkzeug
    to fix up (a Location, a status without a body), is sent as it is; anything else through
    Werkzeug's own ``response(environ, start_response)``."""
    if type(response) is Answer:
        return response(environ, start_response)
    status = response.status_code
    if response.direct_passthrough or status < 200 or status in (204, 304):
        return response(environ, start_response)
    headers = response.headers.to_wsgi_list()
    # One pass over the names (a miss in Werkzeug's Headers raises and catches an exception).
    names = {name.lower() for name, _ in headers}
    if "content-length" not in names or "location" in names or "content-location" in names:
        return response(environ, start_response)
    start_response(response.status, headers)
    return ClosingIterator([response.get_data()], response.close)     # close() runs call_on_close callbacks

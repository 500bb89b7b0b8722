"""CORS for browser clients (frontend sandbox): every /v1 route, preflights answered.

The control plane (``/_mock``) never answers CORS headers, and its preflights are
refused: no page of another origin may reach it (see ``control_guard``).

``Settings.cors_origins`` (env ``MOCKSERVER_CORS_ORIGINS``): ``*`` (default) or a
comma-separated list of origins (``http://localhost:3000,https://app.example``).
With a list, a request's ``Origin`` is echoed only when listed (plus
``Vary: Origin``); other origins get no CORS headers, so the browser blocks them.

The spec gate registers its routes without automatic OPTIONS, so preflights are
answered before a view (the app's before_request hook), before routing could answer 404/405.
The app factory calls both steps from its request hooks.
"""
from __future__ import annotations

from mockserver.web.site import is_control_path
from mockserver.errors import CROSS_ORIGIN_REFUSED, ApiError

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Accept, X-Requested-With, Content-Encoding"
EXPOSE_HEADERS = "X-Request-Id, X-Data-Type, X-Error-Message, X-Mock-Cold-Start, Content-Length, Content-Type, Allow"
MAX_AGE = "600"


def parse_origins(value: str | None) -> list[str]:
    return [o.strip().rstrip("/") for o in (value or "*").split(",") if o.strip()]


def allowed_origin(origins: list[str], origin: str | None) -> str | None:
    if "*" in origins:
        return "*"
    if origin and origin.rstrip("/") in origins:
        return origin
    return None


def preflight_hook(server):
    """The before-view step ``preflight(request, g)``: answers preflights of /v1 routes; refuses
    those of /_mock."""
    from flask import Response

    origins = parse_origins(server.settings.cors_origins)

    def preflight(request, _g):
        environ = request.environ
        if environ["REQUEST_METHOD"] != "OPTIONS" or "HTTP_ACCESS_CONTROL_REQUEST_METHOD" not in environ:
            return None
        if is_control_path(request.path):
            raise ApiError(CROSS_ORIGIN_REFUSED, "The control API allows no cross-origin requests")
        origin = environ.get("HTTP_ORIGIN")
        response = Response(status=204)
        del response.headers["Content-Type"]
        _decorate(response, origins, origin)
        if allowed_origin(origins, origin):
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            response.headers["Access-Control-Allow-Headers"] = f"{ALLOW_HEADERS}, {asked}" if asked else ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response
    return preflight


def headers_hook(server):
    """The after-view step ``add_headers(request, g, response)``: CORS headers on every answer
    outside /_mock."""
    origins = parse_origins(server.settings.cors_origins)

    def add_headers(request, _g, response):
        # Only browsers send Origin, and CORS headers mean nothing without it: SDK and
        # CI traffic skips this work. (With an origin list, Vary: Origin still applies.)
        origin = request.environ.get("HTTP_ORIGIN")
        if origin is None and "*" in origins:
            return response
        if is_control_path(request.path):
            return response
        return _decorate(response, origins, origin)
    return add_headers


def _decorate(response, origins: list[str], origin: str | None):
    allow = allowed_origin(origins, origin)
    if allow:
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if allow != "*":
        response.vary.add("Origin")
    return response

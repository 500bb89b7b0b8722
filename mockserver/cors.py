"""CORS for browser clients (frontend sandbox): every route, preflights answered.

``Settings.cors_origins`` (env ``MOCKSERVER_CORS_ORIGINS``): ``*`` (default) or a
comma-separated list of origins (``http://localhost:3000,https://app.example``).
With a list, a request's ``Origin`` is echoed only when listed (plus
``Vary: Origin``); other origins get no CORS headers, so the browser blocks them.

The spec gate registers its routes without automatic OPTIONS, so preflights are
answered in a before_request hook, before routing could answer 404/405.
"""
from __future__ import annotations

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Accept, X-Requested-With, Content-Encoding"
EXPOSE_HEADERS = "X-Request-Id, X-Data-Type, X-Error-Message, Content-Length, Content-Type, Allow"
MAX_AGE = "600"


def parse_origins(value: str | None) -> list[str]:
    return [o.strip().rstrip("/") for o in (value or "*").split(",") if o.strip()]


def allowed_origin(origins: list[str], origin: str | None) -> str | None:
    if "*" in origins:
        return "*"
    if origin and origin.rstrip("/") in origins:
        return origin
    return None


def install(app, server) -> None:
    from flask import Response, request

    origins = parse_origins(server.settings.cors_origins)

    def preflight():
        environ = request.environ
        if environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            response = Response(status=204)
            del response.headers["Content-Type"]
            _decorate(response, request.headers.get("Origin"))
            allow = allowed_origin(origins, request.headers.get("Origin"))
            if allow:
                response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
                asked = request.headers.get("Access-Control-Request-Headers")
                response.headers["Access-Control-Allow-Headers"] = (
                    f"{ALLOW_HEADERS}, {asked}" if asked else ALLOW_HEADERS)
                response.headers["Access-Control-Max-Age"] = MAX_AGE
            return response
        return None

    def _decorate(response, origin):
        allow = allowed_origin(origins, origin)
        if allow:
            response.headers["Access-Control-Allow-Origin"] = allow
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if allow != "*":
            response.vary.add("Origin")
        return response

    def add_headers(response):
        # Only browsers send Origin, and CORS headers mean nothing without it: SDK and
        # CI traffic skips this work. (With an origin list, Vary: Origin still applies.)
        origin = request.environ.get("HTTP_ORIGIN")
        if origin is None and "*" in origins:
            return response
        return _decorate(response, origin)

    app.before_request_funcs.setdefault(None, []).insert(0, preflight)
    app.after_request_funcs.setdefault(None, []).append(add_headers)

"""The server (sandbox) a request is for.

One Flask app serves the default sandbox at the root and any number of sandboxes under
``/sandboxes/{id}`` (:mod:`mockserver.control.sandboxes`). The WSGI middleware puts the request's
:class:`~mockserver.app.MockServer` in the environ, so everything that needs "the server"
reads it per request (one dict lookup) instead of capturing one at app creation.
"""
from __future__ import annotations

from flask import current_app, request
from werkzeug.wsgi import get_current_url

SERVER_KEY = "mockserver.server"        # environ: the request's MockServer
SANDBOX_KEY = "mockserver.sandbox"      # environ: the sandbox id (absent at the root)
PREFIX_KEY = "mockserver.prefix"        # environ: "/sandboxes/{id}" (absent at the root)


def server():
    """The request's MockServer (the default one outside a request routed by the middleware)."""
    return request.environ.get(SERVER_KEY) or current_app.extensions["mockserver"]


def server_of(environ, default):
    return environ.get(SERVER_KEY) or default


def base_url(mock=None, environ: dict | None = None) -> str:
    """The URL the API lives under: scheme, host and the sandbox's /sandboxes/{id} (or a mount's
    SCRIPT_NAME), without a trailing slash. ``mock`` and ``environ``: the request's server and
    environ when the caller has them (no proxy look-ups), else this request's."""
    env = request.environ if environ is None else environ
    if mock is None:
        mock = env.get(SERVER_KEY) or current_app.extensions["mockserver"]
    configured = mock.settings.public_url
    if configured:
        return configured.rstrip("/") + env.get(PREFIX_KEY, "")
    # Deriving the URL from the environ is a noticeable share of a GET's CPU: memoised by
    # its inputs, bounded against junk Host headers.
    key = (env.get("wsgi.url_scheme"), env.get("HTTP_HOST"), env.get("SERVER_NAME"),
           env.get("SERVER_PORT"), env.get("SCRIPT_NAME"))
    cache = mock.host_urls
    url = cache.get(key)
    if url is None:
        if len(cache) > 256:
            cache.clear()
        url = cache[key] = get_current_url(env, root_only=True).rstrip("/")
    return url


def base_url_of(environ: dict, public_url: str | None) -> str:
    """:func:`base_url` for code that runs outside Flask's request (the git edge)."""
    if public_url:
        return public_url.rstrip("/") + environ.get(PREFIX_KEY, "")
    return get_current_url(environ, root_only=True).rstrip("/")

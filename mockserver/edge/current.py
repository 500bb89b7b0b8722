"""The server (sandbox) a request is for.

One Flask app serves the default sandbox at the root and any number of sandboxes under
``/sandboxes/{id}`` (:mod:`mockserver.control.sandboxes`). The WSGI middleware puts the request's
:class:`~mockserver.edge.app.MockServer` in the environ, so everything that needs "the server"
reads it per request (one dict lookup) instead of capturing one at app creation.
"""
from __future__ import annotations

from flask import current_app, request

SERVER_KEY = "mockserver.server"        # environ: the request's MockServer
SANDBOX_KEY = "mockserver.sandbox"      # environ: the sandbox id (absent at the root)
PREFIX_KEY = "mockserver.prefix"        # environ: "/sandboxes/{id}" (absent at the root)


def server():
    """The request's MockServer (the default one outside a request routed by the middleware)."""
    return request.environ.get(SERVER_KEY) or current_app.extensions["mockserver"]


def server_of(environ, default):
    return environ.get(SERVER_KEY) or default

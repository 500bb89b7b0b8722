"""Helpers every handler uses to reach the request's context."""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import g, request
from werkzeug.wsgi import get_content_length

from mockserver.web import current, lane
from mockserver.web.current import base_url
from mockserver.domain.principal import Principal
from mockserver.errors import BODY_TOO_LARGE, ApiError
from mockserver.domain.context import Ctx
from mockserver.edge.gate import Input
from mockserver.web.jsonio import empty_response, json_response
from mockserver.pagination import Page


server = current.server      # the request's sandbox (the default one at the root)


def ctx() -> Ctx:
    return server().ctx


def request_base_url(inp: Input) -> str:
    """:func:`base_url` of the request ``inp`` came with, without proxy look-ups."""
    return base_url(inp.mock, inp.request.environ)


def _state():
    """The values this request's hooks resolved: the lane's, or Flask's ``g`` (web/lane.py)."""
    return lane.STATE.get() or g


def caller() -> Principal | None:
    return _state().get("principal")


def inp() -> Input:
    return _state().input


def note(*notes: str) -> None:
    """Remarks on how this request was read (e.g. settings keys ignored), for its journal entry."""
    if notes:
        _state().setdefault("notes", []).extend(notes)


def ok(obj: Any, status: int = 200):
    return json_response(obj, status)


def paged(page: Page, render: Callable[[Any, str], Any] | None = None):
    """A page's envelope; ``render(item, base_url)`` turns the domain's items into wire form."""
    if render is not None:
        url = base_url()
        page = Page([render(item, url) for item in page.results], page.marker)
    return json_response(page.envelope(request_url()))


# Characters a URL may carry unquoted (RFC 3986 unreserved, sub-delims, ":@/%").
_PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")


def request_url() -> str:
    """The URL of this request (with the configured public URL, if any): its links build on it.

    A plain ASCII path and query are used as they are; anything else goes through
    Werkzeug's quoting (request.url), which costs several µs on every listing otherwise.
    """
    env = request.environ
    path = env.get("PATH_INFO", "")           # base_url() carries SCRIPT_NAME (a sandbox's prefix)
    query = env.get("QUERY_STRING", "")
    if not (_PLAIN_URL.fullmatch(path) and _PLAIN_URL.fullmatch(query)):
        if not server().settings.public_url:
            return request.url
        return base_url() + request.full_path.rstrip("?")
    return base_url() + path + (f"?{query}" if query else "")


def no_content(status: int | None = None):
    """An empty answer with the success status the spec gives the operation (204 or 200)."""
    op = _state().get("operation")
    return empty_response(status or (op.success_status if op else 204))


def page_args() -> dict[str, Any]:
    """limit/marker from the query, with the server's page bounds."""
    settings = server().settings
    q = _state().input.query
    return {"limit": q.get("limit"), "marker": q.get("marker"),
            "max_limit": settings.page_max, "default_limit": settings.page_default}


_CHUNK = 64 * 1024


def read_body(limit: int, req=None) -> bytes:
    """The raw request body (of ``req``, by default this request), refused (413) past ``limit``
    without ever buffering more.

    A declared Content-Length over the limit is refused before reading; a chunked
    body is read in bounded pieces and refused as soon as it passes the limit.
    """
    if req is None:
        req = request._get_current_object()
    environ = req.environ
    declared = environ.get("CONTENT_LENGTH")
    if declared and declared.isascii() and declared.isdigit() and "HTTP_TRANSFER_ENCODING" not in environ:
        length: int | None = int(declared)             # plain digits: what Werkzeug would read, without its regex
    else:
        length = get_content_length(environ)          # request.content_length, without the headers object
    if length is not None:
        if length > limit:
            raise _too_large(limit, length)
        return req.get_data(cache=True)               # exactly Content-Length bytes (<= limit)
    chunks, total = [], 0
    stream = req.stream                               # chunked: the server terminates the stream
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, declared: int | None = None) -> ApiError:
    size = f"{declared} bytes; " if declared is not None else ""
    return ApiError(BODY_TOO_LARGE, f"Request body too large: {size}the limit is {limit} bytes")

"""The git smart-HTTP server: ``/git/{owner}/{algoname}.git`` on the API's port.

dulwich's WSGI application speaks the protocol; this module decides who may
do what, hands dulwich a private copy of the repository for the one request,
and after a push stores the result and builds the new head (a push
"implicitly triggers a build", seed 000).

Credentials are HTTP Basic with the API key as the password (the user name is
not checked; git asks for both). Cloning needs the right to read the source:
the algorithm's managers, or anyone who can see it when its
``source_visibility`` is ``open``. Pushing needs management rights and a key
with ``allow_algo_management``. Answers: 401 + ``WWW-Authenticate`` without
(valid) credentials, so git asks for them; 403 when the caller may not; 404
for a missing or hidden algorithm. Errors are plain text, as git prints them.
"""
from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from http import HTTPStatus
from typing import Any, Callable, Iterable

from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

from mockserver.web import site
from mockserver.domain.principal import Principal
from mockserver.edge.auth import key_from_header
from mockserver.web.current import base_url_of, server_of
from mockserver.domain import algorithms, builds, gitbuilds, orgs
from mockserver.domain.context import Ctx
from mockserver.domain.repository import DEFAULT_BRANCH, Repository
from mockserver.errors import ApiError

log = logging.getLogger("mockserver.git")

PREFIX = "/git/"
_PATH = re.compile(r"^/git/([^/]+)/([^/]+?)\.git(/.*)?$")
_SERVICES = {"git-upload-pack": "read", "git-receive-pack": "write"}
_REALM = 'Basic realm="Algorithmia git"'


class GitMiddleware:
    """Sends ``/git/...`` to the git server, everything else to ``app``."""

    def __init__(self, app: Callable, server, max_push_bytes: int):
        self.app = app
        self.server = server       # the default sandbox; a sandbox's own comes in the environ
        self.max_push_bytes = max_push_bytes
        self._push_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.app(environ, start_response)
        try:
            status, headers, body = self.handle(environ)
        except ApiError as err:
            status, headers, body = _text(err.status, err.message, err.headers)
        except Exception:     # never a traceback on the wire
            log.exception("git request failed: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, headers, body = _text(400, "the git request failed; see the server log")
        start_response(status, headers)
        return [body]

    # -- one request -----------------------------------------------------------------
    def handle(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
        server = server_of(environ, self.server)          # the request's sandbox (sandboxes.py)
        ctx = server.ctx
        # /git answers no other origin and no rebound Host, as the control plane: a push runs code.
        site.check_site(environ, server.settings.public_names, "/git", "git requests from another "
                                 "origin are refused")
        match = _PATH.match(environ.get("PATH_INFO", ""))
        if not match:
            raise ApiError(None, "not a repository address: use /git/OWNER/ALGORITHM.git", 404)
        owner, name, rest = match.group(1), match.group(2), match.group(3) or "/"
        service = _service(environ, rest)
        who = _principal(ctx, environ)
        with ctx.store.write() as state:
            algo = state.algorithm_named(owner, name)        # without regard to case (docs/behaviour.md)
            if algo is not None:
                owner, name = algo.owner, algo.name          # the stored spelling from here on
            manager = algo is not None and orgs.acts_for(state, who, owner)
            if algo is None or not (manager or algorithms.is_public(algo)):
                raise ApiError(None, f"repository not found: {owner}/{name}", 404)
            if _SERVICES[service] == "write":
                if not manager:
                    raise ApiError(None, f"only the owner of {owner}/{name} (or a member of its organization) "
                                   "may push to it", 403)
                if not who.allows("allow_algo_management"):
                    raise ApiError(None, "this API key lacks allow_algo_management, which pushing needs", 403)
                _check_push_key(environ, server)
            elif not (manager or algo.settings.get("source_visibility") == "open"):
                raise ApiError(None, f"the source of {owner}/{name} is closed: only its owner may clone it", 403)
            algo_id = algo.id
            before = gitbuilds.repository_of(state, algo)
        if _SERVICES[service] == "read":
            return _run_dulwich(before.to_memory_repo(), environ, rest, self.max_push_bytes)
        with self._push_lock(f"{owner}/{name}"):     # pushes to one repository take turns
            with ctx.store.read() as state:
                before = state.repos.get(f"{owner}/{name}") or before
            repo = before.to_memory_repo()
            answer = _run_dulwich(repo, environ, rest, self.max_push_bytes)
            after = Repository.from_memory_repo(repo)
            if after.refs == before.refs:
                return answer
            with ctx.store.write() as state:
                algo = state.algorithms.get(f"{owner}/{name}")
                if algo is None or algo.id != algo_id:
                    return answer       # deleted meanwhile: the push goes nowhere
                state.put_repo(algo.full_name, after)
                algo.binding = algo.binding_base = None      # the repository now says what runs
            if after.refs.get(DEFAULT_BRANCH) not in (None, before.refs.get(DEFAULT_BRANCH)):
                try:
                    builds.build_head(ctx, None, owner, name, "git push",
                                      base_url=base_url_of(environ, server.settings.public_url))
                except ApiError as err:     # e.g. deleted meanwhile: the push itself went through
                    log.warning("no build after the push to %s/%s: %s", owner, name, err.message)
            return answer

    def _push_lock(self, full_name: str) -> threading.Lock:
        with self._locks_lock:
            return self._push_locks.setdefault(full_name, threading.Lock())


def _check_push_key(environ: dict, server) -> None:
    """A push makes the mock build and run the pushed code, so a server with a control key (always
    the case off loopback) takes pushes only from its operator: git sends the key with
    ``git -c http.extraHeader="X-Mock-Control-Key: KEY" push``."""
    if server.control_key is None:
        return
    if not site.same_secret(environ.get("HTTP_X_MOCK_CONTROL_KEY"), server.control_key):
        raise ApiError(None, "this server takes pushes only with its control key: "
                       'git -c http.extraHeader="X-Mock-Control-Key: KEY" push', 403)


def _service(environ: dict, rest: str) -> str:
    """The smart-HTTP service asked for (the dumb protocol is not served)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET" and rest == "/info/refs":
        query = dict(part.partition("=")[::2] for part in environ.get("QUERY_STRING", "").split("&") if part)
        service = query.get("service", "")
    elif method == "POST" and rest.lstrip("/") in _SERVICES:
        service = rest.lstrip("/")
    else:
        raise ApiError(None, "only git's smart HTTP protocol is served (git 1.6.6 or later)", 404)
    if service not in _SERVICES:
        raise ApiError(None, f"unknown git service {service!r}", 403)
    return service


def _principal(ctx: Ctx, environ: dict) -> Principal:
    """The caller from HTTP Basic (API key as the password) or the API's own header forms."""
    header = environ.get("HTTP_AUTHORIZATION") or ""
    secret = None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        secret = password or user or None
    elif header:
        secret = key_from_header(header)
    unauthorized = {"WWW-Authenticate": _REALM}
    if not secret:
        raise ApiError(None, "authentication required: use your API key as the password", 401, headers=unauthorized)
    with ctx.store.read() as state:
        key = state.keys.get(secret)
    if key is None:
        raise ApiError(None, "unknown or invalid API key", 401, headers=unauthorized)
    return Principal(key)


def _run_dulwich(repo: Any, environ: dict, rest: str, max_bytes: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """One smart-HTTP exchange against ``repo`` (mutated by a push), fully buffered."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes:
        return _text(413, f"the push is too large: the limit is {max_bytes} bytes")
    env = dict(environ)
    env["PATH_INFO"], env["SCRIPT_NAME"] = rest, ""
    if env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and _server_dechunks(environ):
        del env["HTTP_TRANSFER_ENCODING"]       # the WSGI server has decoded it already
    app = make_wsgi_chain(DictBackend({"/": repo}), dumb=False)   # caps a body without Content-Length
    response: dict[str, Any] = {}
    parts: list[bytes] = []     # write() calls and yielded chunks, in the order they came

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        response["status"], response["headers"] = status, list(headers)
        return lambda data: parts.append(bytes(data))

    chunks = app(env, start_response)
    try:
        for chunk in chunks:
            parts.append(bytes(chunk))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    body = b"".join(parts)
    status = response.get("status", "500 Internal Server Error")
    if status.startswith("5"):
        return _text(400, "the git request failed")
    headers = [(k, v) for k, v in response.get("headers", []) if k.lower() != "content-length"]
    return status, headers + [("Content-Length", str(len(body)))], body


def _server_dechunks(environ: dict) -> bool:
    return bool(environ.get("wsgi.input_terminated")) or "gunicorn.socket" in environ


def _text(status: int, message: str, headers: dict[str, str] | None = None):
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    body = (message + "\n").encode("utf-8")
    out = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    out += list((headers or {}).items())
    return f"{status} {phrase}".strip(), out, body

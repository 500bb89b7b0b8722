"""The git smart-HTTP server: ``/git/{owner}/{algoname}.git`` on the API's port.

Imported on the first git request (``git_route.py``): with the modules below it (dulwich's
server among them) it adds ~4.6 MB to the server's memory, and most runs never use git.

This module speaks the protocol; the rules are the domain's. Credentials are HTTP Basic with
the API key as the password (the user name is not checked; git asks for both); who may clone
or push is decided by ``domain/gitaccess.py``. Clones and fetches (upload-pack) are served by
dulwich's WSGI application over a read-only view of the stored repository
(``git_view.py``); pushes (receive-pack) are read here (``git_receive.py``) and taken, or
refused, by ``domain/gitpush.py``, which also builds the new head. Answers: 401 +
``WWW-Authenticate`` without (valid) credentials, so git asks for them; 403 when the caller
may not; 404 for a missing or hidden algorithm. Errors are plain text, as git prints them;
a refused push is a 200 whose report says why (git shows it), as git servers answer.
"""
from __future__ import annotations

import base64
import binascii
import logging
import re
import tempfile
from http import HTTPStatus
from typing import Any, Callable, Iterable

from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

from mockserver.web import site
from mockserver.domain.principal import Principal
from mockserver.edge import git_receive, memory_gate
from mockserver.edge.auth import key_from_header
from mockserver.edge.git_view import RepositoryView
from mockserver.web.current import base_url_of, server_of
from mockserver.domain import gitaccess, gitpush
from mockserver.domain.context import Ctx
from mockserver.memory import MemoryBudget
from mockserver.errors import (GIT_AUTH_REQUIRED, GIT_BODY_TOO_LARGE, GIT_NOT_FOUND, GIT_REQUEST_FAILED,
                               GIT_UNKNOWN_SERVICE, GIT_WRONG_CONTENT_TYPE, ApiError)

log = logging.getLogger("mockserver.git")

_PATH = re.compile(r"^/git/([^/]+)/([^/]+?)\.git(/.*)?$")
_SERVICES = {"git-upload-pack": gitaccess.READ, "git-receive-pack": gitaccess.WRITE}
_REALM = 'Basic realm="Algorithmia git"'
_SPOOL_IN_MEMORY = 1024 * 1024          # a clone's answer past this goes to a temporary file


class GitServer:
    """The WSGI application of ``/git/...`` requests (``git_route.GitMiddleware`` sends them here)."""

    def __init__(self, server, max_push_bytes: int, memory: MemoryBudget):
        self.server = server       # the default sandbox; a sandbox's own comes in the environ
        self.max_push_bytes = max_push_bytes       # a pushed pack, as sent (compressed)
        self.memory = memory       # the process's budget: a push adds records too

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            status, headers, body = self.handle(environ)
        except ApiError as err:
            status, headers, body = _text(err)
        except Exception:     # never a traceback on the wire
            log.exception("git request failed: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, headers, body = _text(ApiError(GIT_REQUEST_FAILED, "the git request failed; see the server log"))
        start_response(status, headers)
        return [body] if isinstance(body, bytes) else body

    # -- one request -----------------------------------------------------------------
    def handle(self, environ: dict) -> tuple[str, list[tuple[str, str]], Any]:
        server = server_of(environ, self.server)          # the request's sandbox (sandboxes.py)
        ctx = server.ctx
        # /git answers no other origin and no rebound Host, as the control plane: a push runs code.
        site.check_site(environ, server.settings.public_names, "/git", "git requests from another "
                                 "origin are refused")
        match = _PATH.match(environ.get("PATH_INFO", ""))
        if not match:
            raise ApiError(GIT_NOT_FOUND, "not a repository address: use /git/OWNER/ALGORITHM.git")
        owner, name, rest = match.group(1), match.group(2), match.group(3) or "/"
        service = _service(environ, rest)
        target = gitaccess.open_repository(ctx, _principal(ctx, environ), owner, name, _SERVICES[service],
                                           control_key=server.control_key,
                                           presented_key=environ.get("HTTP_X_MOCK_CONTROL_KEY"))
        if service == "git-upload-pack":
            return _run_dulwich(RepositoryView(target.repo), environ, rest, self.max_push_bytes)
        if environ.get("REQUEST_METHOD") == "GET":
            return _answer(200, "application/x-git-receive-pack-advertisement",
                           git_receive.advertisement(target.repo))
        return self._receive(ctx, target, environ, base_url_of(environ, server.settings.public_url))

    def _receive(self, ctx: Ctx, target: gitaccess.GitTarget, environ: dict, base_url: str):
        """A push: its commands, its pack spooled to disk, then the domain's verdict (``base_url``:
        the API's address, for the build's import check)."""
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip() != "application/x-git-receive-pack-request":
            raise ApiError(GIT_WRONG_CONTENT_TYPE, "Invalid Content-Type: a push is sent as "
                           "application/x-git-receive-pack-request")
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > self.max_push_bytes:
            raise ApiError(GIT_BODY_TOO_LARGE, f"the push is too large: the limit is {self.max_push_bytes} bytes")
        body = git_receive.RequestBody(environ, self.max_push_bytes)
        commands: list[gitpush.Command] = []
        capabilities: set[bytes] = set()
        try:
            commands, capabilities = git_receive.read_commands(body)
            if not commands:                # git's probe before a large push, or nothing to do
                return _answer(200, "application/x-git-receive-pack-result", b"")
            sends_pack = any(command.new != gitpush.ZERO for command in commands)
            refused = memory_gate.refusal(self.memory, "this push")
            if refused is not None:         # before the pack is read: nothing of it is kept
                result = gitpush.PushReport(unpack_error=f"push refused: {refused.message}")
                result.ref_errors = {command.ref: "unpacker error" for command in commands}
            else:
                with ctx.storage.blobs.spool() as pack:
                    if sends_pack:
                        body.copy_to(pack)
                    result = gitpush.push(ctx, target, commands, pack if sends_pack else None, base_url=base_url)
        except git_receive.TooLarge as exc:
            result = gitpush.PushReport(unpack_error=f"push refused: the pack is over {exc.limit} bytes as sent "
                                        "(the request body limit, --max-request-bytes)")
            result.ref_errors = {command.ref: "unpacker error" for command in commands}
        return _answer(200, "application/x-git-receive-pack-result",
                       git_receive.report(result, commands, capabilities))


def _service(environ: dict, rest: str) -> str:
    """The smart-HTTP service asked for (the dumb protocol is not served)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET" and rest == "/info/refs":
        query = dict(part.partition("=")[::2] for part in environ.get("QUERY_STRING", "").split("&") if part)
        service = query.get("service", "")
    elif method == "POST" and rest.lstrip("/") in _SERVICES:
        service = rest.lstrip("/")
    else:
        raise ApiError(GIT_NOT_FOUND, "only git's smart HTTP protocol is served (git 1.6.6 or later)")
    if service not in _SERVICES:
        raise ApiError(GIT_UNKNOWN_SERVICE, f"unknown git service {service!r}")
    return service


def _principal(ctx: Ctx, environ: dict) -> Principal:
    """The caller from HTTP Basic (API key as the password) or the API's own header forms."""
    header = environ.get("HTTP_AUTHORIZATION") or ""
    secret = None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):       # not base64, not ASCII, not UTF-8: no credentials
            user = password = ""
        secret = password or user or None
    elif header:
        secret = key_from_header(header)
    unauthorized = {"WWW-Authenticate": _REALM}
    if not secret:
        raise ApiError(GIT_AUTH_REQUIRED, "authentication required: use your API key as the password",
                       headers=unauthorized)
    with ctx.store.read() as state:
        key = state.keys.get(secret)
    if key is None:
        raise ApiError(GIT_AUTH_REQUIRED, "unknown or invalid API key", headers=unauthorized)
    return Principal(key)


def _run_dulwich(repo: Any, environ: dict, rest: str, max_bytes: int) -> tuple[str, list[tuple[str, str]], Any]:
    """One upload-pack exchange against ``repo``; the answer is spooled (to disk past 1 MiB)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes:
        raise ApiError(GIT_BODY_TOO_LARGE, f"the request is too large: the limit is {max_bytes} bytes")
    env = dict(environ)
    env["PATH_INFO"], env["SCRIPT_NAME"] = rest, ""
    if env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and _server_dechunks(environ):
        del env["HTTP_TRANSFER_ENCODING"]       # the WSGI server has decoded it already
    app = make_wsgi_chain(DictBackend({"/": repo}), dumb=False)   # caps a body without Content-Length
    response: dict[str, Any] = {}
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        response["status"], response["headers"] = status, list(headers)
        return lambda data: spool.write(bytes(data))

    try:
        chunks = app(env, start_response)
        try:
            for chunk in chunks:
                spool.write(bytes(chunk))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    except BaseException:
        spool.close()
        raise
    status = response.get("status", "500 Internal Server Error")
    if status.startswith("5"):
        spool.close()
        raise ApiError(GIT_REQUEST_FAILED, "the git request failed")
    size = spool.tell()
    spool.seek(0)
    headers = [(k, v) for k, v in response.get("headers", []) if k.lower() != "content-length"]
    return status, headers + [("Content-Length", str(size))], _chunks_of(spool)


def _chunks_of(spool) -> Iterable[bytes]:
    try:
        while chunk := spool.read(256 * 1024):
            yield chunk
    finally:
        spool.close()


def _server_dechunks(environ: dict) -> bool:
    return bool(environ.get("wsgi.input_terminated")) or "gunicorn.socket" in environ


def _answer(status: int, content_type: str, body: bytes):
    return (f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", content_type), ("Cache-Control", "no-cache"), ("Content-Length", str(len(body)))], body)


def _text(err: ApiError):
    """An error as git's answer: plain text, as git prints it, with the status of its kind."""
    status = err.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    body = (err.message + "\n").encode("utf-8")
    out = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    out += list(err.headers.items())
    return f"{status} {phrase}".strip(), out, body

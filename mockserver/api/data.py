"""Data API: /v1/data/{path} (hosted data://) and /v1/connector/{connector}/{path}.

Thin: read the raw body (bounded), call domain.data, shape the answer.
"""
from __future__ import annotations

import re
from email.utils import format_datetime
from urllib.parse import unquote_to_bytes

from flask import Response, request

from mockserver.domain import data, data_paths
from mockserver.errors import REQUEST_INVALID, ApiError
from mockserver.ids import parse_iso
from mockserver.web.jsonio import empty_response, json_response
from mockserver.api import render
from mockserver.web.handlers import Handlers
from mockserver.api.common import caller, ctx, page_args, read_body, server

ops = Handlers()

_MAX_DIRECTORY_BODY = 64 * 1024        # a directory creation body is a name or a tiny JSON object


# A whole data URI in a /v1/data path: the official Python client (algorithmia 2.0.5) builds
# '/v1/data/' + uri for any URI that is not data://, e.g. /v1/data/s3+test://bucket/file.
_URI_IN_DATA_PATH = re.compile(r"([a-z][a-z0-9]*(?:\+[A-Za-z0-9_-]+)?)://(.*)", re.S)


def _where(inp) -> tuple[str, str | None]:
    """(connector, path) for every route shape."""
    connector = inp.path.get("connector", data_paths.HOSTED)
    path = inp.path.get("data_path", inp.path.get("connector_path"))
    _check_utf8_path()
    if "connector" not in inp.path and path and (uri := _URI_IN_DATA_PATH.fullmatch(path)):
        connector, path = uri.group(1), uri.group(2)
    return connector, path


def _check_utf8_path() -> None:
    """Servers decode a path's bytes with errors="replace", so %FF%FE and %C0%C1 would both
    name the same U+FFFD file: refuse bytes that are not UTF-8 instead. The raw request
    target (RAW_URI: gunicorn and Werkzeug) is checked when the server gives it."""
    env = request.environ
    raw_uri = env.get("RAW_URI") or env.get("REQUEST_URI")
    if raw_uri is not None:
        target = raw_uri.split("?", 1)[0]
        if "%" not in target and target.isascii():
            return
        raw = unquote_to_bytes(target)
    else:
        path = env.get("PATH_INFO", "")
        if path.isascii():
            return
        raw = path.encode("latin-1", "replace")
    try:
        raw.decode("utf-8")
    except UnicodeError:
        raise ApiError(REQUEST_INVALID, "The request is invalid: the path is not valid UTF-8 "
                       "(percent-encode the UTF-8 bytes of each character)") from None


# -- read ---------------------------------------------------------------------
@ops("getDataRoot", "getDataPath", "getConnectorRoot", "getConnectorPath")
def get_path(inp):
    connector, path = _where(inp)
    found = data.get(ctx(), caller(), connector, path, acl=bool(inp.query.get("acl")), page=page_args())
    if isinstance(found, data.FileView):
        response = Response(found.data, status=200, content_type=found.content_type,
                            headers={"X-Data-Type": data_paths.FILE})
        if _http_date(found.last_modified):
            response.headers["Last-Modified"] = _http_date(found.last_modified)
        return response
    return json_response(render.data_listing(found), headers={"X-Data-Type": data_paths.DIRECTORY})


@ops("headDataRoot", "headDataPath", "headConnectorRoot", "headConnectorPath")
def head_path(inp):
    connector, path = _where(inp)
    try:
        found = data.head(ctx(), caller(), connector, path)
    except ApiError as err:
        # HEAD has no body: the Python client reads X-Error-Message for the reason.
        err.headers = {**err.headers, "X-Error-Message": err.message.encode("ascii", "replace").decode("ascii")}
        raise
    response = empty_response(200, {"X-Data-Type": found.data_type})
    response.headers["Content-Length"] = str(found.size)
    if found.content_type:
        response.headers["Content-Type"] = found.content_type
    if found.last_modified and _http_date(found.last_modified):
        response.headers["Last-Modified"] = _http_date(found.last_modified)
    return response


# -- write ----------------------------------------------------------------------
@ops("uploadDataFile", "uploadConnectorFile")
def upload(inp):
    connector, path = _where(inp)
    data_paths.split_path(path)                          # a bad path is refused before the body is read
    body = read_body(server().settings.max_upload_bytes)
    return json_response({"result": data.upload(ctx(), caller(), connector, path, body)})


@ops("createDataDirectory", "createConnectorDirectory", "createConnectorRootDirectory")
def create_directory(inp):
    connector, path = _where(inp)
    body = read_body(_MAX_DIRECTORY_BODY)
    return json_response({"result": data.create_directory(ctx(), caller(), connector, path, body)})


@ops("updateDataAcl", "updateConnectorAcl")
def update_acl(inp):
    connector, path = _where(inp)
    data.update_acl(ctx(), caller(), connector, path, inp.body)
    return empty_response(200)


@ops("deleteDataPath", "deleteConnectorPath")
def delete_path(inp):
    connector, path = _where(inp)
    deleted = data.delete(ctx(), caller(), connector, path, force=bool(inp.query.get("force")))
    return json_response({"result": {"deleted": deleted}})


def _http_date(iso: str) -> str | None:
    moment = parse_iso(iso)
    return None if moment is None else format_datetime(moment, usegmt=True)

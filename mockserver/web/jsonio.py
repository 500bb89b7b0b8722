"""Compact JSON responses: no spaces, no trailing newline (unlike jsonify); in the lane as its
light answers (web/answer.py), under Flask as Werkzeug responses."""
from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response

from mockserver.errors import INVALID_JSON, REQUEST_INVALID, ApiError
from mockserver.web.answer import Answer
from mockserver.web.lane import STATE


def dumps_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON. orjson is ~15x faster than the stdlib on the per-request path;
    what it refuses (integers beyond 64 bits) goes through the stdlib instead."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response | Answer:
    return bytes_response(dumps_bytes(obj), "application/json", status, headers)


def bytes_response(body: bytes, content_type: str, status: int = 200,
                   headers: dict | None = None) -> Response | Answer:
    """``body`` as it is: the lane's answer in the lane, a Werkzeug response under Flask."""
    if STATE.get() is not None and status >= 200 and status not in (204, 304):
        return Answer(body, status, content_type, headers)
    return Response(body, status=status, headers=headers, content_type=content_type)


def error_response(err: ApiError, body: dict | None = None) -> Response:
    """The one rendering of an ``ApiError``: its body (``body``: the error handler's finished
    copy of it), the status its kind answers with, and its headers."""
    return json_response(err.body() if body is None else body, err.status, err.headers)


def empty_response(status: int = 204, headers: dict | None = None) -> Response:
    # The Python client json-decodes some empty answers; an empty 200/204 body is
    # what the real service sends for deletes.
    return Response(b"", status=status, headers=headers)


def request_json(object_message: str | None = None) -> Any:
    """The request's JSON body for the control API (None when empty).

    With ``object_message``, anything but a JSON object is refused with that message.
    """
    from flask import request

    raw = request.get_data()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError) as exc:
        raise ApiError(INVALID_JSON, f"Invalid JSON: {exc}") from None
    if object_message is not None and not isinstance(data, dict):
        raise ApiError(REQUEST_INVALID, object_message)
    return data

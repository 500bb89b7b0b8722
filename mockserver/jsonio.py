"""Compact JSON responses: no spaces, no trailing newline (unlike jsonify)."""
from __future__ import annotations

import json
from typing import Any

from flask import Response


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(obj), status=status, headers=headers,
                    content_type="application/json")


def empty_response(status: int = 204, headers: dict | None = None) -> Response:
    # The Python client json-decodes some empty answers; an empty 200/204 body is
    # what the real service sends for deletes.
    return Response(b"", status=status, headers=headers)


def request_json(object_message: str | None = None) -> Any:
    """The request's JSON body for the control API (None when empty).

    With ``object_message``, anything but a JSON object is refused with that message.
    """
    from flask import request

    from .errors import INVALID_JSON, REQUEST_INVALID, ApiError
    raw = request.get_data()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError) as exc:
        raise ApiError(INVALID_JSON, f"Invalid JSON: {exc}") from None
    if object_message is not None and not isinstance(data, dict):
        raise ApiError(REQUEST_INVALID, object_message)
    return data

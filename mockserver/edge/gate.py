"""The spec gate: checks a request against its operation before any route runs.

Query and path values arrive as strings; they are cast by their schema type and
then validated. JSON bodies are parsed whatever the Content-Type says (clients
mislabel them) and only for operations that declare a JSON body; bodies of
GET/HEAD/DELETE are never read. Failures become ``ApiError`` of the kind the
operation declares and a message naming the offending field.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import orjson

from mockserver.errors import INVALID_JSON, INVALID_LIMIT, REQUEST_INVALID, ApiError
from mockserver.edge.spec import Operation, Param

_CAST = {"integer", "number", "boolean"}
_CASTS = _CAST | {"array"}                 # the kinds whose raw strings _cast changes
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass
class Input:
    """What a handler gets: typed, validated parameters and the parsed body; and what the
    request hook resolved for it (the request's server, caller, id and the request itself), so that
    handlers need not look them up again."""
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    mock: Any = None               # the request's MockServer (app.py)
    principal: Any = None          # the caller (None: no key sent, or a control operation)
    request_id: str = ""
    request: Any = None            # the Flask request (its environ, body)


def check(op: Operation, view_args: Mapping[str, str], args: Mapping[str, Any] | None,
          headers: Mapping[str, str], read_body) -> Input:
    """Validate one request. ``args`` is a MultiDict (None when the operation has no query
    parameter); ``read_body()`` returns bytes."""
    found = Input()
    for param in op.params:
        if param.location == "path":
            raw = view_args.get(param.name)
            target = found.path
        elif param.location == "query":
            raw = args.getlist(param.name) if param.kind == "array" else args.get(param.name)
            if raw == []:
                raw = None
            target = found.query
        elif param.location == "header":
            raw = headers.get(param.name)
            target = found.headers
        else:
            continue
        if raw is None:
            if param.required:
                raise _param_error(param, f"{param.location} parameter '{param.name}' is required")
            continue
        value = raw if param.kind not in _CASTS else _cast(param, raw)
        error = param.validator.best_error(value)
        if error is not None:
            raise _param_error(param, f"{param.location} parameter '{param.name}': {error.message}")
        target[param.name] = value
    if op.body is not None and not op.raw_body:
        if (headers.get("Content-Type") or "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            # e.g. algorithmia 2.0.5's algo.update(), which form-encodes nested dicts (only
            # their keys arrive): refused as a JSON API would, never a silent no-op 200.
            raise ApiError(op.invalid_kind, "The request body must be JSON (Content-Type: application/json), "
                           "not a form-encoded body")
        found.body = _body(op, read_body())
    return found


def _cast(param: Param, raw: Any) -> Any:
    kind = param.kind
    if kind == "array":
        return [_cast_one(param, param.item_kind, v) for v in raw]
    return _cast_one(param, kind, raw)


def _cast_one(param: Param, kind: str | None, raw: Any) -> Any:
    """A string from the query, path or headers as the schema type ``kind`` wants it."""
    if kind not in _CAST:
        return raw
    text = str(raw).strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):           # nan would pass every minimum and maximum
                raise ValueError(text)
            return number
    except ValueError:
        raise _param_error(param, f"{param.location} parameter '{param.name}' must be a{'n integer' if kind == 'integer' else ' number'}, got {raw!r}") from None
    if kind == "boolean":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _param_error(param, f"{param.location} parameter '{param.name}' must be true or false, got {raw!r}")
    return raw


def _param_error(param: Param, message: str) -> ApiError:
    if param.name == "limit":
        return ApiError(INVALID_LIMIT, f"Limit must be between 1 and the system-configured page size limit: {message}")
    return ApiError(REQUEST_INVALID, f"The request is invalid: {message}")


def _body(op: Operation, data: bytes) -> Any:
    if not data or data.isspace():       # (bytes.isspace: the whitespace bytes.strip strips)
        if op.body.required:
            raise ApiError(op.missing_kind, "The request is invalid: a JSON request body is required")
        return None
    try:
        value = parse_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(INVALID_JSON, f"Invalid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(INVALID_JSON, "Invalid JSON: nested too deeply") from None
    check_body(op, value)
    return value


# A run of 19 digits or more may be an integer beyond 64 bits, which orjson reads as a float.
# Found as "1" * 19 in the body with every digit made "1" and every other byte "0" (C speed;
# a regular expression costs more than orjson's whole parse).
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_LONG_DIGITS = b"1" * 19


def parse_json(data: bytes) -> Any:
    """``json.loads(data)``, the authority on what a body is, at a fifth of its cost: orjson reads
    what it can (strict RFC 8259 UTF-8 JSON: the same values), everything else (NaN and
    Infinity, lone surrogates, other encodings, absurd nesting, errors) goes to ``json.loads``,
    so every value and every error message is the stdlib's."""
    if _LONG_DIGITS not in data.translate(_DIGITS_AS_ONES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def check_body(op: Operation, value: Any) -> None:
    """A parsed body against the operation's body schema (ApiError naming the field)."""
    if op.body is not None and op.body.validator is not None:
        error = op.body.validator.best_error(value)
        if error is not None:
            raise _body_error(op, error)


def _body_error(op: Operation, error) -> ApiError:
    where = "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return ApiError(op.missing_kind, f"Request body is invalid, missing field: '{missing}' (at {where})")
    if error.validator == "additionalProperties":
        return ApiError(op.invalid_kind, f"The request is invalid: {where}: {error.message} (no such field on this object)")
    return ApiError(op.invalid_kind, f"The request is invalid: {where}: {error.message}")

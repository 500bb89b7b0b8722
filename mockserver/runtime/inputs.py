"""A call's input, decoded by the request's Content-Type as the platform does it (server side).

Input, by the request Content-Type (parameters like ``; charset=`` ignored):

==========================================  =====================================
application/json, text/json, */*+json       ``json.loads`` (invalid -> BadInput; empty body -> None)
text/plain, application/text, text/*        UTF-8 ``str`` (invalid UTF-8 -> BadInput)
application/octet-stream                    ``bytes``
multipart/form-data                         ``{part name: value}``, each part decoded by its own
                                            Content-Type as above (one of the three kinds; a
                                            part without one is refused: runtime/multipart.py)
missing / anything else                     JSON if it parses, else UTF-8 text, else bytes
==========================================  =====================================

Only the server decodes input (a worker process gets the decoded value), so this module may use
orjson, which worker processes never import (its import costs more than their whole cold start
should).
"""
from __future__ import annotations

import json
from typing import Any, Optional

import orjson

from mockserver.runtime.errors import BadInput
from mockserver.runtime.multipart import BadMultipart, split

JSON_TYPES = ("application/json", "text/json")
TEXT_TYPES = ("text/plain", "application/text")
BINARY_TYPES = ("application/octet-stream",)


def media_type(content_type: Optional[str]) -> str:
    if not content_type:
        return ""
    mt = _MEDIA_TYPES.get(content_type)
    if mt is None:
        mt = content_type.split(";", 1)[0].strip().lower()
        if len(_MEDIA_TYPES) < 256 and len(content_type) <= 128:    # bounded: a client picks the header
            _MEDIA_TYPES[content_type] = mt
    return mt


_MEDIA_TYPES: dict[str, str] = {}     # Content-Type header -> media type (calls repeat a few)

# A run of 19 digits or more may be an integer beyond 64 bits, which orjson reads as a float:
# found as "1" * 19 in the body with every digit made "1" and every other byte "0" (C speed).
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_LONG_DIGITS = b"1" * 19
_NOT_READ = object()


def _quick_json(body: bytes) -> Any:
    """What ``json.loads(body.decode("utf-8"))`` returns, read by orjson when orjson reads the
    same value (strict RFC 8259 UTF-8 JSON without a byte order mark), else ``_NOT_READ``: NaN
    and Infinity, lone surrogates, long digit runs, bad UTF-8 and every error are left to the
    stdlib, the authority on values and messages (tests/unit/runtime/test_runtime_inputs.py)."""
    if _LONG_DIGITS in body.translate(_DIGITS_AS_ONES):
        return _NOT_READ
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_READ


def decode_input(body: bytes | bytearray | memoryview | str | None, content_type: Optional[str]) -> Any:
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    body = bytes(body)
    mt = media_type(content_type)
    if mt in JSON_TYPES or mt.endswith("+json"):
        value = _quick_json(body)
        if value is not _NOT_READ:
            return value
        if not body.strip():
            return None
        try:
            return json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadInput(f"Input is not valid UTF-8: {exc}") from None
        except ValueError as exc:
            raise BadInput(f"Failed to parse JSON input: {exc}") from None
        except RecursionError:
            raise BadInput("Input JSON is nested too deeply") from None
    if mt in TEXT_TYPES or mt.startswith("text/"):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"Input is not valid UTF-8 text: {exc}") from None
    if mt in BINARY_TYPES:
        return body
    if mt.startswith("multipart/"):
        return {part.name: _decode_part(part) for part in split(body, content_type or "")}
    # Missing or unknown Content-Type (clients are not reliable about it).
    value = _quick_json(body)
    if value is not _NOT_READ:
        return value
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    if text.strip():
        try:
            return json.loads(text)
        except ValueError:
            pass
        except RecursionError:
            raise BadInput("Input JSON is nested too deeply") from None
    return text


def _is_input_type(mt: str) -> bool:
    return mt in JSON_TYPES or mt.endswith("+json") or mt in TEXT_TYPES or mt.startswith("text/") \
        or mt in BINARY_TYPES


def _decode_part(part) -> Any:
    """One multipart part, decoded by its own Content-Type (which it must have: seed 004)."""
    if part.content_type is None:
        raise BadMultipart(f"multipart part {part.name!r} has no Content-Type: each part must have a valid "
                           "Content-Type (application/json, text/plain or application/octet-stream)")
    mt = media_type(part.content_type)
    if not _is_input_type(mt):
        raise BadMultipart(f"multipart part {part.name!r} has an unsupported Content-Type {mt or '(empty)'!r}: "
                           "one of application/json, text/plain, application/text, application/octet-stream")
    try:
        return decode_input(part.body, part.content_type)
    except BadInput as exc:
        raise BadMultipart(f"multipart part {part.name!r}: {exc.message}") from None

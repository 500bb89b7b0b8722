"""Input decoding and output classification, as the platform does it.

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

Output: bytes/bytearray/memoryview -> "binary" (bytes), str -> "text",
None -> "void", anything else -> "json" (must be JSON-serializable; the value
is normalised through JSON, so tuples become lists, int keys strings, ...).

This module is imported by worker processes: keep it light.
"""
from __future__ import annotations

import json
from typing import Any, Optional

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


def decode_input(body: bytes | bytearray | memoryview | str | None, content_type: Optional[str]) -> Any:
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    body = bytes(body)
    mt = media_type(content_type)
    if mt in JSON_TYPES or mt.endswith("+json"):
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


class OutputError(Exception):
    """The callable returned something the platform cannot serialise."""


def encode_output(value: Any) -> tuple[str, Any]:
    """Classify a return value: ``(content_type, payload)`` where payload is
    ``bytes`` (binary), ``str`` (text), ``None`` (void) or a JSON *string* (json)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary", bytes(value)
    if isinstance(value, str):
        _check_utf8(value)
        return "text", value
    if value is None:
        return "void", None
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise OutputError(
            f"Algorithm output is not JSON serializable ({type(value).__name__}): {exc}") from None
    _check_utf8(text)
    return "json", text


def _check_utf8(text: str) -> None:
    """A lone surrogate ("\\ud800") has no UTF-8 form: no response could carry it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise OutputError(f"Algorithm output is not valid Unicode text: {exc.reason} at index {exc.start}") from None


def clean_text(text: str) -> str:
    """``text`` with anything UTF-8 cannot carry (lone surrogates) replaced by "?"."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def decode_payload(content_type: str, payload: Any) -> Any:
    """Inverse of the payload part of :func:`encode_output` (parent side)."""
    if content_type == "json":
        return json.loads(payload)
    return payload

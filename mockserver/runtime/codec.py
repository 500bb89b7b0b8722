"""Output classification, as the platform does it (imported by worker processes: keep it light).
A call's input is decoded by :mod:`.inputs`, on the server's side.

Output: bytes/bytearray/memoryview -> "binary" (bytes), str -> "text",
None -> "void", anything else -> "json" (must be JSON-serializable; the value
is normalised through JSON, so tuples become lists, int keys strings, ...).
"""
from __future__ import annotations

import json
from typing import Any


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

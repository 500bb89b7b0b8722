"""Multipart algorithm input: the parts of a ``multipart/form-data`` body.

Seed 004: "HTTP-multipart is also supported for sending a mixture of data objects. Each
multipart part must have a valid Content-Type." ``inputs.decode_input`` decodes each part by
its own Content-Type as it decodes a whole body, and hands ``apply()`` a dict by part name
(docs/behaviour.md, "Multipart input"). This module only splits the body (RFC 7578 / RFC 2046),
bounded: at most ``MAX_PARTS`` parts, part headers of at most ``MAX_HEADER_BYTES``, names of
at most ``MAX_NAME_CHARS`` characters (the body itself is within the server's body limit).

Imported by the server only (through inputs).
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

from mockserver.runtime.errors import BadInput

MAX_PARTS = 100
MAX_HEADER_BYTES = 8192
MAX_NAME_CHARS = 255
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_BOUNDARY_CHARS = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")


class BadMultipart(BadInput):
    """Multipart input that cannot be handed to apply() (the message says which part and why)."""


class Part(NamedTuple):
    name: str
    content_type: Optional[str]       # None: the part has no Content-Type header
    body: bytes


def params(header: str) -> dict[str, str]:
    """The ``; key=value`` parameters of a header value (keys lower-cased, quotes removed)."""
    out = {}
    for key, value in _PARAM.findall(header):
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key.lower()] = value
    return out


def boundary_of(content_type: str) -> bytes:
    boundary = params(content_type).get("boundary", "")
    if not _BOUNDARY_CHARS.fullmatch(boundary) or boundary.endswith(" "):
        raise BadMultipart("multipart input needs a boundary parameter of 1 to 70 characters in its Content-Type "
                           "(RFC 2046)")
    return boundary.encode("ascii")


def _headers(raw: bytes, index: int) -> dict[str, str]:
    if len(raw) > MAX_HEADER_BYTES:
        raise BadMultipart(f"multipart part {index}: its headers exceed {MAX_HEADER_BYTES} bytes")
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise BadMultipart(f"multipart part {index}: malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def split(body: bytes, content_type: str) -> list[Part]:
    """The parts of a ``multipart/form-data`` body, in order. Raises BadMultipart."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise BadMultipart(f"multipart input must be multipart/form-data, not {media}")
    delimiter = b"--" + boundary_of(content_type)
    start = 0 if body.startswith(delimiter) else body.find(b"\r\n" + delimiter)
    if start < 0:
        raise BadMultipart("multipart input has no part: its boundary does not occur in the body")
    position = start + (0 if start == 0 else 2) + len(delimiter)
    parts: list[Part] = []
    names: set[str] = set()
    while True:
        if body.startswith(b"--", position):
            return parts                                      # the closing delimiter; the epilogue is ignored
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise BadMultipart("multipart input is malformed: a boundary line must end with CRLF")
        end = body.find(b"\r\n" + delimiter, line_end)
        if end < 0:
            raise BadMultipart("multipart input is cut short: its closing boundary is missing")
        if len(parts) == MAX_PARTS:
            raise BadMultipart(f"multipart input has more than {MAX_PARTS} parts")
        index = len(parts) + 1
        content = body[line_end + 2:end]
        head, sep, data = content.partition(b"\r\n\r\n")
        if not sep:
            if content.startswith(b"\r\n"):               # no headers at all
                head, data = b"", content[2:]
            else:
                raise BadMultipart(f"multipart part {index}: its headers do not end with an empty line")
        headers = _headers(head, index)
        disposition = headers.get("content-disposition", "")
        name = params(disposition).get("name") if disposition.lower().startswith("form-data") else None
        if not name:
            raise BadMultipart(f"multipart part {index} has no name (Content-Disposition: form-data; name=...)")
        if len(name) > MAX_NAME_CHARS:
            raise BadMultipart(f"multipart part {index}: its name is longer than {MAX_NAME_CHARS} characters")
        if name in names:
            raise BadMultipart(f"multipart part {name!r} occurs more than once")
        names.add(name)
        parts.append(Part(name, headers.get("content-type"), data))
        position = end + 2 + len(delimiter)

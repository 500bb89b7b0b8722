"""Marker pagination, the one helper every list endpoint uses.

A list is served from a *source*: a function ``source(after, n)`` returning up
to ``n`` ``(key, item)`` pairs whose keys sort after ``after`` (or from the
start when ``after`` is None). The marker is the opaque, encoded key of the
last item served, so a list that changes between pages never repeats or
skips an item that existed throughout. Sources over sorted containers answer
in O(log n + page), whatever the list's size.
"""
from __future__ import annotations

import base64
import bisect
import binascii
import json
from itertools import islice
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mockserver.errors import INVALID_LIMIT, INVALID_MARKER, ApiError

Key = Any
Source = Callable[[Key | None, int], Sequence[tuple[Key, Any]]]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass
class Page:
    results: list
    marker: str | None

    def envelope(self, request_url: str) -> dict:
        """The wire form: ``{marker, next_link, results}``, both null on the last page."""
        next_link = with_query(request_url, marker=self.marker) if self.marker else None
        return {"marker": self.marker, "next_link": next_link, "results": self.results}


def check_limit(limit: Any, max_limit: int = MAX_LIMIT, default: int = DEFAULT_LIMIT) -> int:
    if limit is None or limit == "":
        return min(default, max_limit)
    try:
        value = int(limit)
    except (TypeError, ValueError):
        value = 0
    if isinstance(limit, bool) or value < 1 or value > max_limit or str(value) != str(limit).strip():
        raise ApiError(INVALID_LIMIT,
                       f"Limit must be between 1 and the system-configured page size limit ({max_limit}); got {limit!r}")
    return value


def paginate(source: Source, *, list_id: str, limit: Any = None, marker: str | None = None,
             render: Callable[[Any], Any] = lambda item: item,
             max_limit: int = MAX_LIMIT, default_limit: int = DEFAULT_LIMIT) -> Page:
    size = check_limit(limit, max_limit, default_limit)
    after = decode_marker(marker, list_id) if marker else None
    try:
        rows = list(source(after, size + 1))
    except TypeError:  # a forged marker whose key does not compare with this list's keys
        raise ApiError(INVALID_MARKER, f"Invalid marker used: {marker!r}") from None
    more = len(rows) > size
    rows = rows[:size]
    next_marker = encode_marker(list_id, rows[-1][0]) if more and rows else None
    return Page([render(item) for _, item in rows], next_marker)


def encode_marker(list_id: str, key: Key) -> str:
    raw = json.dumps([list_id, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_KEY_DEPTH = 4     # keys this server issues are scalars or short lists, never deeper


def decode_marker(marker: str, list_id: str) -> Key:
    try:
        padded = marker + "=" * (-len(marker) % 4)
        found_list, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if _depth(key) > MAX_KEY_DEPTH:
            raise ValueError("nested too deeply")
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise ApiError(INVALID_MARKER, f"Invalid marker used: {marker!r} is not a marker this server issued") from None
    if found_list != list_id:
        raise ApiError(INVALID_MARKER, f"Invalid marker used: {marker!r} belongs to another list")
    return _freeze(key)


def _depth(key: Key) -> int:
    """How deeply lists nest in ``key`` (0 for a scalar), without recursion."""
    depth, level = 0, [key]
    while depth <= MAX_KEY_DEPTH:
        lists = [item for item in level if isinstance(item, list)]
        if not lists:
            break
        depth += 1
        level = [k for item in lists for k in item]
    return depth


def _freeze(key: Key) -> Key:
    return tuple(_freeze(k) for k in key) if isinstance(key, list) else key


def sorted_source(items: Iterable[Any], key: Callable[[Any], Key]) -> Source:
    """A source over an in-memory collection, sorted by ``key`` (ascending)."""
    rows = sorted(((key(item), item) for item in items), key=lambda row: row[0])
    keys = [k for k, _ in rows]

    def source(after: Key | None, n: int):
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return rows[start:start + n]

    return source


def sorted_dict_source(mapping: Any, render_key: Callable[[Any], Key] = lambda k: k,
                       include: Callable[[Any], bool] | None = None) -> Source:
    """A source over a SortedDict keyed by the sort key: a page costs O(log n + page),
    plus the items ``include`` (if given) leaves out on the way."""
    def source(after: Key | None, n: int):
        keys = mapping.irange(minimum=after, inclusive=(False, True)) if after is not None else iter(mapping)
        rows = ((render_key(k), mapping[k]) for k in keys)
        if include is not None:
            rows = (row for row in rows if include(row[1]))
        return list(islice(rows, n))
    return source


def with_query(url: str, **params: Any) -> str:
    """``url`` with the given query parameters replaced (None removes one)."""
    query = url.partition("?")[2]
    if all(v is not None for v in params.values()) and not any(f"{k}=" in query for k in params):
        # nothing to replace: append (every listing with a next page comes here)
        return url + ("&" if query else ("" if url.endswith("?") else "?")) + urlencode(
            [(k, str(v)) for k, v in params.items()])
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))

"""The lane's answers: a response with only what the app's steps use of Werkzeug's.

Building a Werkzeug response, setting a header on it and reading its body back cost about
13 µs per request here, near a tenth of a create. In the lane (web/lane.py) the views'
answers are :class:`Answer` objects instead, with the same names for the few things the
after-view steps touch (``status_code``, ``status``, ``headers[...]``, ``vary.add``,
``get_data()``, ``content_type``, ``direct_passthrough``), and the lane hands them to the
server as they are. Under Flask the same views answer Werkzeug responses
(web/jsonio.py picks). tests/http/test_lane.py compares the two paths' answers.
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Iterable, Mapping

_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def status_line(code: int) -> str:
    """``"204 No Content"``: the standard reason phrase (Werkzeug upper-cases its own)."""
    return _STATUS_LINES.get(code) or str(code)


class AnswerHeaders:
    """Headers as a list of ``(name, value)``, names matched without case, as Werkzeug's
    ``Headers`` does for the operations here: setting a name replaces its first occurrence
    and drops the others (or appends), deleting drops every occurrence."""
    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]]):
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for key, value in self._items:
            if key.lower() == low:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __setitem__(self, name: str, value: object) -> None:
        value = str(value)
        if "\n" in value or "\r" in value:          # as Werkzeug refuses them: no header injection
            raise ValueError("Header values must not contain newline characters.")
        items, low = self._items, name.lower()
        for i, (key, _) in enumerate(items):
            if key.lower() == low:
                items[i] = (name, value)
                items[i + 1:] = [item for item in items[i + 1:] if item[0].lower() != low]
                return
        items.append((name, value))

    def __delitem__(self, name: str) -> None:
        low = name.lower()
        self._items[:] = [item for item in self._items if item[0].lower() != low]

    def items(self) -> Iterable[tuple[str, str]]:
        return list(self._items)

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._items)


class _Vary:
    """``answer.vary.add(name)``: the name joins the Vary header unless it is there already."""
    __slots__ = ("_headers",)

    def __init__(self, headers: AnswerHeaders):
        self._headers = headers

    def add(self, name: str) -> None:
        current = self._headers.get("Vary")
        names = [part.strip() for part in current.split(",") if part.strip()] if current else []
        if name.lower() not in {n.lower() for n in names}:
            self._headers["Vary"] = ", ".join([*names, name])


class Answer:
    """A complete answer of bytes with its Content-Type and Content-Length (no 1xx, 204 or 304:
    those keep Werkzeug's handling)."""
    __slots__ = ("status_code", "status", "headers", "_body")
    direct_passthrough = False

    def __init__(self, body: bytes, status: int, content_type: str, headers: Mapping[str, object] | None = None):
        items = [(name, str(value)) for name, value in headers.items()] if headers else []
        self.headers = AnswerHeaders(items)
        if headers:
            self.headers["Content-Type"] = content_type
            self.headers["Content-Length"] = str(len(body))
        else:
            items += (("Content-Type", content_type), ("Content-Length", str(len(body))))
        self.status_code, self.status, self._body = status, status_line(status), body

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def vary(self) -> _Vary:
        return _Vary(self.headers)

    def get_data(self) -> bytes:
        return self._body

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        """The answer as a WSGI app (as a Werkzeug response is one)."""
        start_response(self.status, self.headers.to_wsgi_list())
        return [self._body]

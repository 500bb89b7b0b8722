"""The lane's light answers (web/answer.py) behave as Werkzeug's responses for what the app's
steps do to them: the same headers after the same operations, the same WSGI output."""
from __future__ import annotations

import pytest
from werkzeug.wrappers import Response

from mockserver.web.answer import Answer, status_line

BODY = b'{"a":1}'


def _pair(status=200, headers=None, content_type="application/json"):
    return (Answer(BODY, status, content_type, dict(headers) if headers else None),
            Response(BODY, status=status, headers=dict(headers) if headers else None, content_type=content_type))


def _wsgi(response):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)
    body = b"".join(response({"REQUEST_METHOD": "GET", "SERVER_NAME": "x", "SERVER_PORT": "80",
                              "wsgi.url_scheme": "http"}, start_response))
    return seen["status"].split(" ", 1)[0], seen["headers"], body


OPERATIONS = [
    [],
    [("set", "X-Request-Id", "r1")],
    [("set", "X-Request-Id", "r1"), ("set", "x-request-id", "r2")],          # replaced, name as last set
    [("set", "Content-Type", "text/plain")],
    [("set", "A", "1"), ("set", "B", "2"), ("del", "a", None), ("set", "A", "3")],
    [("del", "Nope", None)],
    [("vary", "Origin", None)],
    [("vary", "Origin", None), ("vary", "origin", None)],                       # once
    [("set", "Vary", "Accept-Encoding"), ("vary", "Origin", None)],
]


@pytest.mark.parametrize("given", [None, {"X-Data-Type": "directory"}, {"Content-Type": "text/plain", "Retry-After": 3}])
@pytest.mark.parametrize("operations", OPERATIONS)
def test_headers_after_the_same_operations_are_werkzeugs(given, operations):
    answer, response = _pair(headers=given)
    for response_like in (answer, response):
        for op, name, value in operations:
            if op == "set":
                response_like.headers[name] = value
            elif op == "del":
                del response_like.headers[name]
            else:
                response_like.vary.add(name)
    assert answer.headers.to_wsgi_list() == response.headers.to_wsgi_list()
    assert _wsgi(answer) == _wsgi(response)
    assert answer.content_type == response.content_type
    assert answer.get_data() == response.get_data()
    for name in ("content-type", "X-Request-Id", "Vary", "Missing"):
        assert answer.headers.get(name) == response.headers.get(name)
        assert (name in answer.headers) == (name in response.headers)


@pytest.mark.parametrize("status", [200, 201, 400, 404, 429, 500, 503])
def test_status_is_the_standard_line(status):
    answer, response = _pair(status)
    assert answer.status_code == response.status_code == status
    assert answer.status == status_line(status)
    assert answer.status.lower() == response.status.lower()      # Werkzeug upper-cases the phrase


def test_header_values_with_newlines_are_refused_as_werkzeug_refuses_them():
    answer, response = _pair()
    for response_like in (answer, response):
        with pytest.raises(ValueError):
            response_like.headers["X-Evil"] = "a\r\nSet-Cookie: x=1"
    assert "X-Evil" not in answer.headers


def test_missing_header_lookup_raises_key_error():
    answer, _ = _pair()
    with pytest.raises(KeyError):
        answer.headers["Missing"]

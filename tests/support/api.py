"""The sandbox's keys and the JSON test client that checks every response against the spec."""
from __future__ import annotations

import json

from support.spec_check import SpecChecker

ADMIN = "simAdminSandboxKey000000000"
DEMO = "simDemoSandboxKey0000000000"
ALICE = "simAliceSandboxKey000000000"
BOB = "simBobReadOnlyKey000000000"


class Api:
    """A Flask test client that speaks JSON, carries a key, and checks every
    response against the schema the spec documents for it."""

    def __init__(self, client, key=DEMO, checker=None):
        self.client = client
        self.key = key
        self.checker = checker or SpecChecker(client.application)

    def call(self, method, path, body=None, *, key=..., raw=None, headers=None, **query):
        """``query`` as keywords, or a query string left in ``path`` exactly as a client sends it
        (``/v1/algo/demo/hello?timeout=300&stdout=FALSE&output=default``)."""
        key = self.key if key is ... else key
        path, _, query_string = path.partition("?")
        hdrs = dict(headers or {})
        if key:
            hdrs.setdefault("Authorization", f"Simple {key}")
        data = raw
        if body is not None:
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        elif path.startswith("/_mock") and method not in ("GET", "HEAD"):
            hdrs.setdefault("Content-Type", "application/json")     # what the control guard asks of every client
        if query_string and query:
            raise ValueError("give the query in the path or as keywords, not both")
        response = self.client.open(path, method=method, data=data, headers=hdrs,
                                    query_string=query_string or query or None)
        self.checker.check(method, path, response)
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.call("HEAD", path, **kw)

    def as_(self, key):
        return Api(self.client, key, self.checker)


def error_of(response, status=None, code=None):
    """Assert ``response`` is an Algorithmia error object; return its ``error``."""
    assert response.is_json, response.data[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["message"], str) and err["message"]
    if status is not None:
        assert response.status_code == status, (response.status_code, body)
    if code is not None:
        assert err["code"] == code, body
    return err

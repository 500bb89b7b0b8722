"""Checks a response against the schema the spec documents for its operation and status."""
from __future__ import annotations

import functools

from jsonschema.exceptions import best_match

from mockserver.edge.spec import materialise, validator_for


class SpecChecker:
    def __init__(self, app):
        self.app = app
        self.spec = app.extensions["mockserver"].spec
        self.adapter = app.url_map.bind("localhost")

    def operation_for(self, method: str, path: str):
        try:
            endpoint, _ = self.adapter.match(path.rstrip("/") or "/", method=method)
        except Exception:
            return None
        return self.spec.operations.get(endpoint)

    @functools.lru_cache(maxsize=None)
    def _validator(self, op_id: str, status: int):
        op = self.spec.operations[op_id]
        responses = op.node / "responses"
        key = str(status) if str(status) in responses.keys() else "default"
        if key not in responses.keys():
            return False, None
        node = responses / key
        if "content" not in node.keys() or "application/json" not in (node / "content").keys():
            return True, None
        schema = materialise(node / "content" / "application/json" / "schema")
        return True, validator_for(schema)

    def check(self, method: str, path: str, response) -> None:
        op = self.operation_for(method, path)
        if op is None or method == "HEAD":
            return
        documented, validator = self._validator(op.id, response.status_code)
        assert documented, f"{op.id} answered {response.status_code}, which the spec does not document"
        if validator is None or not response.is_json:
            return
        error = best_match(validator.iter_errors(response.get_json()))
        assert error is None, f"{op.id} {response.status_code} response breaks the spec at {list(error.absolute_path)}: {error.message}"

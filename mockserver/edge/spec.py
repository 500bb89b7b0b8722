"""The OpenAPI document, loaded once and resolved into per-operation parts.

openapi-core loads the document (and so validates it and resolves every $ref);
each operation's parameter and body schemas are then materialised into ready
jsonschema validators, so a request costs a dict lookup by Flask endpoint
plus the schema checks themselves, never a path search through the spec.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI

from mockserver.errors import REQUEST_INVALID
from mockserver.resources import resource_path
from mockserver.edge.schema_check import SchemaValidator

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@dataclass
class Param:
    name: str
    location: str                  # path | query | header
    required: bool
    schema: dict[str, Any]
    validator: Any


@dataclass
class Body:
    required: bool
    schema: dict[str, Any] | None
    validator: Any


@dataclass
class Operation:
    id: str
    method: str                    # upper case
    path: str                      # OpenAPI template, e.g. /v1/users/{username}
    flask_rule: str
    access: str                    # public | user | admin
    permission: str | None
    invalid_code: int
    missing_code: int
    raw_body: bool
    node: SchemaPath               # the operation in its document (responses, for tests)
    params: list[Param] = field(default_factory=list)
    body: Body | None = None
    success_status: int = 200


class ApiSpec:
    """The Algorithmia API document (``/v1``) and the control API document (``/_mock``).

    Both are loaded the same way, and their operations share one registry: a route
    exists if and only if one of the two documents has it.
    """

    def __init__(self, document: dict[str, Any], control_document: dict[str, Any] | None = None):
        self.document = document
        self.control_document = control_document
        self.openapi = OpenAPI.from_dict(document, config=_SHIPPED)
        self.operations: dict[str, Operation] = {}
        self._add(self.openapi)
        if control_document is not None:
            self._add(OpenAPI.from_dict(control_document, config=_SHIPPED))

    def _add(self, openapi: OpenAPI) -> None:
        paths = openapi.spec / "paths"
        for template in paths.keys():
            item = paths / template
            shared = list(item / "parameters") if "parameters" in item else []
            for method in METHODS:
                if method in item:
                    op = _operation(template, method, item / method, shared)
                    if op.id in self.operations:
                        raise ValueError(f"duplicate operationId {op.id}")
                    self.operations[op.id] = op

    @classmethod
    def load(cls, path: Path | None = None) -> "ApiSpec":
        return cls(load_document(path), load_document(resource_path("openapi", "control.yaml")))


def load_document(path: Path | None = None) -> dict[str, Any]:
    path = path or resource_path("openapi", "algorithmia.yaml")
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_YAML_LOADER)


# Start-up time: the documents ship with the package, so they are parsed with libyaml when
# PyYAML has it, and openapi-core does not validate them again at every start (openapi-core
# documents spec_validator_cls=None for a spec known to be valid):
# tests/unit/test_spec_document.py validates both.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SHIPPED = Config(spec_validator_cls=None)


def materialise(node: SchemaPath, depth: int = 0) -> Any:
    """A plain dict/list copy of ``node`` with every $ref resolved."""
    if depth > 64:
        raise ValueError(f"schema too deep (recursive?) at {node}")
    value = node.read_value()
    if isinstance(value, dict):
        return {key: materialise(node / key, depth + 1) for key in node.keys()}
    if isinstance(value, list):
        return [materialise(child, depth + 1) for child in node]
    return value


def validator_for(schema: dict[str, Any]) -> SchemaValidator:
    return SchemaValidator(schema)


def _operation(template: str, method: str, node: SchemaPath, shared: list[SchemaPath]) -> Operation:
    raw = node.read_value()
    errors = raw.get("x-mock-errors") or {}
    params: dict[tuple[str, str], Param] = {}
    converters: dict[str, str] = {}
    for pnode in shared + (list(node / "parameters") if "parameters" in node else []):
        p = materialise(pnode)
        schema = p.get("schema", {"type": "string"})
        params[(p["name"], p["in"])] = Param(p["name"], p["in"], bool(p.get("required")),
                                             schema, validator_for(schema))
        if p.get("x-mock-converter"):
            converters[p["name"]] = p["x-mock-converter"]
    body = None
    if "requestBody" in node:
        rb = materialise(node / "requestBody")
        content = rb.get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        body = Body(bool(rb.get("required")), schema, validator_for(schema) if schema else None)
    success = min((int(code) for code in raw.get("responses", {}) if str(code).isdigit()), default=200)
    return Operation(
        id=raw["operationId"], method=method.upper(), path=template,
        flask_rule=flask_rule(template, converters),
        access=raw.get("x-mock-access", "user"), permission=raw.get("x-mock-permission"),
        invalid_code=int(errors.get("invalid", REQUEST_INVALID)), missing_code=int(errors.get("missing", REQUEST_INVALID)),
        raw_body=bool(raw.get("x-mock-raw-body")), node=node, params=list(params.values()), body=body,
        success_status=success)


def flask_rule(template: str, converters: dict[str, str]) -> str:
    """/v1/data/{data_path} -> /v1/data/<path:data_path>"""
    def repl(match: re.Match) -> str:
        name = match.group(1)
        conv = converters.get(name)
        return f"<{conv}:{name}>" if conv else f"<{name}>"
    return re.sub(r"\{([^}]+)\}", repl, template)

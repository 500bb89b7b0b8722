"""The OpenAPI documents, compiled once into per-operation parts.

Each operation's parameter and body schemas are materialised (every ``$ref`` resolved)
into ready validators, so a request costs a dict lookup by Flask endpoint plus the schema
checks themselves: never a path search through the spec, never a ``$ref`` resolution.

Start-up: what this compiles from the shipped documents (the operations' plain data and
each distinct schema's compiled fast check, :mod:`.schema_check`) is kept in the user's
cache directory under the hash of the documents and of the code that compiles them
(:mod:`.spec_cache`); the next start reads it back instead of parsing the YAML and
generating code again. The documents themselves are parsed only when something asks for
them (``GET /v1/openapispec``, ``Operation.node``).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import fastjsonschema
import yaml

from mockserver.errors import Kind, kind_named
from mockserver.resources import resource_path
from mockserver.edge import schema_check, spec_cache
from mockserver.edge.schema_check import SchemaValidator

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
MAX_DEPTH = 64


@dataclass
class Param:
    name: str
    location: str                  # path | query | header
    required: bool
    schema: dict[str, Any]
    validator: Any
    kind: Optional[str] = field(init=False)           # the schema's type, for casting strings
    item_kind: Optional[str] = field(init=False)      # an array's item type

    def __post_init__(self):
        self.kind = self.schema.get("type")
        items = self.schema.get("items") if self.kind == "array" else None
        self.item_kind = items.get("type") if isinstance(items, dict) else None


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
    invalid_kind: Kind             # the error of a body that fails its schema (x-mock-errors)
    missing_kind: Kind             # ... that lacks a required field
    raw_body: bool
    params: list[Param] = field(default_factory=list)
    body: Body | None = None
    success_status: int = 200
    document: Any = field(default=None, repr=False, compare=False)   # () -> the document it is in
    query_params: bool = field(init=False, repr=False, compare=False)   # any query parameter (else args unread)

    def __post_init__(self):
        self.query_params = any(p.location == "query" for p in self.params)

    @property
    def node(self):
        """The operation in its document, as a jsonschema_path ``SchemaPath`` (responses, for tests)."""
        return _schema_path(self.document()) / "paths" / self.path / self.method.lower()


class ApiSpec:
    """The Algorithmia API document (``/v1``) and the control API document (``/_mock``).

    Both are compiled the same way, and their operations share one registry: a route
    exists if and only if one of the two documents has it. ``document`` and
    ``control_document`` are the parsed documents (parsed on first use when loaded from files).
    """

    def __init__(self, document: dict[str, Any] | None = None, control_document: dict[str, Any] | None = None, *,
                 _compiled: dict | None = None, _readers: tuple | None = None):
        if _readers is not None:
            self._read, self._read_control = _readers
        else:
            self._read, self._read_control = (lambda: document), (lambda: control_document)
            _compiled = compile_documents(document, control_document)
        self.operations: dict[str, Operation] = {}
        checks = {schema: schema_check.accepting(code) for schema, code in _compiled["checks"].items()}
        for data in _compiled["operations"]:
            op = _operation(data, checks, self._read_control if data["control"] else self._read)
            if op.id in self.operations:
                raise ValueError(f"duplicate operationId {op.id}")
            self.operations[op.id] = op

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        return self._read()

    @functools.cached_property
    def control_document(self) -> dict[str, Any] | None:
        return self._read_control()

    @classmethod
    def load(cls, path: Path | None = None) -> "ApiSpec":
        """The spec from its files (default: the shipped documents), through the compiled-spec cache."""
        paths = (Path(path or resource_path("openapi", "algorithmia.yaml")), resource_path("openapi", "control.yaml"))
        texts = [p.read_bytes() for p in paths]
        key = spec_cache.cache_key(*texts, *_builder_identity())
        compiled = spec_cache.load(key)
        readers = tuple(_cached_reader(p) for p in paths)
        if not _well_formed(compiled):
            compiled = compile_documents(*(parse_document(t) for t in texts))
            spec_cache.store(key, compiled)
        return cls(_compiled=compiled, _readers=readers)


def load_document(path: Path | None = None) -> dict[str, Any]:
    path = path or resource_path("openapi", "algorithmia.yaml")
    with open(path, "rb") as fh:
        return parse_document(fh.read())


def parse_document(text: bytes) -> dict[str, Any]:
    return yaml.load(text, Loader=_YAML_LOADER)


# The documents ship with the package, so they are parsed with libyaml when PyYAML has it;
# tests/unit/test_spec_document.py validates both against the OpenAPI 3.0 schema.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _cached_reader(path: Path):
    """Parse ``path`` on first call, once."""
    return functools.lru_cache(maxsize=1)(lambda: load_document(path))


def _builder_identity() -> list[bytes]:
    """What the compiled spec depends on besides the documents: this compiler's code, the
    fast checks' translation, and the fastjsonschema that generated their code."""
    # fastjsonschema.VERSION (its public constant, the installed release's version): asking
    # importlib.metadata scans the install's metadata at every start.
    return [Path(__file__).read_bytes(), Path(schema_check.__file__).read_bytes(), fastjsonschema.VERSION.encode()]


def _well_formed(compiled: Any) -> bool:
    return (isinstance(compiled, dict) and isinstance(compiled.get("operations"), list)
            and isinstance(compiled.get("checks"), dict))


# ------------------------------------------------------------------ compiling

def compile_documents(document: dict[str, Any], control_document: dict[str, Any] | None) -> dict:
    """The documents' operations as plain data (schemas materialised), and a compiled fast
    check (a code object, or None where there is none) per distinct schema they use."""
    operations = []
    for control, doc in ((False, document), (True, control_document)):
        if doc is None:
            continue
        resolve = _resolver(doc)
        for template, item in (doc.get("paths") or {}).items():
            item = resolve(item)
            shared = item.get("parameters") or []
            for method in METHODS:
                if method in item:
                    operations.append(_operation_data(template, method, resolve(item[method]), shared, resolve, control))
    checks: dict[str, Any] = {}
    for data in operations:
        for schema in [p["schema"] for p in data["params"]] + ([data["body"]["schema"]] if data["body"] else []):
            if schema is not None:
                key = schema_check.fast_key(schema)
                if key is not None and key not in checks:
                    checks[key] = schema_check.check_code(key)
    return {"operations": operations, "checks": checks}


def _operation_data(template: str, method: str, raw: dict, shared: list, resolve, control: bool) -> dict:
    errors = raw.get("x-mock-errors") or {}
    params: dict[tuple[str, str], dict] = {}
    converters: dict[str, str] = {}
    for p in shared + (raw.get("parameters") or []):
        p = resolve(p, materialise=True)
        schema = p.get("schema", {"type": "string"})
        params[(p["name"], p["in"])] = {"name": p["name"], "in": p["in"], "required": bool(p.get("required")),
                                        "schema": schema}
        if p.get("x-mock-converter"):
            converters[p["name"]] = p["x-mock-converter"]
    body = None
    if "requestBody" in raw:
        rb = resolve(raw["requestBody"], materialise=True)
        schema = ((rb.get("content") or {}).get("application/json") or {}).get("schema")
        body = {"required": bool(rb.get("required")), "schema": schema}
    success = min((int(code) for code in raw.get("responses", {}) if str(code).isdigit()), default=200)
    return {"id": raw["operationId"], "method": method.upper(), "path": template,
            "flask_rule": flask_rule(template, converters), "access": raw.get("x-mock-access", "user"),
            "permission": raw.get("x-mock-permission"),
            "invalid_kind": kind_named(errors.get("invalid", "REQUEST_INVALID")).name,
            "missing_kind": kind_named(errors.get("missing", "REQUEST_INVALID")).name,
            "raw_body": bool(raw.get("x-mock-raw-body")), "params": list(params.values()), "body": body,
            "success_status": success, "control": control}


def _operation(data: dict, checks: dict, document) -> Operation:
    params = [Param(p["name"], p["in"], p["required"], p["schema"], _validator(p["schema"], checks))
              for p in data["params"]]
    body = None
    if data["body"] is not None:
        schema = data["body"]["schema"]
        body = Body(data["body"]["required"], schema, _validator(schema, checks) if schema else None)
    return Operation(id=data["id"], method=data["method"], path=data["path"], flask_rule=data["flask_rule"],
                     access=data["access"], permission=data["permission"], invalid_kind=kind_named(data["invalid_kind"]),
                     missing_kind=kind_named(data["missing_kind"]), raw_body=data["raw_body"], params=params, body=body,
                     success_status=data["success_status"], document=document)


def _validator(schema: dict[str, Any], checks: dict) -> SchemaValidator:
    key = schema_check.fast_key(schema)
    return SchemaValidator(schema, accepts=checks.get(key) if key is not None else None)


def validator_for(schema: dict[str, Any]) -> SchemaValidator:
    return SchemaValidator(schema)


def _resolver(document: dict[str, Any]):
    """``resolve(value, materialise=False)``: ``value`` with a top-level local ``$ref`` followed
    (and, with ``materialise``, every ``$ref`` inside it too, as plain copies)."""
    def follow(value: Any, depth: int = 0) -> Any:
        while isinstance(value, dict) and "$ref" in value:
            ref = value["$ref"]
            if len(value) != 1 or not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {value!r}: only whole-object local references")
            value = document
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                value = value[int(token)] if isinstance(value, list) else value[token]
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"schema too deep (recursive?) at {ref}")
        return value

    def copy(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("schema too deep (recursive?)")
        value = follow(value)
        if isinstance(value, dict):
            return {key: copy(child, depth + 1) for key, child in value.items()}
        if isinstance(value, list):
            return [copy(child, depth + 1) for child in value]
        return value

    return lambda value, materialise=False: copy(value, 0) if materialise else follow(value)


def materialise(node, depth: int = 0) -> Any:
    """A plain dict/list copy of a jsonschema_path ``node`` with every $ref resolved."""
    if depth > MAX_DEPTH:
        raise ValueError(f"schema too deep (recursive?) at {node}")
    value = node.read_value()
    if isinstance(value, dict):
        return {key: materialise(node / key, depth + 1) for key in node.keys()}
    if isinstance(value, list):
        return [materialise(child, depth + 1) for child in node]
    return value


def _schema_path(document: dict[str, Any]):
    # Only tests walk the documents this way: jsonschema_path (and what it imports) stays
    # out of the server's start-up.
    from jsonschema_path import SchemaPath
    return _SCHEMA_PATHS.setdefault(id(document), (document, SchemaPath.from_dict(document)))[1]


_SCHEMA_PATHS: dict[int, tuple] = {}


def flask_rule(template: str, converters: dict[str, str]) -> str:
    """/v1/data/{data_path} -> /v1/data/<path:data_path>"""
    def repl(match: re.Match) -> str:
        name = match.group(1)
        conv = converters.get(name)
        return f"<{conv}:{name}>" if conv else f"<{name}>"
    return re.sub(r"\{([^}]+)\}", repl, template)

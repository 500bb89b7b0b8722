"""The check of a fixture document against ``fixture_schema.yaml``, jsonschema kept for refusals.

jsonschema (``Draft202012Validator``) is the authority: it decides every refusal and writes
its message. Every start-up checks the bundled sandbox, and importing jsonschema adds ~3.6 MB
to the server's memory (issue 31), so the schema is also compiled with fastjsonschema where
that is exact, and a document the compiled check accepts does without jsonschema. A document
it refuses goes to the authority, which has the last word (as edge/schema_check.py does for
request bodies).

The compiled check must never accept what the authority refuses, so it is built only from
keywords whose meaning is the same in draft 2020-12 and in fastjsonschema's draft 7 (``type``
as one name, ``properties``, ``required``, ``enum`` of strings, ``items`` as one schema,
``$ref`` alone, ...); annotations (``default`` among them: fastjsonschema would fill it in) are
dropped, and any other keyword means no compiled check. It runs only on documents made of
JSON's types (YAML may also give dates, bytes, sets or tuples). tests/unit/test_fixture_check.py
compares both on generated documents.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import fastjsonschema

_SAME_MEANING = {"type", "properties", "required", "additionalProperties", "items", "enum", "minLength", "maxLength",
                 "minItems", "maxItems", "oneOf", "anyOf", "allOf", "$ref"}
_ANNOTATIONS = {"description", "title", "default", "examples", "$comment", "deprecated"}
_JSON_SCALARS = (str, int, float, bool, type(None))


class _Inexact(Exception):
    """The schema uses a keyword the compiled check would not treat exactly as the authority."""


class FixtureSchema:
    """``first_error(doc)``: None when ``doc`` is valid, else the authority's most relevant error."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._authority = None

    @functools.cached_property
    def accepts(self) -> Optional[Callable[[Any], None]]:
        """The compiled check (raises for a value it does not accept), or None without one."""
        return compiled_check(self.schema)

    def first_error(self, doc: Any) -> Any:
        check = self.accepts
        if check is not None and _plain(doc):
            try:
                check(doc)
                return None
            except (fastjsonschema.JsonSchemaValueException, RecursionError, TypeError, ValueError):
                pass                   # the authority decides, and says why
        return self._best_match(doc)

    def _best_match(self, doc: Any) -> Any:
        # Two first refusals at once may each build a validator: they are the same.
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match
        authority = self._authority
        if authority is None:
            authority = self._authority = Draft202012Validator(self.schema)
        return best_match(authority.iter_errors(doc))


def compiled_check(schema: dict[str, Any]) -> Optional[Callable[[Any], None]]:
    """fastjsonschema's check of ``schema`` (draft 2020-12), or None when it would not be exact."""
    translated = fast_schema(schema)
    if translated is None:
        return None
    try:
        return fastjsonschema.compile(translated, detailed_exceptions=False)
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


def fast_schema(schema: dict[str, Any]) -> Optional[dict[str, Any]]:
    """``schema`` as draft-7 JSON Schema with the same meaning, or None when that is not certain."""
    try:
        out = {"$schema": "http://json-schema.org/draft-07/schema#",
               **_translate({k: v for k, v in schema.items() if k not in ("$schema", "$defs")})}
        defs = schema.get("$defs") or {}
        if not isinstance(defs, dict):
            raise _Inexact("$defs")
        out["$defs"] = {name: _translate(sub) for name, sub in defs.items()}   # "#/$defs/..." pointers
        return out
    except _Inexact:
        return None


def _translate(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise _Inexact(repr(schema))
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key not in _SAME_MEANING:
            raise _Inexact(key)
        if key == "properties":
            out[key] = {name: _translate(sub) for name, sub in value.items()}
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_translate(sub) for sub in value]
        elif key == "items" or (key == "additionalProperties" and not isinstance(value, bool)):
            out[key] = _translate(value)          # a list of items means prefixItems in 2020-12: inexact
        elif key == "enum" and not all(isinstance(v, str) for v in value):
            raise _Inexact("enum of non-strings")  # 1 == True in Python
        elif key == "type" and not isinstance(value, str):
            raise _Inexact("type list")
        elif key == "$ref" and (not isinstance(value, str) or not value.startswith("#/$defs/")):
            raise _Inexact(f"$ref {value!r}")
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        raise _Inexact("$ref beside other keywords")   # draft 7 ignores them, 2020-12 applies them
    return out


def _plain(doc: Any) -> bool:
    """True when ``doc`` is made only of JSON's types (dicts with string keys, lists, scalars)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if type(node) is not dict or not all(type(key) is str for key in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            if type(node) is not list:
                return False
            stack.extend(node)
        elif type(node) not in _JSON_SCALARS:
            return False
    return True

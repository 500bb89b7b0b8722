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

from mockserver.schema_translation import Dialect, Inexact, translate

_SAME_MEANING = frozenset({"type", "properties", "required", "additionalProperties", "items", "enum", "minLength",
                           "maxLength", "minItems", "maxItems", "oneOf", "anyOf", "allOf", "$ref"})
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "deprecated"})
_JSON_SCALARS = (str, int, float, bool, type(None))


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
               **translate({k: v for k, v in schema.items() if k not in ("$schema", "$defs")}, _DRAFT_2020_12)}
        defs = schema.get("$defs") or {}
        if not isinstance(defs, dict):
            raise Inexact("$defs")
        out["$defs"] = {name: translate(sub, _DRAFT_2020_12) for name, sub in defs.items()}   # "#/$defs/..." pointers
        return out
    except Inexact:
        return None


def _ref(_schema: dict[str, Any], value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith("#/$defs/"):
        raise Inexact(f"$ref {value!r}")
    return value


def _ref_alone(_schema: dict[str, Any], out: dict[str, Any]) -> None:
    if "$ref" in out and len(out) > 1:
        raise Inexact("$ref beside other keywords")   # draft 7 ignores them, 2020-12 applies them


_DRAFT_2020_12 = Dialect(same_meaning=_SAME_MEANING, skipped=_ANNOTATIONS.__contains__,
                         special={"$ref": _ref}, finish=_ref_alone)


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

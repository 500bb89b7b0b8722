r"""Ready validators for the spec's parameter and body schemas.

openapi-schema-validator's ``OAS30Validator`` (jsonschema underneath) is the authority:
it decides every rejection and writes every error message. It builds a validator object
for each subschema it descends into, ~50 µs for an algorithm-create body. So a schema is
also compiled once with fastjsonschema (generated Python code) where that can be done
exactly, and a value the compiled check accepts skips the authority. Only the accepting
side is fast: a value the check refuses goes to ``OAS30Validator``, which has the last word.

The compiled check must never accept what the authority refuses, so it is built only
from keywords whose meaning is the same in both (``type``, ``properties``, ``required``,
``enum`` of strings, ``pattern`` without Unicode-sensitive classes such as ``\d``,
``anyOf`` / ``oneOf`` / ``allOf`` without a discriminator, lengths, bounds, ...).
``nullable`` becomes a ``"null"`` type, ``default`` is dropped (fastjsonschema would
fill it in), ``required`` leaves out readOnly/writeOnly properties (as the authority
does), and any other keyword (``format``, ``discriminator``, ...) means no fast path for
that schema.
tests/unit/test_schema_check.py generates values the check accepts and asserts the
authority accepts them too.
"""
from __future__ import annotations

import functools
import json
import re
from types import CodeType
from typing import Any, Callable, Iterator, Optional

import fastjsonschema

from mockserver.schema_translation import DROP, Dialect, Inexact, translate

_SAME_MEANING = frozenset({"anyOf", "oneOf", "allOf", "type", "properties", "required", "additionalProperties",
                           "items", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
                           "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minProperties",
                           "maxProperties"})
# The authority may match patterns as ECMA regexes (if `regress` is installed), where \d, \w,
# \s and \b are ASCII-only; Python's re makes them Unicode-aware.
_UNICODE_CLASSES = re.compile(r"\\[dDwWsSbB]")
_ANNOTATIONS = {"description", "title", "example", "deprecated", "externalDocs", "default", "nullable",
                "readOnly", "writeOnly"}


_UNSET: Any = object()


def _oas30_validator(schema: dict[str, Any]):
    from openapi_schema_validator import OAS30Validator, oas30_format_checker
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def _best_match(errors: Iterator[Any]) -> Any:
    # jsonschema (~3.6 MB) is imported with the authority, by the first value the compiled
    # check refuses: a server that is sent only valid bodies never imports it (issue 31).
    from jsonschema.exceptions import best_match
    return best_match(errors)


class SchemaValidator:
    """``accepts``: the schema's compiled check (:func:`accepting`), when the caller has it
    already (the compiled spec); by default it is compiled here."""

    def __init__(self, schema: dict[str, Any], accepts: Optional[Callable[[Any], bool]] = _UNSET):
        self.schema = schema
        self._authority = None
        if accepts is _UNSET:
            key = fast_key(schema)
            accepts = _compiled(key) if key is not None else None
        self._accepts = accepts
        # The generated check itself, called here without the predicate around it (every request).
        self._check = getattr(accepts, "check", None)

    @property
    def fast_schema(self) -> Optional[dict[str, Any]]:
        """What the compiled check was made from (see :func:`fast_schema`)."""
        return fast_schema(self.schema)

    @property
    def compiled(self) -> bool:
        return self._accepts is not None

    @property
    def authority(self):
        """``OAS30Validator`` for the schema, made when first needed: a value the compiled
        check refuses, or a schema without one. (openapi-schema-validator imports
        pydantic-settings, a third of the server's import time, and jsonschema: start-up does
        without them.) Two first refusals at once may each build one: both are the same
        validator, and the last one kept serves the rest."""
        authority = self._authority
        if authority is None:
            authority = self._authority = _oas30_validator(self.schema)
        return authority

    def best_error(self, value: Any) -> Any:
        """None when ``value`` is valid, else the authority's most relevant error
        (``jsonschema.exceptions.best_match``)."""
        check = self._check
        if check is not None:
            try:
                check(value)
                return None
            except _REFUSED:
                pass
        elif self._accepts is not None and self._accepts(value):
            return None
        return _best_match(self.authority.iter_errors(value))

    def iter_errors(self, value: Any) -> Iterator[Any]:
        """The authority's errors for ``value`` (none, at once, when the compiled check accepts it)."""
        if self._accepts is not None and self._accepts(value):
            return iter(())
        return self.authority.iter_errors(value)


def fast_schema(schema: Any) -> Optional[dict[str, Any]]:
    """``schema`` as draft-4 JSON Schema with the same meaning, or None when that is not certain."""
    try:
        return {"$schema": "http://json-schema.org/draft-04/schema#", **translate(schema, _OAS30)}
    except Inexact:
        return None


def _required(schema: dict[str, Any], value: list[str]) -> Any:
    # The authority never insists on a readOnly or writeOnly property (oas_keywords.required).
    props = schema.get("properties") or {}
    kept = [name for name in value
            if not (props.get(name, {}).get("readOnly") or props.get(name, {}).get("writeOnly"))]
    return kept or DROP                       # draft 4 wants a non-empty list


def _pattern(_schema: dict[str, Any], value: str) -> str:
    if _UNICODE_CLASSES.search(value):
        raise Inexact(f"pattern {value!r}")
    return value


def _nullable(schema: dict[str, Any], out: dict[str, Any]) -> None:
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]


_OAS30 = Dialect(same_meaning=_SAME_MEANING, skipped=lambda key: key.startswith("x-") or key in _ANNOTATIONS,
                 special={"required": _required, "pattern": _pattern}, finish=_nullable)


def fast_key(schema: Any) -> Optional[str]:
    """The draft-4 translation of ``schema`` as canonical JSON (what a compiled check is made
    from and filed under), or None when it has no exact translation."""
    translated = fast_schema(schema)
    return None if translated is None else json.dumps(translated, sort_keys=True)


def check_code(key: str) -> Optional[CodeType]:
    """The compiled code of the fast check for ``key`` (see :func:`fast_key`), or None when
    fastjsonschema cannot generate one. Only accepting or refusing matters (the authority
    writes every message), so the generated code carries no error details."""
    try:
        source = fastjsonschema.compile_to_code(json.loads(key), detailed_exceptions=False)
    except fastjsonschema.JsonSchemaDefinitionException:
        return None
    return compile(source, "<fast schema check>", "exec")


def accepting(code: Optional[CodeType]) -> Optional[Callable[[Any], bool]]:
    """A predicate from :func:`check_code`'s code: True when the value passes the check."""
    if code is None:
        return None
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    check = namespace["validate"]

    def accepts(value: Any) -> bool:
        try:
            check(value)
        except _REFUSED:
            return False
        return True
    accepts.check = check            # type: ignore[attr-defined]  (SchemaValidator calls it directly)
    return accepts


# What a compiled check raises for a value it does not accept (absurd nesting and the like too:
# the authority decides those).
_REFUSED = (fastjsonschema.JsonSchemaValueException, RecursionError, TypeError, ValueError)


@functools.lru_cache(maxsize=None)
def _compiled(key: str) -> Optional[Callable[[Any], bool]]:
    """One compiled check per distinct schema, for validators made outside the compiled spec."""
    return accepting(check_code(key))

"""A JSON Schema rewritten for another draft with the same meaning, or not at all.

Both fast checks compile a schema with fastjsonschema only where every keyword means to it
what it means to their authority: ``edge/schema_check.py`` (OpenAPI 3.0 schemas, draft 4) and
``fixture_check.py`` (draft 2020-12, draft 7). This is the walk they share. A :class:`Dialect`
names the keywords that keep their meaning, the ones dropped (annotations) and its own special
cases; any other keyword, and any case that is not certain, raises :class:`Inexact`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

COMBINATORS = ("anyOf", "oneOf", "allOf")
SUBSCHEMAS = ("items", "additionalProperties")      # one schema each (a boolean is kept as it is)
DROP: Any = object()                                # a special case's answer: leave the keyword out


class Inexact(Exception):
    """The schema uses a keyword the compiled check would not treat exactly as the authority."""


@dataclass(frozen=True)
class Dialect:
    same_meaning: frozenset[str]
    skipped: Callable[[str], bool]                  # keywords dropped (annotations)
    # keyword -> handler(schema, value): the value to keep, or DROP; raises Inexact when unsure
    special: Mapping[str, Callable[[dict, Any], Any]] = field(default_factory=dict)
    finish: Optional[Callable[[dict, dict], None]] = None   # (schema, translated): last changes


def translate(schema: Any, dialect: Dialect) -> dict[str, Any]:
    """``schema`` in the target draft; raises Inexact where the meaning could differ."""
    if not isinstance(schema, dict):
        raise Inexact(repr(schema))
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if dialect.skipped(key):
            continue
        if key not in dialect.same_meaning:
            raise Inexact(key)
        handler = dialect.special.get(key)
        if handler is not None:
            value = handler(schema, value)
            if value is not DROP:
                out[key] = value
        elif key == "properties":
            out[key] = {name: translate(sub, dialect) for name, sub in value.items()}
        elif key in COMBINATORS:
            out[key] = [translate(sub, dialect) for sub in value]
        elif key in SUBSCHEMAS and not isinstance(value, bool):
            out[key] = translate(value, dialect)     # a list of items: a tuple in draft 4, prefixItems in 2020-12
        elif key == "enum" and not all(isinstance(v, str) for v in value):
            raise Inexact("enum of non-strings")     # 1 == True in Python: leave them to the authority
        elif key == "type" and not isinstance(value, str):
            raise Inexact("type list")
        else:
            out[key] = value
    if dialect.finish is not None:
        dialect.finish(schema, out)
    return out

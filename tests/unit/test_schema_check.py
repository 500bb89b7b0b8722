"""The compiled fast check in front of OAS30Validator may only ever accept what the
authority accepts: generated values it accepts are checked against the authority, for
every parameter and body schema of the spec."""
import copy

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mockserver.edge.schema_check import SchemaValidator, fast_schema
from mockserver.edge.spec import ApiSpec

_SPEC = ApiSpec.load()
_SCHEMAS = {}
for _op in _SPEC.operations.values():
    for _p in _op.params:
        _SCHEMAS[f"{_op.id}.{_p.location}.{_p.name}"] = _p.validator
    if _op.body is not None and _op.body.validator is not None:
        _SCHEMAS[f"{_op.id}.body"] = _op.body.validator
# One schema per distinct shape: many parameters share one (a username, a limit).
_DISTINCT = {repr(v.schema): name for name, v in _SCHEMAS.items()}


def test_every_spec_schema_has_a_fast_path():
    assert [name for name, v in _SCHEMAS.items() if not v.compiled] == []


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                     st.text(max_size=12))


def shaped_like(schema, depth=0):
    """Values shaped by ``schema`` (a translated, draft-4 schema): mostly near-valid, often
    subtly off (a null, a bool for a number, a missing or extra field, a bad pattern)."""
    if depth > 6:
        return _SCALARS
    options = []
    for key in ("anyOf", "oneOf", "allOf"):
        options += [shaped_like(sub, depth + 1) for sub in schema.get(key, [])]
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    for kind in kinds:
        if kind == "string" and "enum" in schema:
            continue
        if kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
        elif kind == "string":
            pattern = schema.get("pattern")
            options.append(st.from_regex(pattern) if pattern else st.text(min_size=schema.get("minLength", 0),
                                                                           max_size=schema.get("maxLength", 20) + 2))
        elif kind in ("integer", "number"):
            low, high = schema.get("minimum"), schema.get("maximum")
            options.append(st.integers(None if low is None else int(low) - 1, None if high is None else int(high) + 1))
            if kind == "number":
                options.append(st.floats(allow_nan=False, allow_infinity=False))
        elif kind == "array":
            options.append(st.lists(shaped_like(schema.get("items", {}), depth + 1), max_size=4))
        elif kind == "object":
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties", True)
            required = set(schema.get("required", []))
            options.append(st.fixed_dictionaries(
                {name: shaped_like(props.get(name, {}), depth + 1) for name in required},
                optional={name: shaped_like(sub, depth + 1) for name, sub in props.items() if name not in required}
            ).flatmap(
                lambda d: st.dictionaries(st.text(max_size=6), shaped_like(extra if isinstance(extra, dict) else {},
                                                                            depth + 1), max_size=2).map(
                    lambda more: {**more, **d})))
    shaped = st.one_of(options) if options else _SCALARS
    return st.one_of(shaped, shaped, shaped, shaped, shaped, shaped, shaped, _SCALARS)   # 1 in 8 off-type


@pytest.mark.parametrize("name", sorted(_DISTINCT.values()))
def test_what_the_fast_check_accepts_the_authority_accepts(name):
    validator = _SCHEMAS[name]

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(shaped_like(validator.fast_schema))
    def check(value):
        assume(validator._accepts(value))
        assert list(validator.authority.iter_errors(value)) == [], value

    check()


def test_nullable_default_and_read_write_only_translate_exactly():
    schema = {"type": "object", "required": ["a", "secret", "stamp"],
              "properties": {"a": {"type": "string", "nullable": True, "default": "x"},
                             "secret": {"type": "string", "writeOnly": True},
                             "stamp": {"type": "string", "readOnly": True}}}
    v = SchemaValidator(schema)
    assert v.compiled
    body = {"a": None}
    assert list(v.iter_errors(body)) == [] and body == {"a": None}      # no default filled in
    assert list(v.iter_errors({"a": 1}))                                # the authority's error
    assert fast_schema(schema)["required"] == ["a"]


@pytest.mark.parametrize("schema", [
    {"type": "string", "format": "email"},
    {"type": "string", "pattern": r"^\d+$"},
    {"enum": [1, 2]},
    {"oneOf": [{"type": "string"}], "discriminator": {"propertyName": "x"}},
    {"type": "array", "items": [{"type": "string"}]},         # a list of items: not one schema
])
def test_keywords_without_an_exact_translation_get_no_fast_path(schema):
    assert fast_schema(schema) is None and not SchemaValidator(schema).compiled


def test_a_refused_value_gets_the_authoritys_message():
    schema = copy.deepcopy(_SPEC.operations["createAlgorithm"].body.schema)
    v = SchemaValidator(schema)
    errors = list(v.iter_errors({"name": 3}))
    expected = [("'details' is a required property", [], "required"),
                ("'settings' is a required property", [], "required"),
                ("3 is not of type 'string'", ["name"], "type")]
    assert [(e.message, list(e.absolute_path), e.validator) for e in errors] == expected
    assert [(e.message, list(e.absolute_path), e.validator) for e in v.authority.iter_errors({"name": 3})] == expected

"""fixture_check.py's compiled check in front of jsonschema: same verdict and same message as
jsonschema alone, on the bundled sandbox and on many documents made from it by small changes;
no compiled check where the translation would not be exact."""
from __future__ import annotations

import copy
import datetime
import random
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

import mockserver.fixtures
from mockserver.fixture_check import FixtureSchema, fast_schema
from mockserver.fixture_docs import default_fixture

SCHEMA = yaml.safe_load((Path(mockserver.fixtures.__file__).parent / "fixture_schema.yaml").read_text())
SANDBOX = yaml.safe_load(default_fixture().read_text())
AUTHORITY = Draft202012Validator(SCHEMA)
_VALUES = [None, True, False, 0, 7, 1.0, 2.5, "", "x", "ManagementKey", "private", [], ["a"], [{}], {},
           {"name": "n"}, {"text": "t", "json": 1}, {"key": "k" * 8}]


def _verdict(error):
    return None if error is None else (error.message, list(error.absolute_path), error.validator)


def _nodes(doc, path=()):
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, path + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _nodes(value, path + (index,))


def _mutated(rng: random.Random) -> dict:
    """The sandbox with one to three small changes: a value replaced, a key dropped or added."""
    doc = copy.deepcopy(SANDBOX)
    for _ in range(rng.randint(1, 3)):
        path, node = rng.choice(list(_nodes(doc)))
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = rng.random()
        if action < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(_VALUES))
        elif action < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(node, dict):
            node[rng.choice(["extra", "default", "name", "text", "base64", "type"])] = copy.deepcopy(rng.choice(_VALUES))
    return doc


def test_the_fixture_schema_has_a_compiled_check():
    assert fast_schema(SCHEMA) is not None and FixtureSchema(SCHEMA).accepts is not None


def test_the_sandbox_passes_without_the_authority_and_is_left_as_it_was():
    doc = copy.deepcopy(SANDBOX)
    check = FixtureSchema(SCHEMA)
    assert check.first_error(doc) is None
    assert check._authority is None            # jsonschema was not needed
    assert doc == SANDBOX                      # no default filled in


@pytest.mark.parametrize("seed", range(8))
def test_same_verdict_and_message_as_jsonschema_alone(seed):
    rng = random.Random(seed)
    check = FixtureSchema(SCHEMA)
    for _ in range(60):
        doc = _mutated(rng)
        kept = copy.deepcopy(doc)
        assert _verdict(check.first_error(doc)) == _verdict(best_match(AUTHORITY.iter_errors(kept))), kept
        assert doc == kept


@pytest.mark.parametrize("doc", [
    {"users": [{"username": "u", "email": "e", "fullname": datetime.date(2020, 1, 1)}]},    # YAML's dates
    {"users": [("username", "u")]},                                                          # !!omap's pairs
    {"algorithms": [{"owner": "o", "name": "n", "source": {1: "x"}}]},                      # a key that is no string
])
def test_values_json_lacks_go_to_the_authority(doc):
    assert _verdict(FixtureSchema(SCHEMA).first_error(doc)) == _verdict(best_match(AUTHORITY.iter_errors(doc)))


@pytest.mark.parametrize("schema", [
    {"type": "string", "format": "email"},
    {"enum": [1, 2]},
    {"type": ["string", "null"]},
    {"type": "array", "items": [{"type": "string"}]},
    {"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a", "minLength": 2}}},
    {"properties": {"x": {"$ref": "#/definitions/a"}}, "definitions": {"a": {"type": "integer"}}},
    {"unevaluatedProperties": False},
])
def test_keywords_without_an_exact_translation_get_no_compiled_check(schema):
    assert fast_schema(schema) is None and FixtureSchema(schema).accepts is None
    assert _verdict(FixtureSchema(schema).first_error({"x": "y"})) == _verdict(
        best_match(Draft202012Validator(schema).iter_errors({"x": "y"})))

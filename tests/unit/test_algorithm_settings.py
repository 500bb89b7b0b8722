"""The settings and details rules of create and update (domain/algorithm_settings.py,
domain/algorithms.py): create's one-pass check is the general one applied to the body, checked
settings keep the wire order (answers carry them as they are), details merge field by field."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.api import render
from mockserver.domain import algorithms
from mockserver.domain.algorithm_models import Algorithm, AlgorithmView
from mockserver.domain.algorithm_settings import (KNOWN_SETTINGS, SETTINGS_DEFAULTS, check_settings, new_settings,
                                                  require_settings)
from mockserver.domain.models import internal_scm
from mockserver.errors import ApiError

# Each known field's valid values and a few that are not (types and texts), and unknown keys.
_FIELDS = {
    "algorithm_callability": ["public", "private", "hidden", 1],
    "source_visibility": ["open", "closed", "shut", ["open"]],
    "language": ["python3-1", "python2-lackpack", "java", "cobol", 5, ""],
    "environment": ["cpu", "gpu", "tpu", True],
    "package_set": ["", "ps", 3],
    "algorithm_environment": ["env-1", 7],
    "license": ["apl", "mit", "gpl", 0],
    "royalty_microcredits": [0, 5, -1, True, 1.0],
    "network_access": ["full", "isolated", "none"],
    "pipeline_enabled": [True, False, 1, "true"],
    "insights_enabled": [True, False, 0],
    "licence": ["ap1"],
}
settings_values = st.fixed_dictionaries(
    {}, optional={k: st.sampled_from([None, *values]) for k, values in _FIELDS.items()})


def _outcome(check, value):
    try:
        out = check(value)
    except ApiError as exc:
        return "refused", exc.kind, str(exc)
    except TypeError as exc:            # an unhashable value where a name is expected: as before
        return "type error", str(exc)
    return "ok", out


@settings(max_examples=400, deadline=None)
@given(settings_values)
def test_create_checks_its_settings_as_require_and_check_settings_do(given_settings):
    def general(value):
        return check_settings({**require_settings(value, SETTINGS_DEFAULTS), "algorithm_callability": "private"})
    assert _outcome(new_settings, given_settings) == _outcome(general, given_settings)


@settings(max_examples=300, deadline=None)
@given(settings_values)
def test_checked_settings_keep_the_wire_order_without_none(given_settings):
    outcome = _outcome(check_settings, given_settings)
    if outcome[0] == "ok":
        out = outcome[1]
        assert list(out) == [k for k in KNOWN_SETTINGS if k in out] + [k for k in out if k not in KNOWN_SETTINGS]
        assert None not in out.values() and set(out) <= set(given_settings) | {"environment", "pipeline_enabled"}


def test_the_first_refusal_is_the_seeds_order():
    bad = {"language": "cobol", "environment": "tpu", "license": "gpl", "source_visibility": "open",
           "network_access": "full", "pipeline_enabled": False}
    with pytest.raises(ApiError, match="not known: 'cobol'"):
        new_settings(bad)
    with pytest.raises(ApiError, match="settings.environment must be one of cpu, gpu, not 'tpu'"):
        new_settings({**bad, "language": "java"})
    with pytest.raises(ApiError, match="settings.license must be one of apl, apache2, gpl3, mit, not 'gpl'"):
        new_settings({**bad, "language": "java", "environment": "gpu"})
    with pytest.raises(ApiError, match=r"missing field\(s\): 'settings.network_access', 'settings.pipeline_enabled'"):
        new_settings({"language": "cobol"})


def _view(settings_):
    algo = Algorithm(id="a", owner="demo", name="A", details={"label": "A"}, settings=settings_)
    return AlgorithmView(algo, internal_scm())


def test_an_answer_carries_settings_in_wire_order_as_they_are():
    stored = new_settings({"network_access": "full", "language": "java", "environment": "cpu",
                           "pipeline_enabled": True, "source_visibility": "open"})
    assert render.algorithm(_view(stored), "http://mock")["settings"] is stored
    imported = {"pipeline_enabled": True, "colour": "red", "language": "java", "package_set": None,
                "source_visibility": "open"}
    shown = render.algorithm(_view(imported), "http://mock")["settings"]
    assert list(shown.items()) == [("source_visibility", "open"), ("language", "java"), ("pipeline_enabled", True),
                                   ("colour", "red")]
    assert list(imported) == ["pipeline_enabled", "colour", "language", "package_set", "source_visibility"]


@pytest.mark.parametrize("current,given_details,expected", [
    ({}, {"label": "L"}, {"label": "L"}),
    ({}, {"tagline": "t", "label": "L", "summary": "s"}, {"label": "L", "summary": "s", "tagline": "t"}),
    ({"label": "L", "summary": "s", "extra": 1}, None, {"label": "L", "summary": "s"}),
    ({"label": "L", "summary": "s"}, {"label": None, "summary": None}, {"label": "L"}),
    ({"label": "L", "tagline": "t"}, {"summary": "s"}, {"label": "L", "summary": "s", "tagline": "t"}),
])
def test_details_merge_field_by_field_in_order(current, given_details, expected):
    merged = algorithms.merge_details(current, given_details)
    assert merged == expected and list(merged) == [k for k in ("label", "summary", "tagline") if k in expected]


@pytest.mark.parametrize("current,given_details,message", [
    ({}, {"label": 3, "summary": 4}, "details.label must be a string"),
    ({}, {"label": " "}, "missing field: 'details.label'"),
    ({}, {"label": None}, "missing field: 'details.label'"),
    ({"label": "L"}, {"tagline": 1}, "details.tagline must be a string"),
])
def test_details_refusals(current, given_details, message):
    with pytest.raises(ApiError, match=message):
        algorithms.merge_details(current, given_details)


def test_new_algorithms_with_equal_settings_share_one_stored_dict():
    given = {**SETTINGS_DEFAULTS, "language": "python3-1", "environment": "cpu", "royalty_microcredits": 5,
             "network_access": "full", "pipeline_enabled": False, "source_visibility": "closed"}
    first, second = new_settings(dict(given)), new_settings(dict(given))
    assert first is second and first == check_settings({**given, "algorithm_callability": "private"})
    assert new_settings({**given, "royalty_microcredits": 6}) is not first      # another value
    reordered = dict(reversed(list(given.items())))
    assert new_settings(reordered) == first and list(new_settings(reordered)) == list(first)


def test_the_shared_table_keeps_types_apart_skips_unhashable_values_and_is_bounded(monkeypatch):
    from mockserver.domain import algorithm_settings as module
    monkeypatch.setattr(module, "_shared_settings", {})
    monkeypatch.setattr(module, "_SHARED_MAX", 3)
    one, true = {"x": 1}, {"x": True}
    assert module._shared(one) is one and module._shared(dict(true)) is not one    # 1 == True, types differ
    listed = {"package_set": ["a"]}
    assert module._shared(listed) is listed and module._shared({"package_set": ["a"]}) is not listed
    for n in range(10):
        module._shared({"n": n})
    assert len(module._shared_settings) <= 3

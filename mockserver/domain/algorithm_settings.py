"""An algorithm's settings: the checks create, update and publish apply (seed 001 "Create an
algorithm", "Update an algorithm"), and what they take beyond the seed's rules
(docs/behaviour.md "Decisions").

The live API ignored settings keys it did not know, and did not insist on every field seed 001
marks Required: the Ruby client's test helper creates algorithms with ``"licence": "ap1"`` (sic)
and no ``license``. So unknown keys are left out (the request journal notes them) and a missing
``license`` gets the platform's default; the known fields keep their strict type and value checks.

Checked settings are kept in the wire order (``KNOWN_SETTINGS``) without None values, their
names and string values shared between algorithms (each parsed JSON body brings its own copies,
about 800 bytes per algorithm), so answers can carry them as they are (api/render.py).
"""
from __future__ import annotations

import sys
from typing import Any

from mockserver.domain.environments import ALIASES, LANGUAGES, canonical_language
from mockserver.errors import INVALID_REQUEST, UNSUPPORTED_MACHINE, ApiError

# The settings the platform knows, in the order answers show them (the spec's
# AlgorithmSettingsCreate; tests/unit keeps them equal).
KNOWN_SETTINGS = ("algorithm_callability", "source_visibility", "language", "environment", "package_set",
                  "algorithm_environment", "license", "royalty_microcredits", "network_access",
                  "pipeline_enabled", "insights_enabled")
# What create fills in for a field seed 001 marks Required that the live platform did not
# enforce (an update keeps the algorithm's own value instead).
SETTINGS_DEFAULTS = {"license": "apl"}
# Seed 001 marks these "Required" in both the create and the update payload (and license, which
# the live platform did not insist on: SETTINGS_DEFAULTS).
REQUIRED_SETTINGS = ("network_access", "pipeline_enabled", "source_visibility")
ENVIRONMENTS = ("cpu", "gpu")
LICENSES = ("apl", "apache2", "gpl3", "mit")
VISIBILITIES = ("open", "closed")
NETWORK_ACCESS = ("full", "isolated")
CALLABILITIES = ("public", "private")
_KNOWN = frozenset(KNOWN_SETTINGS)
# Each enumeration's values by themselves, and None (not given): a lookup both checks a value
# and gives the one shared copy of its text.
_ENVIRONMENTS, _LICENSES, _VISIBILITIES, _NETWORK_ACCESS, _CALLABILITIES = (
    {None: None, **{value: value for value in values}}
    for values in (ENVIRONMENTS, LICENSES, VISIBILITIES, NETWORK_ACCESS, CALLABILITIES))
# settings.language values and their aliases -> the stored text (canonical_language's answers).
_LANGUAGES = {**{name: name for name in LANGUAGES}, **ALIASES}
_intern = sys.intern


def known_settings(given: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``given`` without the keys the platform does not know, ``defaults`` filling fields not given."""
    out = {k: v for k, v in given.items() if k in _KNOWN}
    for field, value in (defaults or {}).items():
        if out.get(field) is None:
            out[field] = value
    return out


def require_settings(given: Any, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body's ``settings``, its unknown keys left out, with ``defaults`` for fields not given,
    and every field seed 001 requires present (create and update): the ones above, and
    ``environment`` whenever ``language`` is given. Known fields keep their strict checks."""
    _require(given)
    return known_settings(given, defaults)


def _require(given: Any) -> None:
    """:func:`require_settings`' refusals (the fields it asks for are known ones: leaving out
    the unknown keys first changes nothing here)."""
    if not isinstance(given, dict):
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field: 'settings'")
    get = given.get
    if get("network_access") is None or get("pipeline_enabled") is None or get("source_visibility") is None \
            or (get("language") is not None and get("environment") is None):
        missing = [f for f in REQUIRED_SETTINGS if get(f) is None]
        if get("language") is not None and get("environment") is None:
            missing.append("environment")
        raise ApiError(INVALID_REQUEST, "Request body is invalid, missing field(s): "
                       + ", ".join(f"'settings.{f}'" for f in missing) + " (required by the API)")


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete settings object against the seed's enumerations; returns it cleaned:
    the known fields in KNOWN_SETTINGS' order, then any other (an imported state's), None values
    left out."""
    out = _checked(*map(settings.get, KNOWN_SETTINGS))
    if not _KNOWN.issuperset(settings):
        for k, v in settings.items():
            if v is not None and k not in _KNOWN:
                out[_intern(k)] = _intern(v) if type(v) is str else v
    return out


def new_settings(given: Any) -> dict[str, Any]:
    """The settings of a new algorithm from a create body's ``settings``: what
    ``check_settings({**require_settings(given, SETTINGS_DEFAULTS), "algorithm_callability": "private"})``
    returns or raises, reading each field once (every create)."""
    if not isinstance(given, dict):
        _require(given)
    (_callability, visibility, language, environment, package_set, environment_id, license_, royalty, network,
     pipeline, insights) = map(given.get, KNOWN_SETTINGS)
    if network is None or pipeline is None or visibility is None or (language is not None and environment is None):
        _require(given)
    return _shared(_checked("private", visibility, language, environment, package_set, environment_id,
                            SETTINGS_DEFAULTS["license"] if license_ is None else license_, royalty, network,
                            pipeline, insights))


# Stored settings are replaced, never changed in place (api/render.py answers with them as they
# are), so new algorithms with equal settings share one dict: most algorithms of a run have one
# of a few, and each dict is ~270 bytes kept per algorithm. Bounded: a client sending ever new
# settings costs at most _SHARED_MAX entries, then the table starts again.
_SHARED_MAX = 1024
_shared_settings: dict[tuple, dict[str, Any]] = {}


def _shared(settings: dict[str, Any]) -> dict[str, Any]:
    """The stored dict equal to ``settings`` (same keys in the same order, values of the same
    types), or ``settings`` itself, kept for the next."""
    try:
        key = tuple((k, type(v), v) for k, v in settings.items())     # 1 == True: types too
        found = _shared_settings.get(key)
    except TypeError:                  # an unhashable value (a package_set list, say): not shared
        return settings
    if found is not None:
        return found
    if len(_shared_settings) >= _SHARED_MAX:
        _shared_settings.clear()
    _shared_settings[key] = settings
    return settings


def _checked(callability: Any, visibility: Any, language: Any, environment: Any, package_set: Any,
             environment_id: Any, license_: Any, royalty: Any, network: Any, pipeline: Any,
             insights: Any) -> dict[str, Any]:
    """The known fields (KNOWN_SETTINGS' order; None: not given) checked in the seed's order of
    refusals, as ``check_settings`` keeps them."""
    if language is not None:
        canonical = _LANGUAGES.get(language) if isinstance(language, str) else None
        language = canonical or _intern(canonical_language(language))      # (which refuses it)
        if environment is None:
            environment = "cpu"         # clients always send it; the platform's default
    elif not package_set:
        raise ApiError(INVALID_REQUEST, "settings.language is required (or settings.package_set)")
    try:          # each enumeration's own text (None stays None), or the first refusal below
        environment, license_, visibility, network, callability = (
            _ENVIRONMENTS[environment], _LICENSES[license_], _VISIBILITIES[visibility], _NETWORK_ACCESS[network],
            _CALLABILITIES[callability])
    except (KeyError, TypeError):
        for field, value, allowed, kind in (
                ("environment", environment, ENVIRONMENTS, UNSUPPORTED_MACHINE), ("license", license_, LICENSES, INVALID_REQUEST),
                ("source_visibility", visibility, VISIBILITIES, INVALID_REQUEST),
                ("network_access", network, NETWORK_ACCESS, INVALID_REQUEST),
                ("algorithm_callability", callability, CALLABILITIES, INVALID_REQUEST)):
            if value is not None and value not in allowed:
                raise ApiError(kind, f"settings.{field} must be one of {', '.join(allowed)}, not {value!r}") from None
        raise
    if license_ is None or visibility is None or network is None:
        field = "license" if license_ is None else "source_visibility" if visibility is None else "network_access"
        raise ApiError(INVALID_REQUEST, f"Request body is invalid, missing field: 'settings.{field}'")
    if pipeline is None:
        pipeline = False
    elif pipeline is not True and pipeline is not False:
        raise ApiError(INVALID_REQUEST, f"settings.pipeline_enabled must be true or false, not {pipeline!r}")
    if insights is not None and insights is not True and insights is not False:
        raise ApiError(INVALID_REQUEST, f"settings.insights_enabled must be true or false, not {insights!r}")
    if royalty is not None and (isinstance(royalty, bool) or not isinstance(royalty, int) or royalty < 0):
        raise ApiError(INVALID_REQUEST, f"settings.royalty_microcredits must be an integer >= 0, not {royalty!r}")
    if visibility == "closed" and license_ != "apl":
        raise ApiError(INVALID_REQUEST, "Only the apl license supports closed-source algorithms: settings.source_visibility "
                       f"'closed' needs settings.license 'apl' (got {license_!r}); use 'open' for {license_}")
    out = {} if callability is None else {"algorithm_callability": callability}
    out["source_visibility"] = visibility
    if language is not None:
        out["language"] = language
    if environment is not None:
        out["environment"] = environment
    if package_set is not None:
        out["package_set"] = _intern(package_set) if type(package_set) is str else package_set
    if environment_id is not None:
        out["algorithm_environment"] = _intern(environment_id) if type(environment_id) is str else environment_id
    out["license"] = license_
    if royalty is not None:
        out["royalty_microcredits"] = royalty
    out["network_access"] = network
    out["pipeline_enabled"] = pipeline
    if insights is not None:
        out["insights_enabled"] = insights
    return out


def settings_notes(body: Any, *, creating: bool) -> list[str]:
    """What create (``creating``) or update made of a body's settings beyond the seed's rules: the
    unknown keys it ignored and the defaults it filled in, for the request journal."""
    given = body.get("settings") if isinstance(body, dict) else None
    if not isinstance(given, dict):
        return []
    notes = []
    if not _KNOWN.issuperset(given):
        notes.append("settings keys the platform does not know were ignored: "
                     + ", ".join(sorted(k for k in given if k not in _KNOWN)))
    if creating:
        for k, v in SETTINGS_DEFAULTS.items():
            if given.get(k) is None:
                notes.append(f"settings.{k} was not given: defaulted to {v!r}")
    return notes

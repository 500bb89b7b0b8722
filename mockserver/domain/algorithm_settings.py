"""Which algorithm settings create and update take, beyond the seed's rules (seed 001
"Create an algorithm", "Update an algorithm"; docs/behaviour.md "Decisions").

The live API ignored settings keys it did not know, and did not insist on every field seed 001
marks Required: the Ruby client's test helper creates algorithms with ``"licence": "ap1"`` (sic)
and no ``license``. So unknown keys are left out (the request journal notes them) and a missing
``license`` gets the platform's default; the known fields keep their strict type and value checks.
"""
from __future__ import annotations

from typing import Any

# The settings the platform knows (the spec's AlgorithmSettingsCreate; tests/unit keeps them equal).
KNOWN_SETTINGS = ("algorithm_callability", "source_visibility", "language", "environment", "package_set",
                  "algorithm_environment", "license", "royalty_microcredits", "network_access",
                  "pipeline_enabled", "insights_enabled")
# What create fills in for a field seed 001 marks Required that the live platform did not
# enforce (an update keeps the algorithm's own value instead).
SETTINGS_DEFAULTS = {"license": "apl"}
_KNOWN = frozenset(KNOWN_SETTINGS)


def known_settings(given: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``given`` without the keys the platform does not know, ``defaults`` filling fields not given."""
    out = {k: v for k, v in given.items() if k in _KNOWN}
    for field, value in (defaults or {}).items():
        if out.get(field) is None:
            out[field] = value
    return out


def settings_notes(body: Any, *, creating: bool) -> list[str]:
    """What create (``creating``) or update made of a body's settings beyond the seed's rules: the
    unknown keys it ignored and the defaults it filled in, for the request journal."""
    given = body.get("settings") if isinstance(body, dict) else None
    if not isinstance(given, dict):
        return []
    notes = []
    unknown = [k for k in given if k not in _KNOWN]
    if unknown:
        notes.append("settings keys the platform does not know were ignored: " + ", ".join(sorted(unknown)))
    if creating:
        notes += [f"settings.{k} was not given: defaulted to {v!r}" for k, v in SETTINGS_DEFAULTS.items()
                  if given.get(k) is None]
    return notes

"""Which environment profile an algorithm runs (and builds) in."""
from __future__ import annotations

from typing import Any

from mockserver.errors import UNSUPPORTED_MACHINE, ApiError
from mockserver.runtime import Profile
from mockserver.domain.context import Ctx
from mockserver.domain.environments import find_environment, serves

# What settings.environment selects when no profile names the language.
ENVIRONMENT_PROFILES = {"cpu": "python3-cpu", "gpu": "python3-gpu"}


def profile_for(ctx: Ctx, settings: dict[str, Any]) -> Profile:
    """The environment profile an algorithm runs in: by name, else the one its
    ``algorithm_environment`` simulates, else by language and processor."""
    profiles = ctx.profiles or {}
    named = settings.get("environment_profile") or settings.get("profile")
    if named in profiles:
        return profiles[named]
    chosen = find_environment(ctx, settings.get("algorithm_environment")) if settings.get("algorithm_environment") else None
    if chosen is not None:
        return profiles[chosen.profile]
    processor = settings.get("environment") or "cpu"
    language = settings.get("language") or "python3-1"
    for profile in profiles.values():
        if profile.processor == processor and serves(profile, language):
            return profile
    fallback = profiles.get(ENVIRONMENT_PROFILES.get(processor, "python3-cpu"))
    if fallback is None:
        raise ApiError(UNSUPPORTED_MACHINE, f"The requested machine type is not supported: no {processor} environment profile is loaded")
    return fallback

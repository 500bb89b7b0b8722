"""Languages and the simulated environments (CPU/GPU profiles) that run them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from mockserver.errors import NOT_FOUND, UNKNOWN_LANGUAGE, ApiError
from mockserver.domain.context import Ctx

# settings.language values the seeds list, with the names the platform displays.
LANGUAGES = {
    "python3-1": "Python 3.x", "python2-langpack": "Python 2.x", "java": "Java",
    "javascript": "JavaScript", "r": "R", "ruby": "Ruby", "rust": "Rust", "scala": "Scala",
}
# Seed typo ("python2-lackpack") accepted as an alias of python2-langpack.
ALIASES = {"python2-lackpack": "python2-langpack"}


@dataclass(frozen=True)
class SecretProvider:
    id: str
    name: str
    description: str
    module_name: str
    factory_class_name: str
    interface_version: str
    is_enabled: bool
    is_default: bool


@dataclass(frozen=True)
class Language:
    name: str
    display_name: str


@dataclass(frozen=True)
class Environment:
    id: str
    display_name: str
    description: str
    machine_type: str
    language: Language


SECRET_PROVIDERS = (SecretProvider(
    id="00000000-0000-4000-8000-000000000001", name="Algorithmia Secret Store",
    description="The mock's in-memory secret store", module_name="algorithmia.secrets",
    factory_class_name="InMemorySecretStoreFactory", interface_version="1.0",
    is_enabled=True, is_default=True,
),)


def canonical_language(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in LANGUAGES:
        raise ApiError(UNKNOWN_LANGUAGE, f"The request algorithm language is not known: {name!r}; one of {', '.join(LANGUAGES)}")
    return name


def _language(name: str) -> Language:
    return Language(name, LANGUAGES.get(name, name))


def languages() -> list[Language]:
    return [_language(name) for name in LANGUAGES]


def environment_id(profile_name: str, language: str) -> str:
    """A stable id per (profile, language): a profile may serve several languages, and the
    template an environment hands out (``algo template``) is its language's."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"algorithmia-mock/environment/{profile_name}/{language}"))


def _environments(ctx: Ctx, language: str | None = None):
    """(id, profile, language) of every environment, optionally of one language."""
    for profile in (ctx.profiles or {}).values():
        for served in getattr(profile, "languages", ()):
            if language is None or served == language:
                yield environment_id(profile.name, served), profile, served


def environments(ctx: Ctx, language: str) -> list[Environment]:
    language = canonical_language(language)
    return [Environment(id=ident, display_name=profile.name,
                        description=getattr(profile, "description", "") or f"{profile.processor.upper()} environment",
                        machine_type=profile.processor.upper(), language=_language(language))
            for ident, profile, _ in _environments(ctx, language)]


def environment_language(ctx: Ctx, env_id: str) -> str:
    """The language of the environment ``env_id`` (an id ``environments`` lists); 404 if none."""
    for ident, _, language in _environments(ctx):
        if ident == env_id:
            return language
    raise ApiError(NOT_FOUND, f"No such environment specification: {env_id!r}", 404)

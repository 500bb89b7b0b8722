"""Languages and environments.

Two vocabularies meet here:

- the seeds' ``settings.language`` values (``python3-1``, ``java``, ...: seed 001), which
  algorithms keep in their settings;
- the platform's *environment languages* (``python3``, ``java11``, ``anaconda3``, ...) under
  ``GET /v1/algorithm-environments/edge/languages``, each with the environments that build and
  run its algorithms (``.../languages/{name}/environments``), as ``algorithmia`` 2.0.5's
  ``get_supported_languages()``/``get_environment()`` and ``algo languages``/``algo environment``
  read them.

Every environment is one loaded runtime profile (``profiles:`` in fixtures) serving one
environment language; ``settings.algorithm_environment`` names an environment by its ``id``
and so picks both the language and the profile an algorithm builds and runs in.
"""
from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

from mockserver.errors import ENVIRONMENT_NOT_FOUND, UNKNOWN_ALGORITHM_ENVIRONMENT, UNKNOWN_LANGUAGE, ApiError
from mockserver.domain.context import Ctx

# settings.language values the seeds list, with the names the platform displays.
LANGUAGES = {
    "python3-1": "Python 3.x", "python2-langpack": "Python 2.x", "java": "Java",
    "javascript": "JavaScript", "r": "R", "ruby": "Ruby", "rust": "Rust", "scala": "Scala",
}
# Seed typo ("python2-lackpack") accepted as an alias of python2-langpack.
ALIASES = {"python2-lackpack": "python2-langpack"}
# When environments were "created" (a fixed moment: they are the platform's catalogue, not state).
ENVIRONMENTS_CREATED_AT = "2021-01-01T00:00:00.000Z"


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
    created: str
    modified: str


@dataclass(frozen=True)
class Language:
    """An environment language of the platform."""
    name: str                        # python3
    display_name: str                # Python 3.x (Environments)
    configuration: str               # its build configuration, a JSON text
    settings_language: str | None    # the seeds' settings.language its algorithms have (None: no such value)
    environment_name: str            # what its environments are called: "Python 3.x"


@dataclass(frozen=True)
class Environment:
    id: str
    environment_specification_id: str
    display_name: str
    description: str
    created_at: str
    machine_type: str                # CPU | GPU
    language: Language
    profile: str                     # the runtime profile that simulates it


def _configuration(display_name: str, req_files: tuple[str, ...], artifacts: tuple[tuple[str, str], ...]) -> str:
    config: dict[str, Any] = {"display_name": display_name}
    if req_files:
        config["req_files"] = list(req_files)
    config["artifacts"] = [{"source": s, "destination": d} for s, d in artifacts]
    return json.dumps(config, indent=4) + "\n"


def _language(name: str, display: str, settings_language: str | None, environment_name: str,
              req_files: tuple[str, ...], artifacts: tuple[tuple[str, str], ...]) -> Language:
    return Language(name, display, _configuration(display, req_files, artifacts), settings_language, environment_name)


_PY_ARTIFACTS = (("/home/algo/.local", "/home/algo/.local/"), ("/opt/algorithm", "/opt/algorithm/"))
# The platform's environment languages (what algorithmia 2.0.5's recorded answers list), by name.
ENVIRONMENT_LANGUAGES: dict[str, Language] = {lang.name: lang for lang in (
    _language("anaconda3", "Conda (Environments) - beta", "python3-1", "Conda Python 3.x", ("environment.yml",),
              (("/home/algo/.cache", "/home/algo/.cache/"),
               ("/home/algo/anaconda_environment", "/home/algo/anaconda_environment/"),
               ("/opt/algorithm", "/opt/algorithm/"))),
    _language("csharp-dotnet-core2", "C# .NET Core 2.x+ (Environments)", None, "C# .NET Core 2.x", (),
              (("/opt/algorithm/bin/Release/*/*", "/opt/algorithm/"),
               ("/opt/algorithm/resources", "/opt/algorithm/resources/"),
               ("/home/algo/.nuget", "/home/algo/.nuget/"))),
    _language("java11", "Java OpenJDK 11.0 (Environments)", "java", "Java OpenJDK 11.0", (),
              (("/opt/algorithm/target/*.jar", "/opt/algorithm/target/algorithm.jar"),
               ("/opt/algorithm/target/lib", "/opt/algorithm/target/lib/"))),
    _language("python2", "Python 2.x (Environments)", "python2-langpack", "Python 2.x", ("requirements.txt",),
              _PY_ARTIFACTS),
    _language("python3", "Python 3.x (Environments)", "python3-1", "Python 3.x", ("requirements.txt",),
              _PY_ARTIFACTS),
    _language("r36", "R 3.6.x (Environments)", "r", "R 3.6.x", ("packages.txt",),
              (("/opt/algorithm", "/opt/algorithm/"),
               ("/usr/local/lib/R/site-library", "/usr/local/lib/R/site-library/"))),
    _language("scala-2", "Scala 2.x & sbt 1.3.x (Environments)", "scala", "Scala 2.x & sbt 1.3.x", (),
              (("/opt/algorithm/target/universal/stage", "/opt/algorithm/stage/"),)),
)}
# The environment language a seeds' settings.language builds in (anaconda3 also builds python3-1).
_PRIMARY = {"python3-1": "python3", "python2-langpack": "python2", "java": "java11", "r": "r36", "scala": "scala-2"}

SECRET_PROVIDERS = (SecretProvider(
    id="00000000-0000-4000-8000-000000000001", name="algorithmia_internal_secret_provider",
    description="Internal Secret Provider (the mock's in-memory secret store)", module_name="module",
    factory_class_name="com.algorithmia.plugin.sqlsecretprovider.InternalSecretProviderFactory",
    interface_version="1.0", is_enabled=True, is_default=True,
    created=ENVIRONMENTS_CREATED_AT, modified=ENVIRONMENTS_CREATED_AT,
),)


def canonical_language(name: str) -> str:
    """A settings.language value as stored (the seeds' spelling); 4001 if it is none."""
    name = ALIASES.get(name, name)
    if name not in LANGUAGES:
        raise ApiError(UNKNOWN_LANGUAGE, f"The request algorithm language is not known: {name!r}; one of {', '.join(LANGUAGES)}")
    return name


def languages() -> list[Language]:
    """Every environment language, by name (the platform's order)."""
    return [ENVIRONMENT_LANGUAGES[name] for name in sorted(ENVIRONMENT_LANGUAGES)]


def environment_language_of(name: str) -> Language | None:
    """The environment language a profile's ``languages`` entry names: an environment language
    itself, or a seeds' settings.language (``python3-1`` -> ``python3``); None for the seeds'
    languages the platform has no environments for (javascript, ruby, rust)."""
    name = ALIASES.get(name, name)
    lang = ENVIRONMENT_LANGUAGES.get(name) or ENVIRONMENT_LANGUAGES.get(_PRIMARY.get(name, ""))
    return lang if lang is not None and lang.settings_language is not None else None


def serves(profile: Any, settings_language: str) -> bool:
    """Does ``profile`` build and run algorithms whose settings.language is ``settings_language``?"""
    for entry in getattr(profile, "languages", ()):
        lang = environment_language_of(entry)
        if ALIASES.get(entry, entry) == settings_language or (lang and lang.settings_language == settings_language):
            return True
    return False


def _served(profile: Any) -> list[Language]:
    out: list[Language] = []
    for entry in getattr(profile, "languages", ()):
        lang = environment_language_of(entry)
        if lang is not None and lang not in out:
            out.append(lang)
    return out


def _ids(profile_name: str, language: str) -> tuple[str, str]:
    """Stable ids of the environment (profile, language) and of its specification."""
    return (str(uuid.uuid5(uuid.NAMESPACE_URL, f"algorithmia-mock/environment/{profile_name}/{language}")),
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"algorithmia-mock/environment-specification/{profile_name}/{language}")))


def _all(ctx: Ctx) -> tuple[Environment, ...]:
    """Every environment of the loaded profiles, by language then profile."""
    return _catalogue(tuple((ctx.profiles or {}).values()))


@functools.lru_cache(maxsize=64)
def _catalogue(profiles: tuple) -> tuple[Environment, ...]:
    return tuple(_environments_of(profiles))


def _environments_of(profiles: tuple) -> Iterator[Environment]:
    pairs = [(lang, profile) for profile in profiles for lang in _served(profile)]
    base = {}
    for lang, profile in pairs:
        gpu = " + GPU support" if profile.processor == "gpu" else ""
        base[(lang.name, profile.name)] = f"{lang.environment_name}{gpu}"
    for lang, profile in sorted(pairs, key=lambda pair: (pair[0].name, pair[1].name)):
        display = base[(lang.name, profile.name)]
        if sum(1 for (other, _), shown in base.items() if other == lang.name and shown == display) > 1:
            display = f"{display} ({profile.name})"
        ident, spec = _ids(profile.name, lang.name)
        described = f": {profile.description}" if getattr(profile, "description", "") else ""
        yield Environment(
            id=ident, environment_specification_id=spec, display_name=display,
            description=f"{lang.environment_name} on {profile.processor.upper()}, simulated by the runtime profile "
                        f"{profile.name}{described}",
            created_at=ENVIRONMENTS_CREATED_AT, machine_type=profile.processor.upper(), language=lang,
            profile=profile.name)


def environments(ctx: Ctx, language: str) -> list[Environment]:
    """The environments of an environment language (4001 for any other name)."""
    if language not in ENVIRONMENT_LANGUAGES:
        hint = ""
        primary = _PRIMARY.get(ALIASES.get(language, language))
        if primary:
            hint = f" ({language!r} is a settings.language; its environments are those of {primary!r})"
        raise ApiError(UNKNOWN_LANGUAGE, f"The request algorithm language is not known: {language!r}{hint}; "
                       f"one of {', '.join(sorted(ENVIRONMENT_LANGUAGES))}")
    return [env for env in _all(ctx) if env.language.name == language]


def find_environment(ctx: Ctx, env_id: Any) -> Environment | None:
    """The environment whose ``id`` is ``env_id``, or None."""
    if not isinstance(env_id, str):      # most settings name none: skip hashing the profiles
        return None
    global _last_by_id
    profiles = tuple((ctx.profiles or {}).values())
    last = _last_by_id
    # The same profile objects as last time (every call of an algorithm that names its
    # environment asks): compared by identity first, without hashing each profile again.
    by_id = last[1] if last[0] == profiles else None
    if by_id is None:
        by_id = _by_id(profiles)
        _last_by_id = (profiles, by_id)
    return by_id.get(env_id)


_last_by_id: tuple[tuple, dict] = ((), {})


@functools.lru_cache(maxsize=64)
def _by_id(profiles: tuple) -> dict[str, Environment]:
    """The environments of ``profiles`` by id (every call of an algorithm that names one asks)."""
    return {env.id: env for env in reversed(_catalogue(profiles))}     # the first of an id wins, as before


def environment_language(ctx: Ctx, env_id: str) -> str:
    """The settings.language whose template the environment (by ``id`` or
    ``environment_specification_id``) hands out; 404 if none."""
    for env in _all(ctx):
        if env_id in (env.id, env.environment_specification_id):
            return env.language.settings_language or env.language.name
    raise ApiError(ENVIRONMENT_NOT_FOUND, f"No such environment specification: {env_id!r}")


def resolve_algorithm_environment(ctx: Ctx, given: Any, current: dict[str, Any] | None = None) -> Any:
    """``given`` (a create or update body's settings) with ``language`` and ``environment`` taken
    from ``settings.algorithm_environment``: the environment decides both, so either may be left
    out; given as well, they must agree with it. An unknown id is refused, naming it. On update
    (``current``: the stored settings) a new language or processor without an environment id
    drops the stored id it no longer matches. Anything but a dict is returned unchanged."""
    if not isinstance(given, dict):
        return given
    env_id = given.get("algorithm_environment")
    if env_id is None:
        stored = find_environment(ctx, (current or {}).get("algorithm_environment"))
        if stored is not None and (
                given.get("language") not in (None, stored.language.settings_language)
                or given.get("environment") not in (None, stored.machine_type.lower())):
            return {**given, "algorithm_environment": None}
        return given
    env = find_environment(ctx, env_id)
    if env is None:
        raise ApiError(UNKNOWN_ALGORITHM_ENVIRONMENT,
                       f"settings.algorithm_environment {env_id!r} is not a known algorithm environment; the ids are "
                       "listed by GET /v1/algorithm-environments/edge/languages/{language}/environments")
    language, processor = env.language.settings_language, env.machine_type.lower()
    if given.get("language") is not None and ALIASES.get(given["language"], given["language"]) != language:
        raise ApiError(UNKNOWN_ALGORITHM_ENVIRONMENT,
                       f"settings.language {given['language']!r} does not match settings.algorithm_environment "
                       f"{env_id!r}, an environment of {env.language.name} (settings.language {language!r})")
    if given.get("environment") is not None and given["environment"] != processor:
        raise ApiError(UNKNOWN_ALGORITHM_ENVIRONMENT,
                       f"settings.environment {given['environment']!r} does not match settings.algorithm_environment "
                       f"{env_id!r}, a {env.machine_type} environment")
    return {**given, "language": language, "environment": processor}

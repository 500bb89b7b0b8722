"""Languages and the simulated environments (CPU/GPU profiles) that run them."""
from __future__ import annotations

import json
import uuid
from typing import Any

from mockserver.errors import UNKNOWN_LANGUAGE, ApiError
from mockserver.domain.context import Ctx

# settings.language values the seeds list, with the names the platform displays.
LANGUAGES = {
    "python3-1": "Python 3.x", "python2-langpack": "Python 2.x", "java": "Java",
    "javascript": "JavaScript", "r": "R", "ruby": "Ruby", "rust": "Rust", "scala": "Scala",
}
# Seed typo ("python2-lackpack") accepted as an alias of python2-langpack.
ALIASES = {"python2-lackpack": "python2-langpack"}
SECRET_PROVIDERS = [{
    "id": "00000000-0000-4000-8000-000000000001", "name": "Algorithmia Secret Store",
    "description": "The mock's in-memory secret store", "module_name": "algorithmia.secrets",
    "factory_class_name": "InMemorySecretStoreFactory", "interface_version": "1.0",
    "is_enabled": True, "is_default": True,
}]


def canonical_language(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in LANGUAGES:
        raise ApiError(UNKNOWN_LANGUAGE, f"The request algorithm language is not known: {name!r}; one of {', '.join(LANGUAGES)}")
    return name


def _language(name: str) -> dict[str, Any]:
    return {"name": name, "display_name": LANGUAGES.get(name, name),
            "configuration": json.dumps({"language": name})}


def languages() -> list[dict[str, Any]]:
    return [_language(name) for name in LANGUAGES]


def environments(ctx: Ctx, language: str) -> dict[str, Any]:
    language = canonical_language(language)
    found = []
    for profile in (ctx.profiles or {}).values():
        if language not in getattr(profile, "languages", ()):
            continue
        ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"algorithmia-mock/environment/{profile.name}"))
        found.append({
            "id": ident, "environment_specification_id": ident, "display_name": profile.name,
            "description": getattr(profile, "description", "") or f"{profile.processor.upper()} environment",
            "machine_type": profile.processor.upper(), "language": _language(language),
        })
    return {"environments": found}

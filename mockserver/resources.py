"""Where the bundled spec and fixtures live: inside the wheel, or the checkout."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    bundled = _PACKAGE / "_bundled" / Path(*parts)
    if bundled.exists():
        return bundled
    return _PACKAGE.parent / Path(*parts)    # a source checkout / editable install

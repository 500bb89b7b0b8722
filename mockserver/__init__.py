"""algorithmia-mock: an offline, stateful fake of the Algorithmia REST API v1."""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(settings, **kwargs):
    """``mockserver.app.create_app``: the app for ``settings`` (``mockserver.settings.Settings``, required)."""
    from mockserver.app import create_app as _create_app
    return _create_app(settings, **kwargs)

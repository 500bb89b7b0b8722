"""WSGI entry: ``python -m mockserver.serve mockserver.wsgi:app`` (what ``mockserver`` serves).

Settings come from MOCKSERVER_* environment variables (see config.Settings.from_env).
"""
import sys

from .app import create_app
from .config import Settings
from .fixtures import FixtureError
from .logs import configure_logging

_settings = Settings.from_env()
configure_logging(_settings.log_level)
try:
    app = create_app(_settings)
except FixtureError as _exc:
    # Same message as the mockserver command.
    print(f"mockserver: bad fixture file {_exc.file}\n  at: {_exc.where}\n  problem: {_exc.reason}",
          file=sys.stderr, flush=True)
    raise SystemExit(2) from None

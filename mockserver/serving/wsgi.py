"""WSGI entry: ``python -m mockserver.serving.serve mockserver.serving.wsgi:app`` (what ``mockserver`` serves).

Settings come from MOCKSERVER_* environment variables (``mockserver.settings.Settings.load``).
"""
import sys

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.fixtures import FixtureError
from mockserver.control.logs import configure_logging
from mockserver.runtime.isolation import protect_server_process

_settings = Settings.load()
configure_logging(_settings.log_level)
protect_server_process()          # settings built: user code gets nothing of the server's (docs/security.md)
try:
    app = create_app(_settings)
except FixtureError as _exc:
    # Same message as the mockserver command.
    print(f"mockserver: bad fixture file {_exc.file}\n  at: {_exc.where}\n  problem: {_exc.reason}",
          file=sys.stderr, flush=True)
    raise SystemExit(2) from None

"""WSGI entry: ``python -m mockserver.serving.serve mockserver.serving.wsgi:app`` (what ``mockserver`` serves).

An entry point: the run's one ``Settings`` is built here, from MOCKSERVER_* environment variables
(``mockserver.settings.Settings.load``), and passed down; ``serve``'s command serves this app with
the same Settings (``serve.settings_of``).
"""
import sys

from mockserver.app import create_app
from mockserver.settings import Settings, SettingError
from mockserver.fixtures import FixtureError
from mockserver.control.logs import configure_logging
from mockserver.runtime.isolation import protect_server_process

try:
    _settings = Settings.load()
except SettingError as _exc:
    print(f"mockserver: {_exc}", file=sys.stderr, flush=True)      # as the mockserver command says it
    raise SystemExit(2) from None
configure_logging(_settings.log_level)
protect_server_process()          # settings built: user code gets nothing of the server's (docs/security.md)
try:
    app = create_app(_settings)
except FixtureError as _exc:
    # Same message as the mockserver command.
    print(f"mockserver: bad fixture file {_exc.file}\n  at: {_exc.where}\n  problem: {_exc.reason}",
          file=sys.stderr, flush=True)
    raise SystemExit(2) from None

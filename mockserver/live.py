"""A live mock server in a background thread (used by the pytest plugin and tests)."""
from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .config import Settings


class _QuietHandler(WSGIRequestHandler):
    """No werkzeug access line: the app logs one structured line per request itself."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class LiveServer:
    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0, app=None):
        self.app = app or create_app(settings or Settings())
        self._http = make_server(host, port, self.app, threaded=True, request_handler=_QuietHandler)
        self._http.daemon_threads = True
        self.host = host
        self.port = self._http.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._http.serve_forever, name="mockserver", daemon=True)

    @property
    def mock(self):
        return self.app.extensions["mockserver"]

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self.app.extensions["mockserver.sandboxes"].close_all()      # their engines' workers
        engine = self.mock.ctx.engine
        if engine is not None:
            engine.shutdown()

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

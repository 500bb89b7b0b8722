"""A live mock server in a background thread (used by the pytest plugin and tests): the same
waitress server as the ``mockserver`` command (serve.py), in this process."""
from __future__ import annotations

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.serving.serve import BackgroundServer


class LiveServer:
    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0):
        """The app and the server of ``settings`` (the run's; ``host`` and ``port`` apart)."""
        self.app = create_app(settings)
        self._http = BackgroundServer(self.app, settings=settings, host=host, port=port)
        self.host = host
        self.port = self._http.port
        self.url = f"http://{host}:{self.port}"

    @property
    def mock(self):
        return self.app.extensions["mockserver"]

    def start(self) -> "LiveServer":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
        self.app.extensions["mockserver.sandboxes"].close_all()      # their engines' workers
        engine = self.mock.ctx.engine
        if engine is not None:
            engine.shutdown()

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

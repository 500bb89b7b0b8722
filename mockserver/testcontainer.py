"""algorithmia-mock as a Testcontainers module: ``pip install '.[testcontainers]'``.

    from mockserver.testcontainer import AlgorithmiaMockContainer

    with AlgorithmiaMockContainer("algorithmia-mock:latest") as mock:
        assert mock.client().algo("demo/Hello").pipe("Neo").result == "Hello Neo"

Built on the ``testcontainers`` library's documented API: a :class:`DockerContainer` with a
wait strategy (``GET /_mock/health`` until 200, failing at once if the container stops). The
container gets a control key (random unless given) through ``MOCKSERVER_CONTROL_KEY``, so
:meth:`reset`, :meth:`create_sandbox` and ``control_headers`` work against its 0.0.0.0 server.

``host_network=True`` runs it on the host's network, for engines without a bridge network
(``dockerd --bridge=none``) or where port mapping is unavailable: the server then listens on
the host's loopback, on a free port, and the engine must run on this machine. Where image
registries are unreachable, set ``TESTCONTAINERS_RYUK_DISABLED=true``: Ryuk, the library's
clean-up container, is pulled from Docker Hub; the ``with`` block removes the container itself.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import Algorithmia
from Algorithmia.client import Client

from mockserver.serving.remote import RemoteSandbox

try:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.exceptions import ContainerStartException
    from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget
except ImportError as missing:                          # the optional extra is not installed
    raise ImportError("mockserver.testcontainer needs the testcontainers package: install "
                      "algorithmia-mock with its 'testcontainers' extra (pip install '.[testcontainers]' "
                      "in a checkout)") from missing

PORT = 8080                                             # the image's MOCKSERVER_PORT
FIXTURES_DIR = "/fixtures"                              # the image's fixture volume
# The bundled sandbox's keys (fixtures/default.yaml): valid unless your fixtures replace it.
DEMO_KEY = "simDemoSandboxKey0000000000"
ADMIN_KEY = "simAdminSandboxKey000000000"


class MockHealthWait(WaitStrategy):
    """Ready when ``GET {url}/_mock/health`` answers 200; fails at once when the container
    stops (a bad fixture exits with code 2), with its logs, instead of waiting out the timeout."""

    def __init__(self, timeout: float = 60.0, interval: float = 0.25) -> None:
        super().__init__()
        self.timeout, self.interval = timeout, interval

    def wait_until_ready(self, container: AlgorithmiaMockContainer) -> None:
        url = f"{container.url}/_mock/health"
        deadline = time.monotonic() + self.timeout
        while True:
            container.reload()
            if container.status in ("exited", "dead"):
                raise ContainerStartException(f"the algorithmia-mock container stopped before it was healthy:\n"
                                              f"{_logs(container)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass                                    # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {self.timeout:.0f} s:\n{_logs(container)}")
            time.sleep(self.interval)


def _logs(container: WaitStrategyTarget) -> str:
    stdout, stderr = container.get_logs()
    return "\n".join((stdout + stderr).decode(errors="replace").strip().splitlines()[-20:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AlgorithmiaMockContainer(DockerContainer):
    """The algorithmia-mock image, started and healthy: ``url``, ``demo_key``, ``admin_key``,
    ``control_key``, ``client()``, ``reset()``, ``create_sandbox()``.

    ``admin_key`` passes one more platform admin key (``MOCKSERVER_ADMIN_KEY``), valid whatever
    the fixtures; without it, ``admin_key`` is the bundled sandbox's. Other ``MOCKSERVER_*``
    settings go in with ``with_env``; keyword arguments go to ``DockerContainer``.
    """

    def __init__(self, image: str = "algorithmia-mock:latest", *, host_network: bool = False,
                 control_key: str | None = None, admin_key: str | None = None,
                 startup_timeout: float = 60.0, **kwargs: Any) -> None:
        if host_network:
            kwargs["network_mode"] = "host"
        super().__init__(image, **kwargs)
        self.host_network = host_network
        self.control_key = control_key or secrets.token_urlsafe(24)
        self.demo_key = DEMO_KEY
        self.admin_key = admin_key or ADMIN_KEY
        self.port = PORT
        self.with_env("MOCKSERVER_CONTROL_KEY", self.control_key)
        if admin_key:
            self.with_env("MOCKSERVER_ADMIN_KEY", admin_key)
        if not host_network:
            self.with_exposed_ports(PORT)
        self._fixtures: dict[str, list[str]] = {"MOCKSERVER_FIXTURES": [], "MOCKSERVER_EXTRA_FIXTURES": []}
        self.waiting_for(MockHealthWait(startup_timeout))

    def with_fixtures(self, *paths: str | os.PathLike, replace: bool = False) -> AlgorithmiaMockContainer:
        """Mount fixture files (read-only, under /fixtures) and load them on top of the bundled
        sandbox, or instead of it with ``replace=True`` (then ``demo_key`` and the bundled
        ``admin_key`` are gone: pass ``admin_key`` and use your fixtures' keys). The files must be
        readable by the image's user (uid 10001)."""
        variable = "MOCKSERVER_FIXTURES" if replace else "MOCKSERVER_EXTRA_FIXTURES"
        for path in paths:
            host = Path(path).resolve()
            inside = f"{FIXTURES_DIR}/{len(self.volumes)}-{host.name}"
            self.with_volume_mapping(str(host), inside, "ro")
            self._fixtures[variable].append(inside)
            self.with_env(variable, ":".join(self._fixtures[variable]))
        return self

    def start(self) -> AlgorithmiaMockContainer:
        if self.host_network:                      # no port mapping: a free port of the host
            self.port = _free_port()
            self.with_env("MOCKSERVER_HOST", "127.0.0.1").with_env("MOCKSERVER_PORT", str(self.port))
        super().start()
        return self

    # With host networking the container shares this machine's network: its address is the
    # loopback and its ports are not mapped.
    def get_container_host_ip(self) -> str:
        return "127.0.0.1" if self.host_network else super().get_container_host_ip()

    def get_exposed_port(self, port: int) -> int:
        return port if self.host_network else super().get_exposed_port(port)

    @property
    def url(self) -> str:
        """The API address the official clients take (``{url}/v1/...``; control API ``{url}/_mock``)."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(self.port)}"

    @property
    def control_headers(self) -> dict[str, str]:
        return {"X-Mock-Control-Key": self.control_key, "Content-Type": "application/json"}

    def client(self, api_key: str | None = None) -> Client:
        """The official Python client against this container (the demo user's key by default)."""
        return Algorithmia.client(api_key or self.demo_key, self.url)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the control API (``/_mock/{path}``) with the control key; the JSON answer."""
        data = None if method == "GET" else json.dumps({} if body is None else body).encode()
        request = urllib.request.Request(f"{self.url}/_mock/{path}", method=method, headers=self.control_headers,
                                         data=data)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                payload = answer.read()
        except urllib.error.HTTPError as refused:
            raise RuntimeError(f"{method} /_mock/{path} answered {refused.code}: "
                               f"{refused.read()[:500].decode(errors='replace')}") from None
        return json.loads(payload) if payload else None

    def reset(self) -> None:
        """Back to the loaded fixtures (state, ids, clock, faults, journal)."""
        self.control("POST", "reset")

    def create_sandbox(self, **settings: Any) -> RemoteSandbox:
        """An isolated tenant of this server (``fixtures=[paths]``, ``seed``, ``clock``,
        ``profile_scale``, ``name``): ``.url`` for the clients, ``.stop()`` deletes it."""
        return RemoteSandbox(self.url, self.control_key, **settings)

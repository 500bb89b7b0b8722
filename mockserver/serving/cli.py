"""The ``mockserver`` command: serve the mock with waitress (one process, threads; serve.py), or
``mockserver cli-env``: set up the algo CLI and git for a mock (cli_env.py).

Start-up (docs/speed.md, "Start-up"): this module imports no Flask. With the settings read, the
command builds the engine and starts the fixtures' binding checks in their child processes
(domain/engine_setup.py, ``fixtures.start_binding_checks``), and only then imports the app
(start.py), so those imports and the checks overlap; log lines of that first step are held and
written once logging is set up.
"""
from __future__ import annotations

import argparse
import logging
import socket
import sys
from logging.handlers import BufferingHandler
from typing import Callable

from mockserver.domain.engine_setup import engine_parts
from mockserver.fixture_docs import start_binding_checks
from mockserver.settings import Settings, SettingError, add_arguments
from mockserver.runtime.isolation import protect_server_process
from mockserver.serving import cli_env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mockserver", description="Offline, stateful fake of the Algorithmia REST API v1. "
                                "Every flag falls back to its MOCKSERVER_* environment variable, then to its default.",
                                epilog="mockserver cli-env --key KEY [--url URL]: point the algo CLI, git and the "
                                "Python client at a mock (see mockserver cli-env --help).")
    add_arguments(p)
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """The one Settings of this run: flags, then MOCKSERVER_* variables, then defaults."""
    return Settings.load(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cli-env"]:            # the one subcommand; with none, the server runs
        return cli_env.main(argv[1:])
    args = parse_args(argv)
    try:
        settings = settings_from(args)
    except SettingError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    if settings.workers != 1:
        print(f"mockserver: --workers / MOCKSERVER_WORKERS is {settings.workers}, but the mock serves from ONE "
              "process: its state is in that process's memory (use --threads for concurrency)", file=sys.stderr)
        return 2
    held = HeldLogLines(settings.log_level)
    protect_server_process()      # settings built: user code gets nothing of the server's (docs/security.md)
    parts = engine_parts(settings)
    start_binding_checks(parts.engine, settings)
    # Flask and the app load while the checks run (the one deferred import here, see the docstring).
    from mockserver.serving import start
    return start.run(settings, parts, held)


class HeldLogLines:
    """The ``mockserver`` logger's lines from now until logging is set up (``configure_logging``
    lives with the app's modules, imported after the first start-up steps): held, then handed to
    the handlers set up meanwhile, in order, as if those had been there from the start."""

    def __init__(self, level: str):
        self.logger = logging.getLogger("mockserver")
        self.logger.setLevel(level.upper())
        self.propagate = self.logger.propagate
        self.logger.propagate = False           # each line once: on release, as the set-up says
        self.handler = BufferingHandler(capacity=10_000)
        self.logger.addHandler(self.handler)

    def release(self, configure: Callable[[], None]) -> None:
        """Stop holding, set logging up with ``configure()``, then write the held lines."""
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate
        configure()
        held, self.handler.buffer = self.handler.buffer, []
        for record in held:
            self.logger.handle(record)


def bind_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (e.g. "address already in use"), else None.

    A probe bind with the server's own options (SO_REUSEADDR, as gunicorn and werkzeug set),
    independent of the server that binds next: it fails fast, with one line, before any banner.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve the host: {exc}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
    return None

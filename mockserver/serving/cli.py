"""The ``mockserver`` command: serve the mock with waitress (one process, threads; serve.py), or
``mockserver cli-env``: set up the algo CLI and git for a mock (cli_env.py)."""
from __future__ import annotations

import argparse
import socket
import sys

from mockserver.settings import Settings, SettingError, add_arguments
from mockserver.control.logs import configure_logging
from mockserver.app import create_app
from mockserver.fixtures import FixtureError
from mockserver.runtime.isolation import protect_server_process
from mockserver.serving import cli_env
from mockserver.serving.serve import serve


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
    configure_logging(settings.log_level)
    protect_server_process()      # settings built: user code gets nothing of the server's (docs/security.md)
    try:
        app = create_app(settings)
    except FixtureError as exc:
        print(f"mockserver: bad fixture file {exc.file}\n  at: {exc.where}\n  problem: {exc.reason}", file=sys.stderr)
        return 2
    problem = bind_problem(settings.host, settings.port)
    if problem:
        print(f"mockserver: cannot listen on {_address(settings.host, settings.port)}: {problem}", file=sys.stderr)
        return 2
    _banner(app, settings)
    _serve(app, settings)
    return 0


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


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _banner(app, settings: Settings) -> None:
    server = app.extensions["mockserver"]
    url = f"http://{'localhost' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    with server.ctx.store.read() as state:
        keys = [(k.owner or "(admin)", k.key_type, k.api_key) for k in state.keys.values() if not k.algorithm]
    print(f"algorithmia-mock serving the Algorithmia API v1 at {url}/v1  (dashboard: {url}/_mock/)", flush=True)
    for owner, key_type, secret in keys[:12]:
        print(f"  {owner:<12} {key_type:<18} {secret}", flush=True)
    print(f"  e.g.  curl -H 'Authorization: Simple {keys[0][2] if keys else 'KEY'}' {url}/v1/scms", flush=True)
    if server.control_key_generated:
        print(f"  control key (generated; header X-Mock-Control-Key, dashboard sign-in): {server.control_key}", flush=True)
    elif server.control_key:
        print("  the control API /_mock requires the control key you set (header X-Mock-Control-Key)", flush=True)


def _serve(app, settings: Settings) -> None:
    serve(app, settings=settings)
    engine = app.extensions["mockserver"].ctx.engine
    if engine is not None:
        engine.shutdown()                # worker processes go with the server

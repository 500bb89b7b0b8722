"""The ``mockserver`` command: serve the mock with waitress (one process, threads; serve.py)."""
from __future__ import annotations

import argparse
import os
import socket
import sys

from mockserver.settings import Settings
from mockserver.control.logs import configure_logging
from mockserver.edge.app import create_app
from mockserver.fixtures import FixtureError
from mockserver.serving.serve import serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="mockserver", description="Offline, stateful fake of the Algorithmia REST API v1.")
    p.add_argument("--host", default=env.get("MOCKSERVER_HOST", "127.0.0.1"), help="interface to bind (default 127.0.0.1; 0.0.0.0 in Docker)")
    p.add_argument("--port", type=int, default=int(env.get("MOCKSERVER_PORT", "8080")), help="port (default 8080, env MOCKSERVER_PORT)")
    p.add_argument("--fixtures", nargs="+", metavar="PATH", help="fixture YAML files, applied in order; they REPLACE the bundled sandbox (default: the sandbox; env MOCKSERVER_FIXTURES, ':'-separated)")
    p.add_argument("--extra-fixtures", nargs="+", metavar="PATH", help="fixture YAML files applied ON TOP of the sandbox (or of --fixtures) (env MOCKSERVER_EXTRA_FIXTURES, ':'-separated)")
    p.add_argument("--admin-key", help="an extra admin API key (env MOCKSERVER_ADMIN_KEY)")
    p.add_argument("--control-key", help="key for the control API /_mock (header X-Mock-Control-Key; env MOCKSERVER_CONTROL_KEY); "
                                         "required off loopback, where one is generated when not given")
    p.add_argument("--public-name", action="append", dest="public_names", metavar="NAME",
                   help="a Host name besides loopback names and IP addresses that may reach /_mock, e.g. the "
                        "docker-compose service name (repeatable; env MOCKSERVER_PUBLIC_NAMES, comma-separated)")
    p.add_argument("--seed", type=int, help="make ids, hashes, keys and request ids deterministic (env MOCKSERVER_SEED)")
    p.add_argument("--clock", choices=("real", "frozen", "step"), help="timestamps: real, frozen, or step (+1 s per reading)")
    p.add_argument("--profile-scale", type=float, help="multiply every simulated delay (0 = no delays)")
    p.add_argument("--threads", type=int, help="threads that run requests (default 16, env MOCKSERVER_THREADS)")
    p.add_argument("--wheelhouse", metavar="DIR", help="wheel folder builds install requirements.txt from, offline "
                   "(env MOCKSERVER_WHEELHOUSE)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="log level (default info)")
    p.add_argument("--algorithms-dir", action="append", metavar="DIR",
                   help="a folder whose .py files bindings over HTTP and in fixtures may name (repeatable; "
                        "env MOCKSERVER_ALGORITHMS_DIRS, ':'-separated)")
    p.add_argument("--algorithm-module", action="append", metavar="PREFIX",
                   help="a module prefix bindings may name, e.g. mypkg.algos (repeatable; "
                        "env MOCKSERVER_ALGORITHM_MODULES, comma-separated)")
    p.add_argument("--invocations-per-key", type=int, metavar="N",
                   help="concurrent algorithm calls per API key, more get 429 (default 8; 0 = no cap; "
                        "env MOCKSERVER_INVOCATIONS_PER_KEY)")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(fixtures=args.fixtures, extra_fixtures=args.extra_fixtures,
                             admin_key=args.admin_key, seed=args.seed,
                             clock=args.clock, profile_scale=args.profile_scale, log_level=args.log_level,
                             host=args.host, control_key=args.control_key, public_names=args.public_names,
                             algorithm_dirs=args.algorithms_dir, algorithm_modules=args.algorithm_module,
                             invocations_per_key=args.invocations_per_key, wheelhouse=args.wheelhouse)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except FixtureError as exc:
        print(f"mockserver: bad fixture file {exc.file}\n  at: {exc.where}\n  problem: {exc.reason}", file=sys.stderr)
        return 2
    problem = bind_problem(args.host, args.port)
    if problem:
        print(f"mockserver: cannot listen on {_address(args.host, args.port)}: {problem}", file=sys.stderr)
        return 2
    _banner(app, args)
    _serve(app, args)
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


def _banner(app, args) -> None:
    server = app.extensions["mockserver"]
    url = f"http://{'localhost' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
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


def _serve(app, args) -> None:
    serve(app, host=args.host, port=args.port, threads=args.threads)
    engine = app.extensions["mockserver"].ctx.engine
    if engine is not None:
        engine.shutdown()                # worker processes go with the server

"""The ``mockserver`` command after its first start-up steps (cli.py): logging, the app, the
listening check, the banner, then serving until SIGINT/SIGTERM. Imported by cli.py once the
fixtures' binding checks run, so Flask and the app load meanwhile (docs/speed.md, "Start-up")."""
from __future__ import annotations

import sys

from mockserver.app import create_app
from mockserver.control.logs import configure_logging
from mockserver.domain.engine_setup import EngineParts
from mockserver.fixtures import FixtureError
from mockserver.serving.cli import HeldLogLines, bind_problem
from mockserver.serving.serve import serve
from mockserver.settings import Settings


def run(settings: Settings, parts: EngineParts, held: HeldLogLines) -> int:
    """Serve the mock for ``settings`` with the engine ``parts`` cli.py built; the exit status."""
    held.release(lambda: configure_logging(settings.log_level))
    try:
        app = create_app(settings, parts=parts)
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

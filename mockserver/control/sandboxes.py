"""Isolated sandboxes in one server, each under its own ``/sandboxes/{id}`` prefix.

A sandbox is a whole :class:`~mockserver.app.MockServer` (store, ids, clock, engine,
journal, faults, metrics) served by the one Flask app: :class:`SandboxMiddleware` moves
``/sandboxes/{id}`` into ``SCRIPT_NAME`` (so every absolute link the API renders carries
it) and puts the sandbox's server in the environ (:mod:`mockserver.web.current`). The root
path is the default sandbox, the server the app was created with.

Creating one is cheap because fixtures are loaded once per :class:`Template` (the loaded
baseline state with the id and clock positions after loading): a sandbox copies the
baseline state and shares the baseline itself, which is never mutated, only copied on reset.

Limits (``Settings``): ``sandbox_ttl`` (idle seconds; 0 = never expire), ``sandbox_max``
(count) and ``sandbox_memory_mb`` (process RSS above which no sandbox is created). Expiry
is lazy: an idle sandbox is dropped when it is next addressed, and all idle ones whenever
sandboxes are created or listed; no thread runs for it.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable

from mockserver.web.current import PREFIX_KEY, SANDBOX_KEY, SERVER_KEY
from mockserver.domain.context import Ctx
from mockserver.errors import REQUEST_INVALID, SANDBOX_MEMORY_FULL, SANDBOX_NOT_FOUND, TOO_MANY_SANDBOXES, ApiError
from mockserver.fixtures import FixtureError, load_text
from mockserver.ids import Clock, Ids, iso
from mockserver.web.jsonio import error_response
from mockserver.domain.store import Store
from mockserver.memory import MIB, MemoryBudget, rss_bytes
from mockserver.settings import Settings

# A whole server (mockserver.app.MockServer): this module only holds and routes to them; the
# composition root passes the factory that makes one, so nothing here imports upwards.
MockServer = Any
ServerFactory = Callable[[Settings, "Template | None"], MockServer]

PREFIX = "/sandboxes/"
_TEMPLATES_KEPT = 8          # templates for other (seed, clock) pairs than the server's own
_GONE_KEPT = 1024            # recently deleted/expired ids, for a precise 404 message


@dataclass
class Template:
    """Loaded fixtures to start sandboxes from: a store whose baseline is shared, and the id
    and clock sequences at their marked positions (right after the fixtures loaded)."""
    store: Store
    ids: Ids
    clock: Clock
    profiles: dict[str, Any]

    @classmethod
    def of(cls, server: MockServer) -> "Template":
        return cls(server.ctx.store, server.ctx.ids, server.ctx.clock, dict(server.ctx.profiles or {}))

    def new_ctx(self, settings: Settings, engine: Any) -> Ctx:
        return Ctx(store=self.store.fork(), ids=self.ids.fork(), clock=self.clock.fork(), settings=settings,
                   engine=engine, profiles=dict(self.profiles))


@dataclass
class Sandbox:
    id: str
    name: str | None
    server: MockServer
    created: float               # wall clock (epoch seconds)
    last_used: float             # time.monotonic()


class Sandboxes:
    """The sandboxes of one app, besides the default one (``root``)."""

    def __init__(self, root: MockServer, make_server: ServerFactory):
        self.root = root
        self._make_server = make_server
        self.settings = root.settings
        # Read at every sandbox creation (interval 0): creations are few, and each adds a state.
        self._memory = MemoryBudget(root.settings.sandbox_memory_mb, interval=0.0)
        self._lock = threading.Lock()
        self._by_id: dict[str, Sandbox] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()
        # The server's own fixtures as loaded at start-up (its baseline never changes).
        self._root_template = Template.of(root)
        self._templates: OrderedDict[tuple, Template] = OrderedDict()
        self._template_lock = threading.Lock()       # a template takes ~100 ms to load: once per key

    # ------------------------------------------------------------------ per request

    def get(self, sandbox_id: str) -> Sandbox | None:
        """The live sandbox (marked used now), or None (unknown, deleted or expired)."""
        sandbox = self._by_id.get(sandbox_id)        # lock-free: a dict read is atomic
        if sandbox is None:
            return None
        now = time.monotonic()
        if not self._expired(sandbox, now):
            sandbox.last_used = now
            return sandbox
        self._expire([sandbox])
        return None

    def why_missing(self, sandbox_id: str) -> str:
        reason = self._gone.get(sandbox_id)
        sandbox_id = sandbox_id[:64]
        if reason is None:
            return f"No sandbox {sandbox_id!r} on this server (create one with POST /_mock/sandboxes)"
        return f"Sandbox {sandbox_id!r} {reason}"

    # ------------------------------------------------------------------ lifecycle

    def _new_server(self, settings: Settings, template: "Template | None" = None) -> MockServer:
        """A server from the composition root's factory (sharing the root's spec)."""
        return self._make_server(settings, template)

    def create(self, *, fixtures: str | None = None, seed: int | None = None, clock: str | None = None,
               profile_scale: float | None = None, name: str | None = None) -> Sandbox:
        self.sweep()
        self._check_limits()
        settings = self.settings
        seed = settings.seed if seed is None else seed
        clock = clock or settings.clock
        settings = replace(settings, seed=seed, clock=clock, control_key=self.root.control_key,
                           profile_scale=settings.profile_scale if profile_scale is None else profile_scale)
        server = self._new_server(settings, self._template(seed, clock))
        if fixtures:
            try:
                load_text(server.ctx, fixtures.encode("utf-8"), "(fixtures)", base_dir=None)
            except FixtureError as exc:
                server.close()
                raise ApiError(REQUEST_INVALID, f"Bad fixtures: at {exc.where}: {exc.reason}") from None
            server.ctx.store.mark_baseline()     # reset returns here, with ids/clock after the fixtures
            server.ctx.ids.mark()
            server.ctx.clock.mark()
        sandbox = Sandbox(secrets.token_hex(6), name, server, time.time(), time.monotonic())
        with self._lock:
            full = len(self._by_id) >= settings.sandbox_max      # checked again: creates may race
            if not full:
                self._by_id[sandbox.id] = sandbox
        if full:
            server.close()
            raise self._count_error()
        return sandbox

    def delete(self, sandbox_id: str) -> bool:
        with self._lock:
            sandbox = self._by_id.pop(sandbox_id, None)
            if sandbox is not None:
                self._forget(sandbox_id, "was deleted")
        if sandbox is None:
            return False
        sandbox.server.close()
        return True

    def list(self) -> list[Sandbox]:
        self.sweep()
        with self._lock:
            return sorted(self._by_id.values(), key=lambda s: s.created)

    def sweep(self) -> None:
        """Drop every sandbox idle for longer than the TTL."""
        ttl = self.settings.sandbox_ttl
        if ttl <= 0:
            return
        oldest = time.monotonic() - ttl
        self._expire([s for s in list(self._by_id.values()) if s.last_used < oldest])

    def close_all(self) -> None:
        with self._lock:
            sandboxes = list(self._by_id.values())
            self._by_id.clear()
        for sandbox in sandboxes:
            sandbox.server.close()

    def __len__(self) -> int:
        return len(self._by_id)

    def describe(self, sandbox: Sandbox, root_url: str) -> dict[str, Any]:
        settings = sandbox.server.settings
        ttl = self.settings.sandbox_ttl
        idle = time.monotonic() - sandbox.last_used
        return {"id": sandbox.id, "name": sandbox.name, "base_url": f"{root_url}{PREFIX}{sandbox.id}",
                "created": iso_epoch(sandbox.created), "idle_seconds": round(idle, 3),
                "expires_in_seconds": round(max(ttl - idle, 0.0), 3) if ttl > 0 else None,
                "seed": settings.seed, "clock": settings.clock, "profile_scale": settings.profile_scale}

    def limits(self) -> dict[str, Any]:
        rss = rss_bytes()
        return {"count": len(self._by_id), "max": self.settings.sandbox_max,
                "ttl_seconds": self.settings.sandbox_ttl or None,
                "memory_budget_mb": self.settings.sandbox_memory_mb or None,
                "rss_mb": round(rss / 1048576, 1) if rss is not None else None}

    # ------------------------------------------------------------------ internals

    def _expired(self, sandbox: Sandbox, now: float) -> bool:
        ttl = self.settings.sandbox_ttl
        return ttl > 0 and now - sandbox.last_used > ttl

    def _expire(self, sandboxes: list[Sandbox]) -> None:
        dropped = []
        with self._lock:
            for sandbox in sandboxes:
                if self._by_id.get(sandbox.id) is sandbox:
                    del self._by_id[sandbox.id]
                    self._forget(sandbox.id, f"expired after {self.settings.sandbox_ttl:g} s idle "
                                             "(MOCKSERVER_SANDBOX_TTL)")
                    dropped.append(sandbox)
        for sandbox in dropped:
            sandbox.server.close()

    def _forget(self, sandbox_id: str, reason: str) -> None:
        self._gone[sandbox_id] = reason
        while len(self._gone) > _GONE_KEPT:
            self._gone.popitem(last=False)

    def _count_error(self) -> ApiError:
        return ApiError(TOO_MANY_SANDBOXES, f"Too many sandboxes: this server keeps at most {self.settings.sandbox_max} "
                        "(MOCKSERVER_SANDBOX_MAX); delete some (DELETE /_mock/sandboxes/{id}) or let idle ones "
                        "expire")

    def _check_limits(self) -> None:
        if len(self._by_id) >= self.settings.sandbox_max:
            raise self._count_error()
        rss = self._memory.over()
        if rss is not None:
            raise ApiError(SANDBOX_MEMORY_FULL, f"Not enough memory for another sandbox: the server uses "
                           f"{rss / MIB:.0f} MB of its {self._memory.limit_mb} MB budget "
                           "(MOCKSERVER_SANDBOX_MEMORY_MB); delete sandboxes you no longer need")

    def _template(self, seed: int | None, clock: str) -> Template:
        """The server's fixtures loaded under ``seed`` and ``clock`` (the root's own: no load)."""
        if seed == self.settings.seed and clock == self.settings.clock:
            return self._root_template
        key = (seed, clock)
        with self._template_lock:
            template = self._templates.get(key)
            if template is None:
                loaded = self._new_server(replace(self.settings, seed=seed, clock=clock,
                                                  control_key=self.root.control_key))
                loaded.close()         # never serves: only its loaded state is kept
                template = self._templates[key] = Template.of(loaded)
                while len(self._templates) > _TEMPLATES_KEPT:
                    self._templates.popitem(last=False)
            else:
                self._templates.move_to_end(key)
            return template


def iso_epoch(seconds: float) -> str:
    import datetime as dt
    return iso(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))


class SandboxMiddleware:
    """Routes ``/sandboxes/{id}/...`` to that sandbox; every other path to the default one."""

    def __init__(self, app, sandboxes: Sandboxes):
        self.app = app
        self.sandboxes = sandboxes
        self.default = sandboxes.root

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            environ[SERVER_KEY] = self.default
            return self.app(environ, start_response)
        sandbox_id, _, rest = path[len(PREFIX):].partition("/")
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            missing = ApiError(SANDBOX_NOT_FOUND, self.sandboxes.why_missing(sandbox_id))
            return error_response(missing)(environ, start_response)
        prefix = PREFIX + sandbox_id
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + prefix
        environ["PATH_INFO"] = "/" + rest
        environ[PREFIX_KEY] = prefix
        environ[SANDBOX_KEY] = sandbox_id
        environ[SERVER_KEY] = sandbox.server
        return self.app(environ, start_response)

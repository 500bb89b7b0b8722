"""Server settings: one object built from CLI flags, env vars or the pytest plugin."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

MiB = 1024 * 1024


@dataclass
class Settings:
    fixtures: list[str] = field(default_factory=list)   # replace the sandbox; empty: the bundled sandbox
    extra_fixtures: list[str] = field(default_factory=list)   # applied on top of fixtures (or the sandbox)
    admin_key: str | None = None
    seed: int | None = None
    clock: str = "real"                                  # real | frozen | step
    page_max: int = 1000
    page_default: int = 50
    max_request_bytes: int = 10 * MiB                    # seeds: "The size limit for a request is 10MiB"
    max_upload_bytes: int = 10 * MiB
    profile_scale: float = 1.0                           # multiplies every simulated delay
    cors_origins: str = "*"
    journal_size: int = 500
    journal_body_bytes: int = 4096
    log_level: str = "info"
    public_url: str | None = None                        # base for absolute links; default: from the request
    host: str = "127.0.0.1"                              # the interface served; a non-loopback one needs a control key
    control_key: str | None = None                       # X-Mock-Control-Key for /_mock (generated off loopback)
    public_names: list[str] = field(default_factory=list)  # Host names besides loopback ones that reach /_mock
    # Code that bindings over HTTP and in fixtures may name (the bundled sandbox algorithms and
    # the folders of start-up fixture files are always allowed; see runtime/policy.py)
    algorithm_dirs: list[str] = field(default_factory=list)
    algorithm_modules: list[str] = field(default_factory=list)
    invocations_per_key: int = 8                         # concurrent calls per API key; more: 429
    wheelhouse: str | None = None                        # wheel folder builds install requirements from (offline)
    sandbox_ttl: float = 3600.0                          # idle seconds before a sandbox expires (0: never)
    sandbox_max: int = 1000                              # sandboxes at most (besides the default one)
    sandbox_memory_mb: int = 1024                        # no new sandbox above this process RSS (0: no budget)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        s = cls()
        if env.get("MOCKSERVER_ADMIN_KEY"):
            s.admin_key = env["MOCKSERVER_ADMIN_KEY"]
        if env.get("MOCKSERVER_FIXTURES"):
            s.fixtures = [p for p in env["MOCKSERVER_FIXTURES"].split(os.pathsep) if p]
        if env.get("MOCKSERVER_EXTRA_FIXTURES"):
            s.extra_fixtures = [p for p in env["MOCKSERVER_EXTRA_FIXTURES"].split(os.pathsep) if p]
        if env.get("MOCKSERVER_SEED"):
            s.seed = int(env["MOCKSERVER_SEED"])
        if env.get("MOCKSERVER_CLOCK"):
            s.clock = env["MOCKSERVER_CLOCK"]
        if env.get("MOCKSERVER_PROFILE_SCALE"):
            s.profile_scale = float(env["MOCKSERVER_PROFILE_SCALE"])
        if env.get("MOCKSERVER_CORS_ORIGINS"):
            s.cors_origins = env["MOCKSERVER_CORS_ORIGINS"]
        if env.get("MOCKSERVER_HOST"):
            s.host = env["MOCKSERVER_HOST"]
        if env.get("MOCKSERVER_CONTROL_KEY"):
            s.control_key = env["MOCKSERVER_CONTROL_KEY"]
        if env.get("MOCKSERVER_PUBLIC_NAMES"):
            s.public_names = [n.strip() for n in env["MOCKSERVER_PUBLIC_NAMES"].split(",") if n.strip()]
        if env.get("MOCKSERVER_WHEELHOUSE"):
            s.wheelhouse = env["MOCKSERVER_WHEELHOUSE"]
        if env.get("MOCKSERVER_SANDBOX_TTL"):
            s.sandbox_ttl = float(env["MOCKSERVER_SANDBOX_TTL"])
        if env.get("MOCKSERVER_SANDBOX_MAX"):
            s.sandbox_max = int(env["MOCKSERVER_SANDBOX_MAX"])
        if env.get("MOCKSERVER_SANDBOX_MEMORY_MB"):
            s.sandbox_memory_mb = int(env["MOCKSERVER_SANDBOX_MEMORY_MB"])
        if env.get("MOCKSERVER_LOG_LEVEL"):
            s.log_level = env["MOCKSERVER_LOG_LEVEL"]
        if env.get("MOCKSERVER_ALGORITHMS_DIRS"):
            s.algorithm_dirs = [p for p in env["MOCKSERVER_ALGORITHMS_DIRS"].split(os.pathsep) if p]
        if env.get("MOCKSERVER_ALGORITHM_MODULES"):
            s.algorithm_modules = [m.strip() for m in env["MOCKSERVER_ALGORITHM_MODULES"].split(",") if m.strip()]
        if env.get("MOCKSERVER_INVOCATIONS_PER_KEY"):
            s.invocations_per_key = int(env["MOCKSERVER_INVOCATIONS_PER_KEY"])
        for name, value in overrides.items():
            if value is not None:
                setattr(s, name, value)
        return s

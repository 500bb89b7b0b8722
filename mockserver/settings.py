"""Server settings: one ``Settings``, built once from CLI flags and ``MOCKSERVER_*`` variables.

Every setting is one row of :data:`OPTIONS`: its ``Settings`` field, command-line flag,
environment variable and meaning. :meth:`Settings.load` applies them in one order, the
same for every entry point (the ``mockserver`` command, the WSGI entry, the pytest plugin,
the Docker image): **flag > environment variable > default**. The settings table of docs/settings.md
lists the same rows (``tests/unit/test_settings.py`` checks that it does).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

MiB = 1024 * 1024


@dataclass
class Settings:
    # -- state
    fixtures: list[str] = field(default_factory=list)   # replace the sandbox; empty: the bundled sandbox
    extra_fixtures: list[str] = field(default_factory=list)   # applied on top of fixtures (or the sandbox)
    admin_key: str | None = None
    seed: int | None = None
    clock: str = "real"                                  # real | frozen | step
    profile_scale: float = 1.0                           # multiplies every simulated delay
    # -- the API
    public_url: str | None = None                        # base for absolute links; default: from the request
    page_max: int = 1000
    page_default: int = 50
    max_request_bytes: int = 10 * MiB                    # seeds: "The size limit for a request is 10MiB"
    max_upload_bytes: int = 10 * MiB
    cors_origins: str = "*"
    invocations_per_key: int = 8                         # concurrent calls per API key; more: 429
    # Admission (runtime/admission.py): calls and binding checks each hold a request thread;
    # past these bounds the answer is an immediate 429 with Retry-After, never a wait.
    invocations_max: int = 16                            # calls in flight, all sandboxes (running or queued)
    invocations_per_sandbox: int = 12                    # of those, at most this many for one sandbox
    binding_checks_max: int = 4                          # binding imports checked at once, all sandboxes
    binding_checks_per_sandbox: int = 2                  # of those, at most this many for one sandbox
    # Code that bindings over HTTP and in fixtures may name (the bundled sandbox algorithms and
    # the folders of start-up fixture files, --fixtures and --extra-fixtures, are always allowed;
    # see runtime/policy.py)
    algorithm_dirs: list[str] = field(default_factory=list)
    algorithm_modules: list[str] = field(default_factory=list)
    wheelhouse: str | None = None                        # wheel folder builds install requirements from (offline)
    # -- the control plane
    control_key: str | None = None                       # X-Mock-Control-Key for /_mock (generated off loopback)
    public_names: list[str] = field(default_factory=list)  # Host names besides loopback ones that reach /_mock
    journal_size: int = 500
    journal_body_bytes: int = 4096
    sandbox_ttl: float = 3600.0                          # idle seconds before a sandbox expires (0: never)
    sandbox_max: int = 1000                              # sandboxes at most (besides the default one)
    sandbox_memory_mb: int = 1024                        # no new sandbox above this process RSS (0: no budget)
    # -- the server process
    host: str = "127.0.0.1"                              # the interface served; a non-loopback one needs a control key
    port: int = 8080
    threads: int = 32
    workers: int = 1                                     # processes; anything but 1 is refused (serve.py)
    connection_limit: int = 1000
    idle_timeout: float = 30.0
    url_prefix: str = ""
    log_level: str = "info"

    @classmethod
    def load(cls, flags: Mapping[str, Any] | argparse.Namespace | None = None,
             env: Mapping[str, str] | None = None, **defaults: Any) -> "Settings":
        """Settings from ``flags`` (parsed CLI flags or plugin options; None: not given), then
        ``env`` (default ``os.environ``), then ``defaults`` (an entry point's own, e.g. the
        plugin's profile scale 0), then the field defaults."""
        env = os.environ if env is None else env
        if isinstance(flags, argparse.Namespace):
            flags = vars(flags)
        flags = flags or {}
        values: dict[str, Any] = {}
        for option in OPTIONS:
            given = flags.get(option.name)
            if given is not None:
                values[option.name] = given
                continue
            raw = next((env[name] for name in option.env_names if env.get(name)), None)
            if raw is not None:
                values[option.name] = option.parse(raw, option.env)
            elif defaults.get(option.name) is not None:
                values[option.name] = defaults[option.name]
        return cls(**values)

    @classmethod
    def from_env(cls, **overrides: Any) -> "Settings":
        """The environment's settings, ``overrides`` (not None) winning: ``load(overrides)``."""
        return cls.load(overrides)


def _paths(raw: str, _name: str) -> list[str]:
    return [p for p in raw.split(os.pathsep) if p]


def _names(raw: str, _name: str) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()]


def _number(kind: Callable[[str], Any]) -> Callable[[str, str], Any]:
    def parse(raw: str, name: str) -> Any:
        try:
            return kind(raw)
        except ValueError:
            raise SettingError(f"{name}={raw!r}: expected {'an integer' if kind is int else 'a number'}") from None
    return parse


def _text(raw: str, _name: str) -> str:
    return raw


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(raw: str, name: str) -> str:
        if raw.lower() not in allowed:
            raise SettingError(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
        return raw.lower()
    parse.choices = allowed
    return parse


class SettingError(ValueError):
    """An environment variable that does not parse (the command exits with code 2)."""


@dataclass(frozen=True)
class Option:
    name: str                       # the Settings field
    meaning: str
    parse: Callable[[str, str], Any] = _text
    many: str | None = None         # a list: "paths" (':'-separated in env) or "names" (comma-separated)
    metavar: str | None = None
    also_env: tuple[str, ...] = ()  # older names still read
    flag_name: str | None = None    # the flag, when not --name-with-dashes
    env_name: str | None = None     # the variable, when not MOCKSERVER_NAME

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.env_name or "MOCKSERVER_" + self.name.upper()

    @property
    def env_names(self) -> tuple[str, ...]:
        return (self.env, *self.also_env)


_INT, _FLOAT = _number(int), _number(float)

OPTIONS: tuple[Option, ...] = (
    Option("host", "interface to listen on (the Docker image: 0.0.0.0); off loopback the control API needs a "
                   "control key", metavar="HOST"),
    Option("port", "port to listen on", _INT, metavar="PORT"),
    Option("fixtures", "fixture files applied in order; they **replace** the bundled sandbox (default: the "
                       "sandbox); repeatable, and one flag may name several files: the files accumulate",
                       _paths, many="paths", metavar="PATH"),
    Option("extra_fixtures", "fixture files applied **on top of** the sandbox (or of `--fixtures`); repeatable, "
                             "and one flag may name several files: the files accumulate",
                             _paths, many="paths", metavar="PATH"),
    Option("admin_key", "one more admin API key", metavar="KEY"),
    Option("seed", "deterministic ids, git hashes, build ids, request ids and keys (see \"Reproducible runs\")",
                   _INT, metavar="N"),
    Option("clock", "`real`, `frozen` (always the same instant), `step` (+1 s per reading)",
                    _choice("real", "frozen", "step")),
    Option("profile_scale", "multiply every simulated delay (0 for fast tests; the pytest plugin's default is "
                            "0)", _FLOAT, metavar="F"),
    Option("public_url", "base URL of absolute links (`self_link`, `next_link`, resource URLs); default: from "
                         "each request", metavar="URL"),
    Option("page_max", "largest `limit` a paginated list accepts", _INT, metavar="N"),
    Option("page_default", "page size of a paginated list without `limit`", _INT, metavar="N"),
    Option("max_request_bytes", "largest request body (the seeds: 10 MiB)", _INT, metavar="BYTES"),
    Option("max_upload_bytes", "largest data API file upload", _INT, metavar="BYTES"),
    Option("cors_origins", "origins allowed by CORS on `/v1` (comma-separated; `*`: all)", metavar="ORIGINS"),
    Option("invocations_per_key", "concurrent algorithm calls per API key (0: no cap); more get 429",
                                  _INT, metavar="N"),
    Option("invocations_max", "algorithm calls in flight at once across all sandboxes (running, waiting for a "
                              "worker, or `output=void`); more get 429 with `Retry-After`", _INT, metavar="N"),
    Option("invocations_per_sandbox", "of `--invocations-max`, the most one sandbox (the default one included) "
                                      "may hold, so the rest stay open to other sandboxes; more get 429",
                                      _INT, metavar="N"),
    Option("binding_checks_max", "binding imports checked at once (`PUT .../binding`, compiles, fixtures) across "
                                 "all sandboxes, each up to 10 s; more get 429 with `Retry-After`", _INT, metavar="N"),
    Option("binding_checks_per_sandbox", "of `--binding-checks-max`, the most one sandbox may hold; more get 429",
                                         _INT, metavar="N"),
    Option("algorithm_dirs", "a folder whose `.py` files bindings may name (repeatable); the bundled sandbox "
                             "algorithms and the folders of `--fixtures` and `--extra-fixtures` files are always "
                             "allowed",
                             _paths, many="paths", metavar="DIR", flag_name="--algorithms-dir", env_name="MOCKSERVER_ALGORITHMS_DIRS"),
    Option("algorithm_modules", "a module prefix bindings may name, e.g. `mypkg.algos` (repeatable)",
                                _names, many="names", metavar="PREFIX", flag_name="--algorithm-module"),
    Option("wheelhouse", "a folder of wheels that builds install `requirements.txt` entries from, offline",
                         metavar="DIR"),
    Option("control_key", "key for `/_mock` (`X-Mock-Control-Key`); required off loopback, generated when not "
                          "given", metavar="KEY"),
    Option("public_names", "a Host name, besides loopback names and IP addresses, that may reach `/_mock` "
                           "(repeatable)", _names, many="names", metavar="NAME", flag_name="--public-name"),
    Option("journal_size", "requests the journal (`/_mock/journal`) keeps", _INT, metavar="N"),
    Option("journal_body_bytes", "bytes of each request and response body the journal keeps",
                                 _INT, metavar="BYTES"),
    Option("sandbox_ttl", "idle seconds before a sandbox expires (0: never)", _FLOAT, metavar="SECONDS"),
    Option("sandbox_max", "sandboxes at most", _INT, metavar="N"),
    Option("sandbox_memory_mb", "process RSS above which no sandbox is created (0: no budget)",
                                _INT, metavar="MB"),
    Option("threads", "threads that run requests; calls and binding checks never take more than "
                      "`--threads` minus max(4, a quarter) of them (their limits shrink to fit)", _INT, metavar="N"),
    Option("workers", "server processes: only 1 is accepted (the state is in one process's memory)",
                      _INT, metavar="N"),
    Option("connection_limit", "open connections; past it new ones wait in the listen backlog", _INT, metavar="N"),
    Option("idle_timeout", "seconds a connection may send or accept nothing before it is closed "
                           "(`MOCKSERVER_BODY_TIMEOUT` is read when it is unset)",
                           _FLOAT, metavar="SECONDS", also_env=("MOCKSERVER_BODY_TIMEOUT",)),
    Option("url_prefix", "a mount prefix (behind a path router), moved from the path into `SCRIPT_NAME` so "
                         "every link carries it", metavar="PREFIX"),
    Option("log_level", "`debug`, `info`, `warning`, `error`", _choice("debug", "info", "warning", "error")),
)

_FIELDS = {f.name: f for f in fields(Settings)}
assert {o.name for o in OPTIONS} == set(_FIELDS), "every Settings field has exactly one row in OPTIONS"


def default_of(option: Option) -> Any:
    f = _FIELDS[option.name]
    return f.default_factory() if callable(f.default_factory) else f.default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; each defaults to None (not given), so the environment applies."""
    for option in OPTIONS:
        default = default_of(option)
        shown = f"; default {default}" if default not in (None, [], "") else ""
        kw: dict[str, Any] = {"dest": option.name, "default": None, "metavar": option.metavar,
                              "help": f"{option.meaning.replace('%', '%%')} (env {option.env}{shown})"}
        choices = getattr(option.parse, "choices", None)
        if choices:
            kw["choices"], kw["metavar"] = choices, None
        elif option.parse in (_INT, _FLOAT):
            kw["type"] = int if option.parse is _INT else float
        if option.many == "paths" and option.name in ("fixtures", "extra_fixtures"):
            kw["nargs"], kw["action"] = "+", "extend"      # --fixtures a b --fixtures c: a, b, c
        elif option.many:
            kw["action"] = "append"
        parser.add_argument(option.flag, **kw)


def markdown_table() -> str:
    """The settings table of docs/settings.md (one row per setting; tests/unit/test_settings.py keeps them equal)."""
    rows = ["| flag | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        default = default_of(option)
        shown = "–" if default in (None, [], "") else f"`{default}`"
        env = f"`{option.env}`" + {"paths": " (`:`-separated)", "names": " (comma-separated)"}.get(option.many or "", "")
        rows.append(f"| `{option.flag}` | {env} | {shown} | {option.meaning} |")
    return "\n".join(rows)

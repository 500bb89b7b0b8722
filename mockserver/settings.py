"""Server settings: one ``Settings``, built once per run from CLI flags and ``MOCKSERVER_*`` variables.

Every setting is one row of :data:`OPTIONS`: its ``Settings`` field, command-line flag,
environment variable and meaning. :meth:`Settings.load` applies them in one order, the
same for every entry point (the ``mockserver`` command, the WSGI entry, the pytest plugin,
the Docker image): **flag > environment variable > default**. The settings table of docs/settings.md
lists the same rows (``tests/unit/test_settings.py`` checks that it does).

This module is the only one that reads ``MOCKSERVER_*`` variables (``tests/unit/test_environment_reads.py``):
an entry point builds the run's ``Settings`` once and passes it down; nothing below falls back
to the environment. The pytest plugin's options come from the same rows (:func:`plugin_arguments`,
:func:`load_plugin`), with its own defaults declared once (:data:`PLUGIN_FIXED`, :data:`PLUGIN_DEFAULTS`).
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
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
    # Admission (runtime/admission.py): calls, binding checks and builds each hold a request
    # thread; past these bounds the answer is an immediate 429 with Retry-After, never a wait.
    invocations_max: int = 16                            # calls in flight, all sandboxes (running or queued)
    invocations_per_sandbox: int = 12                    # of those, at most this many for one sandbox
    binding_checks_max: int = 4                          # binding imports checked at once, all sandboxes
    binding_checks_per_sandbox: int = 2                  # of those, at most this many for one sandbox
    builds_max: int = 4                                  # builds (git push, compile) at once, all sandboxes
    builds_per_sandbox: int = 2                          # of those, at most this many for one sandbox
    # Worker processes (runtime/capacity.py, runtime/workdirs.py): all sandboxes' live workers and
    # checkers, idle ones stopped least recently used first; what one process of untrusted code may write.
    worker_processes_max: int = 32
    worker_disk_mb: int = 1024
    # Code that bindings over HTTP and in fixtures may name (the bundled sandbox algorithms and
    # the folders of start-up fixture files, --fixtures and --extra-fixtures, are always allowed;
    # see runtime/policy.py)
    algorithm_dirs: list[str] = field(default_factory=list)
    algorithm_modules: list[str] = field(default_factory=list)
    wheelhouse: str | None = None                        # wheel folder builds install requirements from (offline)
    # -- git repositories (docs/git-and-cli.md "Limits"): checked while a push's pack is read
    git_max_push_mb: int = 256                           # all objects of one push, inflated
    git_max_blob_mb: int = 128                           # the largest object (a model file)
    git_max_repo_mb: int = 512                           # one repository, all its objects
    git_max_tree_depth: int = 64                         # folders nested in a commit's tree
    git_max_path_bytes: int = 1024                       # the longest file path of a commit
    git_storage_mb: int = 4096                           # disk for the large blobs of every repository
    checkout_cache_mb: int = 2048                        # disk for checked-out commits (builds and calls)
    storage_dir: str | None = None                       # where both live (a fresh folder in it, removed at exit)
    # Workers of code that came over HTTP or git: which uids they run under when the server is
    # root (auto: 50000-59999; off: the server's own), and which server variables they see.
    worker_uids: str = "auto"
    worker_env: list[str] = field(default_factory=list)
    # -- the control plane
    control_key: str | None = None                       # X-Mock-Control-Key for /_mock (generated off loopback)
    public_names: list[str] = field(default_factory=list)  # Host names besides loopback ones that reach /_mock
    journal_size: int = 500
    journal_body_bytes: int = 4096
    sandbox_ttl: float = 3600.0                          # idle seconds before a sandbox expires (0: never)
    sandbox_max: int = 1000                              # sandboxes at most (besides the default one)
    sandbox_memory_mb: int = 1024                        # no new sandbox above this process RSS (0: no budget)
    state_memory_mb: int = 2048                          # no /v1 write above this process RSS (0: no budget)
    # -- the server process
    host: str = "127.0.0.1"                              # the interface served; a non-loopback one needs a control key
    port: int = 8080
    threads: int = 32
    cpu: str = "auto"                                    # the one CPU serve() runs the threads on (runtime/placement.py)
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
        plugin's profile scale 0), then the field defaults. The one reader of the environment's
        settings: an entry point calls it once per run and passes the result down."""
        env = os.environ if env is None else env
        if isinstance(flags, argparse.Namespace):
            flags = vars(flags)
        values = {option.name: _resolve(option, flags or {}, env, defaults) for option in OPTIONS}
        return cls(**{name: value for name, value in values.items() if value is not None})

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


def _uid_range(raw: str, name: str) -> str:
    value = raw.strip().lower()
    first, sep, last = value.partition("-")
    if value in ("auto", "off") or (sep and first.isdigit() and last.isdigit() and 0 < int(first) <= int(last)):
        return value
    raise SettingError(f"{name}={raw!r}: expected auto, off or FIRST-LAST (e.g. 50000-59999)")


def _cpu(raw: str, name: str) -> str:
    value = raw.strip().lower()
    if value in ("auto", "all"):
        return value
    if not (value.isascii() and value.isdigit()):
        raise SettingError(f"{name}={raw!r}: expected auto, all or a CPU number")
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if usable and int(value) not in usable:
        raise SettingError(f"{name}={raw!r}: this process may use CPUs {', '.join(map(str, usable))} only")
    return str(int(value))


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
    secret: bool = False            # a key: see secret_variables()
    several_per_flag: bool = False  # the command's flag takes several values (--fixtures a b), the plugin's one

    @property
    def command_meaning(self) -> str:
        """The meaning as the ``mockserver`` command's --help and docs/settings.md say it."""
        return self.meaning + ("; one flag may name several files" if self.several_per_flag else "")

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.env_name or "MOCKSERVER_" + self.name.upper()

    @property
    def env_names(self) -> tuple[str, ...]:
        return (self.env, *self.also_env)


def _resolve(option: Option, flags: Mapping[str, Any], env: Mapping[str, str], defaults: Mapping[str, Any]) -> Any:
    """One option's value: its flag, else its first non-empty variable (parsed), else ``defaults``'."""
    given = flags.get(option.name)
    if given is not None:
        return given
    raw = next((env[name] for name in option.env_names if env.get(name)), None)
    if raw is not None:
        return option.parse(raw, option.env)
    return defaults.get(option.name)


_INT, _FLOAT = _number(int), _number(float)

OPTIONS: tuple[Option, ...] = (
    Option("host", "interface to listen on (the Docker image: 0.0.0.0); off loopback the control API needs a "
                   "control key", metavar="HOST"),
    Option("port", "port to listen on", _INT, metavar="PORT"),
    Option("fixtures", "fixture files applied in order; they **replace** the bundled sandbox (default: the "
                       "sandbox); repeatable (the files accumulate)",
                       _paths, many="paths", metavar="PATH", several_per_flag=True),
    Option("extra_fixtures", "fixture files applied **on top of** the sandbox (or of `--fixtures`); repeatable "
                             "(the files accumulate)", _paths, many="paths", metavar="PATH", several_per_flag=True),
    Option("admin_key", "one more admin API key", metavar="KEY", secret=True),
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
    Option("builds_max", "builds at once (`git push`, `POST .../compile`: checkout, requirements, an import check "
                         "of up to 60 s) across all sandboxes; more get 429 with `Retry-After` (a push: refused, "
                         "git prints why)", _INT, metavar="N"),
    Option("builds_per_sandbox", "of `--builds-max`, the most one sandbox may hold; more are refused the same way",
                                 _INT, metavar="N"),
    Option("worker_processes_max", "worker and checker processes alive at once across all sandboxes; at the cap "
                                   "the least recently used idle one (any sandbox) is stopped first, and when "
                                   "none is idle the call or check gets 429 with `Retry-After`", _INT, metavar="N"),
    Option("worker_disk_mb", "what one process of code bound over HTTP or pushed with git may write (MiB): each "
                             "file anywhere, and its own folder (`HOME`, `TMPDIR`) in all; past it the call fails "
                             "and the folder is emptied (0: no bound)", _INT, metavar="MB"),
    Option("algorithm_dirs", "a folder whose `.py` files bindings may name (repeatable); the bundled sandbox "
                             "algorithms and the folders of `--fixtures` and `--extra-fixtures` files are always "
                             "allowed",
                             _paths, many="paths", metavar="DIR", flag_name="--algorithms-dir", env_name="MOCKSERVER_ALGORITHMS_DIRS"),
    Option("algorithm_modules", "a module prefix bindings may name, e.g. `mypkg.algos` (repeatable)",
                                _names, many="names", metavar="PREFIX", flag_name="--algorithm-module"),
    Option("wheelhouse", "a folder of wheels that builds install `requirements.txt` entries from, offline",
                         metavar="DIR"),
    Option("git_max_push_mb", "largest size of one git push once its objects are inflated (MiB); checked while "
                              "the pack is read, before anything is stored", _INT, metavar="MB"),
    Option("git_max_blob_mb", "largest git object (a file of a commit) in a push (MiB)", _INT, metavar="MB"),
    Option("git_max_repo_mb", "largest git repository, all its objects inflated (MiB)", _INT, metavar="MB"),
    Option("git_max_tree_depth", "deepest folder nesting of a pushed commit", _INT, metavar="N"),
    Option("git_max_path_bytes", "longest file path of a pushed commit (bytes; each name at most 255)",
                                 _INT, metavar="BYTES"),
    Option("git_storage_mb", "disk for the large blobs (over 64 KiB) of every repository of every sandbox (MiB); "
                             "a push past it is refused", _INT, metavar="MB"),
    Option("checkout_cache_mb", "disk for checked-out commits that builds and calls run (MiB); the least "
                                "recently used are removed past it", _INT, metavar="MB"),
    Option("storage_dir", "folder for the large blobs, the checkout cache and the workers' own folders (fresh "
                          "folders inside it, removed at exit); default: the system's temporary folder", metavar="DIR"),
    Option("worker_uids", "when the server runs as root, the uids (`FIRST-LAST`) workers of code bound over "
                          "HTTP or pushed with git run under: one per pushed commit, one for HTTP bindings; "
                          "`auto`: 50000-59999 when root, else the server's own; `off`: the server's own "
                          "(see docs/security.md)", _uid_range, metavar="RANGE"),
    Option("worker_env", "a variable of the server's environment that workers of code bound over HTTP or "
                         "pushed with git also get (repeatable; they get only `PATH`, locale, proxy and CA "
                         "variables otherwise)", _names, many="names", metavar="NAME"),
    Option("control_key", "key for `/_mock` (`X-Mock-Control-Key`); required off loopback, generated when not "
                          "given", metavar="KEY", secret=True),
    Option("public_names", "a Host name, besides loopback names and IP addresses, that may reach `/_mock` "
                           "(repeatable)", _names, many="names", metavar="NAME", flag_name="--public-name"),
    Option("journal_size", "requests the journal (`/_mock/journal`) keeps", _INT, metavar="N"),
    Option("journal_body_bytes", "bytes of each request and response body the journal keeps",
                                 _INT, metavar="BYTES"),
    Option("sandbox_ttl", "idle seconds before a sandbox expires (0: never)", _FLOAT, metavar="SECONDS"),
    Option("sandbox_max", "sandboxes at most", _INT, metavar="N"),
    Option("sandbox_memory_mb", "process RSS above which no sandbox is created (0: no budget)",
                                _INT, metavar="MB"),
    Option("state_memory_mb", "process RSS above which a request that adds or changes records (a `POST`, "
                              "`PUT` or `PATCH` under `/v1`, invocations excepted; a `git push`) gets 507 and "
                              "stores nothing (0: no budget)", _INT, metavar="MB"),
    Option("threads", "threads that run requests; calls, binding checks and builds never take more than "
                      "`--threads` minus max(4, a quarter) of them (their limits shrink to fit)", _INT, metavar="N"),
    Option("cpu", "the one CPU the server's threads run on: `auto` (default) picks one of those the process may "
                  "use, `all` lets them run on every one, a number names it; worker processes then run on the "
                  "others (docs/speed.md, \"Phase G\")", _cpu, metavar="CPU"),
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


def _argument(option: Option, dest: str, shown_default: str, *, command: bool) -> dict[str, Any]:
    """argparse keyword arguments of one option (default None: not given, so the variable applies).
    ``command``: the ``mockserver`` command's flag (``--fixtures a b`` takes both files); else the
    plugin's option (one value per flag, so a test path after it stays a test path)."""
    meaning = option.command_meaning if command else option.meaning
    kw: dict[str, Any] = {"dest": dest, "default": None, "metavar": option.metavar,
                          "help": f"{meaning.replace('%', '%%')} (env {option.env}{shown_default})"}
    choices = getattr(option.parse, "choices", None)
    if choices:
        kw["choices"], kw["metavar"] = choices, None
    elif option.parse in (_INT, _FLOAT):
        kw["type"] = int if option.parse is _INT else float
    if command and option.several_per_flag:
        kw["nargs"], kw["action"] = "+", "extend"      # --fixtures a b --fixtures c: a, b, c
    elif option.many:
        kw["action"] = "append"
    return kw


def _shown(default: Any) -> str:
    return f"; default {default}" if default not in (None, [], "") else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; each defaults to None (not given), so the environment applies."""
    for option in OPTIONS:
        parser.add_argument(option.flag, **_argument(option, option.name, _shown(default_of(option)),
                                                     command=True))


def secret_variables() -> tuple[str, ...]:
    """The variables that hold keys (``MOCKSERVER_CONTROL_KEY``, ``MOCKSERVER_ADMIN_KEY``).
    :meth:`Settings.load` is the only reader of every ``MOCKSERVER_*`` variable, so once an entry
    point has built the run's Settings they may leave the process's environment."""
    return tuple(name for option in (*OPTIONS, *PLUGIN_OPTIONS) if option.secret for name in option.env_names)


# -- the pytest plugin (mockserver/plugin.py) -------------------------------------------------
# Its options are the settings' flags as --mockserver-NAME (--mockserver-seed, --mockserver-fixtures,
# ...), each falling back to the same variable, but for PLUGIN_FIXED; and the options of
# PLUGIN_OPTIONS, which only the plugin has. A list option takes one value per flag, so a test
# path after it stays a test path.
PLUGIN_PREFIX = "--mockserver-"

PLUGIN_OPTIONS: tuple[Option, ...] = (
    Option("url", "use a running mock (e.g. a CI service container) instead of starting one: each session, "
                  "and so each pytest-xdist worker, gets its own sandbox there (made with the fixtures, seed, "
                  "clock and profile scale options; the shared server's key is --mockserver-control-key); "
                  "unset: a server in this process", metavar="URL"),
)

# The session's own server always listens on loopback, on a free port: no options for these.
# The session's server: loopback, a free port, and the test process's CPUs left alone (only the
# ``serve()`` entry pins its threads: runtime/placement.py).
PLUGIN_FIXED: Mapping[str, Any] = {"host": "127.0.0.1", "port": 0, "cpu": "all"}


@dataclass(frozen=True)
class PluginDefault:
    """The plugin's default for a setting, in place of the field's (below its option and variable)."""
    make: Callable[[], Any]
    shown: str                      # in --help
    remote: bool = True             # applies with --mockserver-url too (to the sandbox made there)


PLUGIN_DEFAULTS: Mapping[str, PluginDefault] = {
    "profile_scale": PluginDefault(lambda: 0.0, "0: no simulated delays"),
    "control_key": PluginDefault(lambda: secrets.token_urlsafe(24),
                                 "a random one per session, which tests read as mockserver.control_key; with "
                                 "--mockserver-url, none", remote=False),
    # In the test process, its RSS is the tests' own (models, fixtures): not the mock's to budget.
    "state_memory_mb": PluginDefault(lambda: 0, "0: no budget (the test process's memory is the tests' own)",
                                     remote=False),
}


@dataclass(frozen=True)
class PluginRun:
    """What the plugin serves: its own server with ``settings``, or, given ``url``, a sandbox of
    that running mock (made from ``settings``' fixtures, seed, clock and profile scale, with its
    ``control_key`` as the shared server's key)."""
    settings: Settings
    url: str | None = None


assert set(PLUGIN_FIXED) | set(PLUGIN_DEFAULTS) <= set(_FIELDS), "the plugin's own values are of settings"
assert {o.name for o in PLUGIN_OPTIONS} == {f.name for f in fields(PluginRun)} - {"settings"}


def plugin_options() -> tuple[Option, ...]:
    """Every option of the plugin: the settings' but PLUGIN_FIXED, then PLUGIN_OPTIONS."""
    return (*(o for o in OPTIONS if o.name not in PLUGIN_FIXED), *PLUGIN_OPTIONS)


def plugin_flag(option: Option) -> str:
    return PLUGIN_PREFIX + option.flag[2:]


def plugin_dest(option: Option) -> str:
    return "mockserver_" + option.name


def plugin_arguments() -> list[tuple[str, dict[str, Any]]]:
    """(flag, keyword arguments for pytest's ``addoption``) of every plugin option."""
    arguments = []
    for option in plugin_options():
        mine = PLUGIN_DEFAULTS.get(option.name)
        shown = f"; default {mine.shown}" if mine else "" if option in PLUGIN_OPTIONS else _shown(default_of(option))
        kwargs = _argument(option, plugin_dest(option), shown, command=False)
        kwargs["help"] = _PLUGIN_FLAG_IN_TEXT.sub(lambda m: plugin_flag(_BY_FLAG[m.group(0)]), kwargs["help"])
        arguments.append((plugin_flag(option), kwargs))
    return arguments


_BY_FLAG = {option.flag: option for option in OPTIONS}
# A setting's flag named in a meaning ("of `--invocations-max`, ..."): the plugin's option instead.
_PLUGIN_FLAG_IN_TEXT = re.compile("|".join(sorted(map(re.escape, _BY_FLAG), key=len, reverse=True)) + r"(?![\w-])")


def load_plugin(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> PluginRun:
    """The plugin's run: ``options`` (by :func:`plugin_dest`; None: not given), then the variables
    (default ``os.environ``), then PLUGIN_DEFAULTS, then the field defaults; PLUGIN_FIXED always."""
    env = os.environ if env is None else env
    flags = {option.name: options.get(plugin_dest(option)) for option in plugin_options()}
    own = {option.name: _resolve(option, flags, env, {}) for option in PLUGIN_OPTIONS}
    remote = own["url"] is not None
    defaults = {name: default.make() for name, default in PLUGIN_DEFAULTS.items() if default.remote or not remote}
    return PluginRun(Settings.load({**flags, **PLUGIN_FIXED}, env, **defaults), **own)


def markdown_table() -> str:
    """The settings table of docs/settings.md (one row per setting; tests/unit/test_settings.py keeps them equal)."""
    rows = ["| flag | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        default = default_of(option)
        shown = "–" if default in (None, [], "") else f"`{default}`"
        env = f"`{option.env}`" + {"paths": " (`:`-separated)", "names": " (comma-separated)"}.get(option.many or "", "")
        rows.append(f"| `{option.flag}` | {env} | {shown} | {option.command_meaning} |")
    return "\n".join(rows)

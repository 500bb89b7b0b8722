"""Configuration comes from the one ``Settings``: no module but mockserver/settings.py reads a
``MOCKSERVER_*`` variable, and only a short list of modules touches the process environment at
all, each for a reason that is not the server's configuration.

Found with ``ast`` in the source (nothing is imported): ``os.environ`` and ``os.getenv`` (also
``environb``/``getenvb`` and names imported from ``os``), and any ``MOCKSERVER_*`` string
constant used as the name of an environment read (``os.environ.get(...)``, ``os.environ[...]``,
``os.getenv(...)``, ``... in os.environ``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mockserver"
ENV_NAMES = {"environ", "environb", "getenv", "getenvb"}

# Modules (or packages, by prefix) that may touch os.environ, and why. Not configuration: that
# is read by settings.py alone and passed down (docs/architecture.md, "Settings").
ALLOWED = {
    "mockserver.settings": "Settings.load(): the one reader of the MOCKSERVER_* settings",
    "mockserver.runtime": "user code's environment: the worker process (its ALGORITHMIA_* variables, the "
                          "call's env) and the environment a worker is started with",
    "mockserver.domain.gitbuilds": "the environment of a build's pip and import check (user code)",
    "mockserver.serving.cli_env": "HOME: where the algo CLI keeps the profile it writes",
    "mockserver.edge.spec_cache": "XDG_CACHE_HOME: the user's cache folder (XDG base directories), where the "
                                  "compiled spec is kept between starts",
    "mockserver.plugin": "PYTEST_XDIST_WORKER: pytest-xdist's documented name of the worker process",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_env(node: ast.AST, from_os: set[str]) -> bool:
    """``os.environ`` / ``os.getenv`` / ..., or a name imported from os as one of them."""
    if isinstance(node, ast.Attribute) and node.attr in ENV_NAMES:
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in from_os


def _names_read(node: ast.AST, from_os: set[str]) -> list[str]:
    """The string constants a node reads from the environment as variable names."""
    if isinstance(node, ast.Call):
        func = node.func
        reader = _is_env(func, from_os) or (isinstance(func, ast.Attribute) and func.attr in ("get", "pop")
                                            and _is_env(func.value, from_os))
        if reader and node.args:
            return _constants(node.args[0])
    if isinstance(node, ast.Subscript) and _is_env(node.value, from_os):
        return _constants(node.slice)
    if isinstance(node, ast.Compare) and any(_is_env(c, from_os) for c in node.comparators):
        return _constants(node.left)
    return []


def _constants(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def scan(source: str) -> tuple[bool, list[tuple[str, int]]]:
    """(touches the environment at all, [(variable name read, line)])."""
    tree = ast.parse(source)
    from_os = {alias.asname or alias.name for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == "os"
               for alias in node.names if alias.name in ENV_NAMES}
    touches = bool(from_os) or any(_is_env(node, from_os) for node in ast.walk(tree))
    reads = [(name, node.lineno) for node in ast.walk(tree) for name in _names_read(node, from_os)]
    return touches, reads


SOURCES = {_module(path): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}
SCANS = {module: scan(source) for module, source in SOURCES.items()}


def _allowed(module: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in ALLOWED)


def test_the_scanner_finds_every_form_of_read():
    for source in ('import os\nos.environ.get("MOCKSERVER_URL")', 'import os\nos.environ["MOCKSERVER_URL"]',
                   'import os\nos.getenv("MOCKSERVER_URL", "x")', 'import os\n"MOCKSERVER_URL" in os.environ',
                   'from os import environ as e\ne.get("MOCKSERVER_URL")', 'from os import getenv\ngetenv("MOCKSERVER_URL")',
                   'import os\nos.environ.pop("MOCKSERVER_URL", None)'):
        assert scan(source) == (True, [("MOCKSERVER_URL", 2)]), source
    assert scan('environ = {}\nenviron.get("MOCKSERVER_URL")') == (False, [])      # a WSGI environ
    assert scan('import os\nenv = dict(os.environ)') == (True, [])


def test_no_module_but_settings_reads_a_mockserver_variable():
    reads = [f"{module}:{line} reads {name}" for module, (_touches, found) in SCANS.items()
             if module != "mockserver.settings" for name, line in found if name.startswith("MOCKSERVER_")]
    assert not reads, ("configuration is read by Settings.load() alone (mockserver/settings.py): add an OPTIONS row "
                       "and pass the Settings down\n" + "\n".join(reads))


def test_only_the_listed_modules_touch_the_environment():
    others = sorted(module for module, (touches, _found) in SCANS.items() if touches and not _allowed(module))
    assert not others, (f"{others} touch os.environ: configuration belongs in Settings (mockserver/settings.py); "
                        "anything else needs a line in ALLOWED saying why")


def test_settings_is_where_the_variables_are_read():
    touches, _found = SCANS["mockserver.settings"]
    assert touches


@pytest.mark.parametrize("module, names", [("mockserver.plugin", {"PYTEST_XDIST_WORKER"}),
                                           ("mockserver.serving.cli_env", {"HOME"}),
                                           ("mockserver.edge.spec_cache", {"XDG_CACHE_HOME"})])
def test_the_listed_modules_outside_the_runtime_read_only_what_they_say(module, names):
    assert {name for name, _line in SCANS[module][1]} <= names

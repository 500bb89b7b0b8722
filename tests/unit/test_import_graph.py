"""mockserver/ has no import cycles and no function-level imports that would hide one.

The graph is built from the source with ``ast`` (nothing is imported): an edge A -> B for
every ``import``/``from`` in A that names a mockserver module B (or a name in package B that
is itself a module). Imports under ``if TYPE_CHECKING:`` count like any other: a layer that
needs an upper layer's type takes it as a parameter (or a Protocol) instead.

Besides "no cycles", the packages form layers (``LAYERS``), and a module may import only
from its own layer or the layers below it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "mockserver"

# Function-level imports of mockserver modules that are there on purpose, with the reason.
# Anything not listed here fails: a deferred import usually hides an import cycle.
_PLUGIN = ("pytest loads the plugin entry point in every test session of a project that installs "
           "the package: the server (Flask, the engine) is imported only when a test uses a fixture")
DEFERRED_ALLOWED: dict[tuple[str, str], str] = {
    ("mockserver", "mockserver.app"): "package __init__: `import mockserver.runtime` in a worker process "
                                          "must not import Flask and the app",
    ("mockserver.plugin", "mockserver.control.api"): _PLUGIN,
    ("mockserver.plugin", "mockserver.runtime"): _PLUGIN,
    ("mockserver.plugin", "mockserver.serving.live"): _PLUGIN,
    ("mockserver.plugin", "mockserver.serving.remote"): _PLUGIN,
    ("mockserver.serving.cli", "mockserver.serving.start"): "start-up (issue 31): the command starts the "
        "fixtures' binding checks (child processes) before Flask and the app are imported, so the checks "
        "run while those load (docs/speed.md, Start-up)",
    ("mockserver.edge.git_route", "mockserver.edge.git_http"): "memory (issue 31): the git server and dulwich's "
        "smart-HTTP server under it (~4.6 MB) are imported on the first git request, not at start-up",
}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _is_package(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    if not _is_package(mod):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(mod: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The mockserver modules an import statement loads (the deepest module each name names)."""
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("mockserver"):
                found.add(name)
        return found
    base = _resolve(mod, node)
    if not base.startswith("mockserver"):
        return found
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in MODULES:
            found.add(sub)
        elif base in MODULES:
            found.add(base)
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _scan(mod: str) -> tuple[set[str], list[tuple[str, int]]]:
    """(modules imported at module level, [(module imported in a function, line)])."""
    tree = ast.parse(MODULES[mod].read_text(), str(MODULES[mod]))
    top: set[str] = set()
    deferred: list[tuple[str, int]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            walk_one(child, in_function)

    def walk_one(child: ast.AST, in_function: bool) -> None:
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            targets = _targets(mod, child)
            if in_function:
                deferred.extend((t, child.lineno) for t in targets)
            else:
                top.update(targets)
            return
        walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, False)
    top.discard(mod)
    return top, deferred


GRAPH: dict[str, set[str]] = {}
DEFERRED: dict[str, list[tuple[str, int]]] = {}
for _mod in MODULES:
    GRAPH[_mod], DEFERRED[_mod] = _scan(_mod)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return components


def test_graph_sees_the_package():
    assert "mockserver.domain.store" in GRAPH
    assert "mockserver.domain.models" in GRAPH["mockserver.domain.store"]


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles in mockserver/: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_deferred_imports_of_mockserver_modules():
    bad = [f"{mod}:{line} imports {target}"
           for mod, found in DEFERRED.items() for target, line in found
           if (mod, target) not in DEFERRED_ALLOWED]
    assert not bad, "function-level imports of mockserver modules (move them up or list them " \
                    "in DEFERRED_ALLOWED with a reason):\n" + "\n".join(sorted(bad))


@pytest.mark.parametrize("entry", sorted(DEFERRED_ALLOWED))
def test_allow_list_entries_are_still_needed(entry):
    mod, target = entry
    assert any(t == target for t, _ in DEFERRED.get(mod, [])), f"{entry} is no longer deferred"


# The layers, top first. A module may import its own layer and the layers below; each
# top-level module or package of mockserver/ is in exactly one layer.
LAYERS: list[tuple[str, ...]] = [
    ("mockserver.serving", "mockserver.plugin", "mockserver.__main__", "mockserver",
     "mockserver.testcontainer"),                     # ways in: server, pytest plugin, Testcontainers module
    ("mockserver.app",),                              # the composition root: knows every package
    ("mockserver.api", "mockserver.control"),         # the handlers of /v1 and of /_mock
    ("mockserver.edge",),                             # HTTP and git protocol: gate, spec, auth, CORS, /git
    ("mockserver.web",),                              # helpers api, control and edge share
    ("mockserver.fixtures", "mockserver.fixture_docs", "mockserver.fixture_check"),   # fixture documents -> domain calls
    ("mockserver.domain",),                           # every rule of the API, and the store it keeps
    ("mockserver.runtime",),                          # the invocation engine (user code, workers)
    ("mockserver.errors", "mockserver.ids", "mockserver.pagination", "mockserver.settings",
     "mockserver.resources", "mockserver.codec", "mockserver.schema_translation",
     "mockserver.memory"),    # leaf helpers
]


def _unit(mod: str) -> str:
    """The top-level module or package a module belongs to (``mockserver`` for the package itself)."""
    parts = mod.split(".")
    return ".".join(parts[:2])


def _rank(mod: str) -> int:
    unit = _unit(mod)
    for rank, layer in enumerate(LAYERS):
        if unit in layer:
            return rank
    raise AssertionError(f"{unit} is in no layer of LAYERS: add it")


def test_every_module_is_in_a_layer():
    for mod in MODULES:
        _rank(mod)


def test_layer_rule_catches_an_upward_import():
    assert _rank("mockserver.domain.store") > _rank("mockserver.app")
    assert _rank("mockserver.web.jsonio") > _rank("mockserver.edge.gate")


def test_no_module_imports_a_layer_above_its_own():
    bad = [f"{mod} imports {target}" for mod, targets in GRAPH.items()
           for target in targets if _rank(target) < _rank(mod)]
    bad += [f"{mod} imports {target} (in a function)" for mod, found in DEFERRED.items()
            for target, _line in found if _rank(target) < _rank(mod) and (mod, target) not in DEFERRED_ALLOWED]
    assert not bad, "upward imports between packages:\n" + "\n".join(sorted(bad))


def test_no_package_cycles():
    packages: dict[str, set[str]] = {}
    for mod, targets in GRAPH.items():
        packages.setdefault(_unit(mod), set()).update(_unit(t) for t in targets if _unit(t) != _unit(mod))
    packages.pop("mockserver", None)     # the package __init__ only re-exports create_app lazily
    cycles = _cycles(packages)
    assert not cycles, "package cycles: " + "; ".join(" <-> ".join(c) for c in cycles)

"""mockserver/ has no import cycles and no function-level imports that would hide one.

The graph is built from the source with ``ast`` (nothing is imported): an edge A -> B for
every module-level ``import``/``from`` in A that names a mockserver module B (or a name in
package B that is itself a module). Imports under ``if TYPE_CHECKING:`` are for type
checkers only and do not count.
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
    ("mockserver", "mockserver.edge.app"): "package __init__: `import mockserver.runtime` in a worker process "
                                          "must not import Flask and the app",
    ("mockserver.plugin", "mockserver.control.api"): _PLUGIN,
    ("mockserver.plugin", "mockserver.runtime"): _PLUGIN,
    ("mockserver.plugin", "mockserver.settings"): _PLUGIN,
    ("mockserver.plugin", "mockserver.serving.live"): _PLUGIN,
    ("mockserver.plugin", "mockserver.serving.remote"): _PLUGIN,
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
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    walk_one(sub, in_function)
                continue
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
    assert "mockserver.store" in GRAPH
    assert "mockserver.domain.models" in GRAPH["mockserver.store"]


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


# The domain (with the store it keeps its state in) sits below the HTTP edge: it never
# imports the layers that call it, so no cycle can run through a package boundary there.
_DOMAIN = ("mockserver.domain", "mockserver.store")
_ABOVE_DOMAIN = ("mockserver.api", "mockserver.edge", "mockserver.control", "mockserver.serving",
                 "mockserver.fixtures", "mockserver.plugin")


def _in(mod: str, packages: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in packages)


def test_domain_imports_nothing_above_it():
    bad = [f"{mod} imports {target}" for mod, targets in GRAPH.items() if _in(mod, _DOMAIN)
           for target in targets if _in(target, _ABOVE_DOMAIN)]
    assert not bad, "\n".join(sorted(bad))

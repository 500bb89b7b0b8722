"""The test tree's own rule: helpers come from tests/support/, never from conftest or a test module.

conftest.py holds fixtures, which pytest injects; importing from it (or from another test_*
module) makes a module's behaviour depend on how pytest happened to put directories on sys.path.
"""
import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def forbidden_imports(source: str) -> list[str]:
    """The modules ``source`` imports that a test file must not: conftest or any test_* module."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            if node.level and not node.module:          # from . import test_x, conftest
                names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            last = name.rsplit(".", 1)[-1]
            if last == "conftest" or last.startswith("test_"):
                bad.append(name)
    return bad


def python_files():
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_imports_no_conftest_and_no_test_module(path):
    bad = forbidden_imports(path.read_text())
    assert not bad, f"{path.relative_to(TESTS)} imports {bad}: move the helper to tests/support/"


@pytest.mark.parametrize("source, expected", [
    ("from conftest import DEMO", ["conftest"]),
    ("import conftest", ["conftest"]),
    ("def f():\n    from conftest import Api", ["conftest"]),
    ("from test_serve_command import stop", ["test_serve_command"]),
    ("from tests.ways.test_serve_command import stop", ["tests.ways.test_serve_command"]),
    ("from . import test_cors", ["test_cors"]),
    ("from support.api import DEMO\nimport pytest\nfrom mockserver.edge import app", []),
])
def test_the_check_sees_every_form_of_import(source, expected):
    assert forbidden_imports(source) == expected

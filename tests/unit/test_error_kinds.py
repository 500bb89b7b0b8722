"""Every error names a kind from the one table in mockserver/errors.py (issue 29 item 3).

Read from the source with ``ast``: each ``ApiError(...)`` in mockserver/ names a ``Kind`` of the
table (or a value typed ``Kind``: ``op.invalid_kind``, ``cannot.kind``), passes no HTTP status,
and only ``api/`` picks a wire shape. A ``Kind`` is made outside the table only where the code and
status are data (``FOREIGN_KINDS``), never from literal numbers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mockserver import errors
from mockserver.errors import KINDS, ApiError, Code, Kind

ROOT = Path(__file__).resolve().parents[2] / "mockserver"

# The modules that make a Kind outside the table, and why: there the code and status are data.
FOREIGN_KINDS = {
    "control/faults.py": "an injected fault answers the code and status its author chose",
    "serving/remote.py": "the plugin against --mockserver-url re-raises the error the remote mock answered",
    "app.py": "an HTTP error werkzeug raises itself keeps its status",
}
# Modules whose errors only git's plain-text answer renders (edge/git_http.py): kinds with no code.
GIT_MODULES = {"edge/git_http.py", "edge/git_receive.py", "domain/gitaccess.py"}
# Literal error statuses that are not an error of the mock, and why.
LITERAL_STATUS_ALLOWED = {
    ("api/invoke.py", 400): "seed 004: a call whose algorithm failed answers 400 under output=raw",
    ("control/faults.py", 499): "the answer of a dropped connection, which never reaches the client",
}
_RESPONSE_MAKERS = {"ApiError", "Kind", "Response", "json_response", "empty_response", "_text", "_answer"}


def _sources() -> list[tuple[str, ast.AST]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted(ROOT.rglob("*.py"))]


def _callee(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _calls(sources, name: str):
    for rel, tree in sources:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) == name:
                yield rel, node


def _names_a_kind(node: ast.AST) -> bool:
    """A table kind by name, a value typed Kind (``x.kind``, ``op.invalid_kind``, a ``kind``
    parameter), or a choice between two of these."""
    if isinstance(node, ast.IfExp):
        return _names_a_kind(node.body) and _names_a_kind(node.orelse)
    if isinstance(node, ast.Name):
        return node.id in KINDS or node.id == "kind" or node.id.endswith("_kind")
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "errors":
            return node.attr in KINDS
        return node.attr == "kind" or node.attr.endswith("_kind")
    return False


def _table_kinds(node: ast.AST) -> list[Kind]:
    if isinstance(node, ast.IfExp):
        return _table_kinds(node.body) + _table_kinds(node.orelse)
    if isinstance(node, ast.Name) and node.id in KINDS:
        return [KINDS[node.id]]
    return []


def _where(rel: str, node: ast.AST) -> str:
    return f"mockserver/{rel}:{node.lineno}"


def _not_a_kind(sources) -> list[str]:
    """An ApiError that does not name a kind of the table, or passes a status besides it."""
    bad = []
    for rel, call in _calls(sources, "ApiError"):
        if not call.args or not _names_a_kind(call.args[0]):
            bad.append(f"{_where(rel, call)}: the first argument is not a Kind of mockserver/errors.py")
        if len(call.args) > 2 or any(k.arg in ("status", "code") for k in call.keywords):
            bad.append(f"{_where(rel, call)}: passes a status or code besides its kind")
    return bad


def _shape_outside_api(sources) -> list[str]:
    """A wire shape chosen outside api/ (the domain raises, api/ renders)."""
    return [_where(rel, call) for rel, call in _calls(sources, "ApiError")
            if any(k.arg == "shape" for k in call.keywords) and not rel.startswith("api/")]


def _codeless_in_standard_shape(sources) -> list[str]:
    """A kind with no code renders as the invocation or bare shape (api/) or as git's text."""
    return [_where(rel, call) for rel, call in _calls(sources, "ApiError")
            if any(kind.code is None for kind in _table_kinds(call.args[0]))
            and rel not in GIT_MODULES and not any(k.arg == "shape" for k in call.keywords)]


def _kinds_made_elsewhere(sources) -> list[str]:
    """A Kind made outside the table (other than from data, FOREIGN_KINDS)."""
    bad = []
    for rel, call in _calls(sources, "Kind"):
        if rel == "errors.py":
            continue
        if rel not in FOREIGN_KINDS:
            bad.append(f"{_where(rel, call)}: a Kind made outside mockserver/errors.py (add it to the table)")
        if any(isinstance(arg, ast.Constant) for arg in call.args):
            bad.append(f"{_where(rel, call)}: a Kind from literal numbers")
    return bad


def _literal_statuses(sources, allowed=LITERAL_STATUS_ALLOWED) -> list[str]:
    """A literal HTTP error status: name a kind in mockserver/errors.py instead."""
    bad = []
    for rel, tree in sources:
        if rel == "errors.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            values = [k.value for k in node.keywords if k.arg == "status"]
            if _callee(node) in _RESPONSE_MAKERS:
                values += node.args[1:] if _callee(node) in ("json_response", "empty_response") else node.args
            for value in values:
                for sub in ast.walk(value):
                    if isinstance(sub, ast.Constant) and type(sub.value) is int and 400 <= sub.value < 600 \
                            and (rel, sub.value) not in allowed:
                        bad.append(f"{_where(rel, sub)}: {sub.value}")
    return bad


CHECKS = (_not_a_kind, _shape_outside_api, _codeless_in_standard_shape, _kinds_made_elsewhere, _literal_statuses)


@pytest.fixture(scope="module")
def sources():
    return _sources()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.strip("_"))
def test_mockserver_passes(check, sources):
    assert len(list(_calls(sources, "ApiError"))) > 200          # the scan sees the call sites
    bad = check(sources)
    assert not bad, f"{check.__doc__ or check.__name__}:\n" + "\n".join(bad)


def test_the_allowed_literal_statuses_are_still_there(sources):
    found = {(bad.split(":")[0].removeprefix("mockserver/"), int(bad.rsplit(" ", 1)[1]))
             for bad in _literal_statuses(sources, allowed={})}
    assert found == set(LITERAL_STATUS_ALLOWED)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.strip("_"))
def test_each_check_catches_the_old_forms(check):
    """Each check fails on the forms it forbids (so it cannot pass vacuously)."""
    old = ("raise ApiError(6001, 'x', 404)\n"
           "raise ApiError(code, 'x')\n"
           "raise ApiError(ALGORITHM_NOT_FOUND, 'x', shape='bare')\n"
           "raise ApiError(CODE_GONE, 'x')\n"
           "Response(b'', status=404)\n"
           "k = Kind(6001, 409)\n")
    assert check([("domain/example.py", ast.parse(old))])


def test_the_table():
    """One kind object per name; every code is one of seed 002's (``Code``) and every code of
    ``Code`` is used; a kind's status is an HTTP error status."""
    codes = {value for name, value in vars(Code).items() if not name.startswith("_")}
    assert len({id(kind) for kind in KINDS.values()}) == len(KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.code is None or kind.code in codes, name
        assert 400 <= kind.status < 600, name
    assert {kind.code for kind in KINDS.values()} - {None} == codes
    assert errors.kind_named("MALFORMED_ORG") is errors.MALFORMED_ORG
    with pytest.raises(ValueError):
        errors.kind_named("NO_SUCH_KIND")


def test_api_error_takes_only_a_kind():
    err = ApiError(errors.DATA_CONFLICT, "taken")
    assert (err.code, err.status, err.kind) == (Code.REQUEST_INVALID, 409, errors.DATA_CONFLICT)
    assert err.body()["error"]["code"] == Code.REQUEST_INVALID and err.body()["error"]["message"] == "taken"
    with pytest.raises(TypeError):
        ApiError(Code.REQUEST_INVALID, "an int is not a kind")
    with pytest.raises(TypeError):
        ApiError(errors.REQUEST_INVALID, "no status besides the kind", 404)
    with pytest.raises(ValueError):
        ApiError(errors.REQUEST_INVALID, "x", shape="html")
    # Two kinds may share code and status and still be told apart.
    assert (errors.DATA_CONFLICT.code, errors.DATA_CONFLICT.status) == \
        (errors.DIRECTORY_NOT_EMPTY.code, errors.DIRECTORY_NOT_EMPTY.status)
    assert errors.DATA_CONFLICT != errors.DIRECTORY_NOT_EMPTY


def test_shapes():
    assert ApiError(errors.ALGORITHM_NOT_FOUND, "No such algorithm", shape="bare").body() == \
        {"error": "No such algorithm"}
    invocation = ApiError(errors.TOO_MANY_CALLS, "busy", shape="invocation", error_type="SystemError").body()
    assert invocation == {"error": {"message": "busy", "error_type": "SystemError"}}

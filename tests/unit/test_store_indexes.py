"""The store owns its derived indexes: after any sequence of domain operations they equal
indexes rebuilt from the primary maps, and no module outside store.py writes State's maps."""
from __future__ import annotations

import ast
import dataclasses
import random
from pathlib import Path

import pytest

from mockserver.domain import algorithms, keys, orgs, users
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.domain.principal import Principal
from mockserver.errors import ApiError
from mockserver.ids import Clock, Ids
from mockserver.settings import Settings
from mockserver.domain.store import State, Store
from support.algorithms import SETTINGS

ADMIN = Principal(ApiKey(api_key="admin", id="admin", owner=None, key_type="PlatformAdminKey"))
# "User1" and "ORG1" collide with "user1" and "org1" by case: owner names are unique without
# regard to case, and algorithm owners resolve that way (docs/behaviour.md "Names").
USERS = [f"user{i}" for i in range(7)] + ["User1"]
ORGS = [f"org{i}" for i in range(4)] + ["ORG1"]
ALGOS = ["Hello", "hello", "World", "Sum", "Echo"]        # "hello" collides with "Hello" by case
DERIVED = [f.name for f in dataclasses.fields(State) if f.metadata.get("derived")]


def _as_user(name: str) -> Principal:
    return Principal(ApiKey(api_key=f"k-{name}", id=f"k-{name}", owner=name, key_type="ManagementKey"))


def _indexes(state: State) -> dict:
    """Every derived index, as plain comparable data (records by identity; the order of each
    owner's keys counts: keys_of promises oldest first)."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value if isinstance(value, (str, type(None))) else id(value)
    out = {name: plain(getattr(state, name)) for name in DERIVED}
    out["keys_by_owner order"] = {owner: list(owned) for owner, owned in state.keys_by_owner.items()}
    out["orgs_by_member order"] = {user: list(of) for user, of in state.orgs_by_member.items()}
    return out


def _operations(ctx: Ctx, rnd: random.Random):
    def create_user():
        name = rnd.choice(USERS)
        email = f"{rnd.choice(USERS)}@example.com"       # sometimes taken: refused
        users.create(ctx, {"username": name, "email": email, "fullname": name})

    def delete_user():
        users.delete(ctx, rnd.choice(USERS))

    def create_org():
        creator = rnd.choice([ADMIN, _as_user(rnd.choice(USERS))])
        name = rnd.choice(ORGS + USERS[:1])                # an org named like a user: refused
        orgs.create(ctx, creator, {"org_name": name, "org_label": name, "org_contact_name": "C",
                                   "org_email": f"{name}@example.com"})

    def delete_org():
        orgs.delete(ctx, rnd.choice(ORGS))

    def put_member():
        orgs.put_member(ctx, ADMIN, rnd.choice(ORGS), rnd.choice(USERS), rnd.choice(["owner", "member", None]))

    def remove_member():
        orgs.remove_member(ctx, ADMIN, rnd.choice(ORGS), rnd.choice(USERS))

    def create_key():
        keys.create(ctx, ADMIN, rnd.choice(USERS), {"key_label": "k"})

    def put_binding():                 # a run-time binding, the pytest plugin's (trusted) or not
        with ctx.store.write() as state:
            if state.algorithms:
                algo = state.algorithms[rnd.choice(sorted(state.algorithms))]
                state.put_binding(algo.full_name, "x.py:apply", trusted=rnd.random() < 0.5)

    def create_algorithm():
        owner = rnd.choice(USERS + ORGS)
        algorithms.create(ctx, ADMIN, owner, {"name": rnd.choice(ALGOS), "details": {"label": "x"},
                                              "settings": dict(SETTINGS)})

    def delete_algorithm():
        algorithms.delete(ctx, ADMIN, rnd.choice(USERS + ORGS), rnd.choice(ALGOS))

    weighted = [(create_user, 4), (delete_user, 1), (create_org, 2), (delete_org, 1), (put_member, 4),
                (remove_member, 2), (create_key, 3), (put_binding, 2), (create_algorithm, 4),
                (delete_algorithm, 2)]
    return [op for op, weight in weighted for _ in range(weight)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_indexes_equal_rebuilt_ones_after_random_operations(seed):
    rnd = random.Random(seed)
    ctx = Ctx(store=Store(), ids=Ids(seed), clock=Clock("step"), settings=Settings())
    ops = _operations(ctx, rnd)
    done = refused = 0
    filled: set[str] = set()
    for step in range(250):
        op = rnd.choice(ops)
        try:
            op()
            done += 1
        except ApiError:
            refused += 1
        with ctx.store.read() as state:
            live = _indexes(state)
            filled.update(name for name in DERIVED if getattr(state, name))
            state.rebuild_indexes()
            assert live == _indexes(state), f"seed {seed}, step {step}: {op.__name__} left an index stale"
            assert state.trusted_bindings <= set(state.bindings), f"{op.__name__} left a binding's trust behind"
    assert done > 60 and refused > 10          # the sequence exercised both paths
    assert filled == set(DERIVED)              # and every index


def test_a_stale_index_is_noticed():
    ctx = Ctx(store=Store(), ids=Ids(1), clock=Clock("step"), settings=Settings())
    users.create(ctx, {"username": "ann", "email": "ann@example.com", "fullname": "Ann"})
    with ctx.store.read() as state:
        live = _indexes(state)
        state.emails.clear()                       # what a write around the store would leave
        stale = _indexes(state)
        state.rebuild_indexes()
        assert stale != _indexes(state) == live


# -- no module but store.py writes State's maps ---------------------------------------
ROOT = Path(__file__).resolve().parents[2]
# DataStore (state.data) is an object with its own methods, not one of State's maps.
MAPS = {f.name for f in dataclasses.fields(State)} - {"data"}
MUTATORS = {"pop", "popitem", "clear", "update", "setdefault", "append", "extend", "insert", "remove",
            "sort", "reverse", "__setitem__", "__delitem__"}


def _map_attribute(node: ast.AST) -> str | None:
    """The State field ``node`` names: ``state.users``, ``state.users[...]``,
    ``store.state.users``... The receiver is recognised by name (the code base calls a State
    ``state``), so ``pool.errors`` of the engine is not taken for one."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if not isinstance(node, ast.Attribute) or node.attr not in MAPS:
        return None
    receiver = node.value
    name = receiver.id if isinstance(receiver, ast.Name) else receiver.attr if isinstance(receiver, ast.Attribute) else ""
    return node.attr if "state" in name.lower() else None


def _writes(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for element in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if _map_attribute(element):
                    found.append((node.lineno, _map_attribute(element)))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS
                and _map_attribute(node.func.value)):
            found.append((node.lineno, _map_attribute(node.func.value)))
    return found


def test_the_write_finder_finds_writes():
    assert sorted(_writes("state.users['a'] = u\ndel new_state.orgs[x]\nstate.errors.append(e)\n"
                          "state.keys[k].label = 'x'\nstate.bindings.get(k)\npool.errors.append(e)\n"
                          "self.state.repos[n] = r\nstate.scms = {}\n")
                  ) == [(1, "users"), (2, "orgs"), (3, "errors"), (7, "repos"), (8, "scms")]


def test_no_module_outside_the_store_writes_its_maps():
    files = [p for folder in ("mockserver", "benchmarks") for p in (ROOT / folder).rglob("*.py")
             if p != ROOT / "mockserver" / "store.py"]
    bad = [f"{path.relative_to(ROOT)}:{line} writes .{name}"
           for path in files for line, name in _writes(path.read_text())]
    assert not bad, "write through State's put_/drop_ methods instead:\n" + "\n".join(bad)

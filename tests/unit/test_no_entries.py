"""The shared empty dict of new algorithms (algorithm_models.NO_ENTRIES) stays empty and stays
one object: it refuses every change, copies and pickles of it are itself (reset's baseline and a
sandbox's fork are pickles), and own_dict gives a record its own dict before the first entry."""
from __future__ import annotations

import copy
import pickle

import pytest

from mockserver.domain import algorithms, users
from mockserver.domain.algorithm_models import NO_ENTRIES, own_dict
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.domain.principal import Principal
from mockserver.domain.store import Store
from mockserver.ids import Clock, Ids
from mockserver.settings import Settings
from support.algorithms import SETTINGS

ADMIN = Principal(ApiKey(api_key="admin", id="admin", owner=None, key_type="PlatformAdminKey"))
EMPTY_FIELDS = ("source", "builds", "version_info", "secrets")


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("k", 1), lambda d: d.__delitem__("k"), lambda d: d.setdefault("k", 1),
    lambda d: d.update(k=1), lambda d: d.pop("k", None), lambda d: d.popitem(), lambda d: d.clear(),
    lambda d: d.__ior__({"k": 1}),
])
def test_it_refuses_every_change(change):
    with pytest.raises(TypeError):
        change(NO_ENTRIES)
    assert NO_ENTRIES == {} and isinstance(NO_ENTRIES, dict)


def test_copies_and_pickles_of_it_are_itself():
    assert copy.copy(NO_ENTRIES) is NO_ENTRIES and copy.deepcopy(NO_ENTRIES) is NO_ENTRIES
    assert pickle.loads(pickle.dumps({"a": NO_ENTRIES}, pickle.HIGHEST_PROTOCOL))["a"] is NO_ENTRIES
    assert {**NO_ENTRIES, "k": 1} == {"k": 1} and dict(NO_ENTRIES) is not NO_ENTRIES


def _ctx() -> Ctx:
    return Ctx(store=Store(), ids=Ids(1), clock=Clock("step"), settings=Settings())


def _create(ctx: Ctx, name: str):
    algorithms.create(ctx, ADMIN, "demo", {"name": name, "details": {"label": name}, "settings": dict(SETTINGS)})
    with ctx.store.read() as state:
        return state.algorithms[f"demo/{name}"]


def test_new_algorithms_share_it_and_own_dict_parts_them():
    ctx = _ctx()
    users.create(ctx, {"username": "demo", "email": "demo@example.com", "fullname": "Demo"})
    one, two = _create(ctx, "One"), _create(ctx, "Two")
    assert all(getattr(a, f) is NO_ENTRIES for a in (one, two) for f in EMPTY_FIELDS)
    assert one.versions == () and two.versions == ()
    own_dict(one, "builds")["b1"] = "build"
    assert one.builds == {"b1": "build"} and two.builds is NO_ENTRIES
    assert own_dict(one, "builds") is one.builds             # once its own, it stays its own
    ctx.store.mark_baseline()
    ctx.store.reset()
    with ctx.store.read() as state:
        again_one, again_two = state.algorithms["demo/One"], state.algorithms["demo/Two"]
    assert again_two.builds is NO_ENTRIES and again_two.secrets is NO_ENTRIES
    assert again_one.builds == {"b1": "build"} and again_one.builds is not one.builds

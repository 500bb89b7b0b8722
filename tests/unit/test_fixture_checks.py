"""A fixture file's binding checks (issue 31: run two at a time at start-up) and the load keys
of call preparation (made once per version)."""
import threading

import pytest

from mockserver.app import create_app
from mockserver.domain.callkeys import CallKeys
from mockserver.fixtures import FixtureError, _two_at_a_time, default_fixture
from mockserver.settings import Settings

ALGORITHMS = {"a_ok": "def apply(x):\n    return x\n", "b_ok": "def apply(x):\n    return [x]\n",
              "c_broken": "raise RuntimeError('this module cannot be imported')\n",
              "d_ok": "def apply(x):\n    return {'x': x}\n"}


def fixture(tmp_path, names):
    for name, code in ALGORITHMS.items():
        (tmp_path / f"{name}.py").write_text(code)
    lines = ["algorithms:"] + [f"  - {{owner: demo, name: Fx{i}, binding: {n}.py:apply, versions: [{{version_type: minor}}]}}"
                               for i, n in enumerate(names)]
    path = tmp_path / "algos.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def start(path, **settings):
    return create_app(Settings(fixtures=[str(default_fixture()), path], profile_scale=0.0, **settings)).extensions["mockserver"]


def test_every_binding_of_a_file_is_checked_and_the_broken_one_named(tmp_path):
    path = fixture(tmp_path, ["a_ok", "b_ok", "d_ok", "c_broken", "a_ok"])
    with pytest.raises(FixtureError) as caught:
        start(path)
    assert caught.value.where == "algorithms/3" and "cannot be imported" in caught.value.reason


def test_a_file_loads_with_one_binding_check_slot(tmp_path):
    """The second lane finds no free slot: its checks run again alone, and the file loads."""
    server = start(fixture(tmp_path, ["a_ok", "b_ok", "d_ok"]), binding_checks_per_sandbox=1)
    try:
        with server.ctx.store.read() as state:
            assert {"demo/Fx0", "demo/Fx1", "demo/Fx2"} <= set(state.algorithms)
    finally:
        server.ctx.engine.shutdown()


def test_two_at_a_time_does_every_item_once_and_raises_a_helper_failure():
    done, lock = [], threading.Lock()

    def work(i):
        with lock:
            done.append(i)
    _two_at_a_time([(i,) for i in range(50)], work)
    assert sorted(done) == list(range(50))

    def fails(i):
        if i == 7:
            raise ValueError("item 7")
    with pytest.raises(ValueError, match="item 7"):
        _two_at_a_time([(i,) for i in range(20)], fails)


def test_a_load_key_is_made_once_per_version_and_changes_on_reset():
    keys = CallKeys()
    perms = {"allow_algo": True, "allow_data": True}
    first = keys.load_key("demo", "demo/A", "1.0.0", perms)
    assert keys.load_key("demo", "demo/A", "1.0.0", dict(perms)) is first
    assert keys.load_key("demo", "demo/A", "1.1.0", perms).api_key != first.api_key
    assert keys.load_key("demo", "demo/A", "1.0.0", {**perms, "allow_algo": False}).permissions["allow_algo"] is False
    perms["allow_data"] = False                     # the caller's dict is not the key's
    assert first.permissions["allow_data"] is True
    keys.clear()
    assert keys.load_key("demo", "demo/A", "1.0.0", {"allow_algo": True, "allow_data": True}).api_key != first.api_key

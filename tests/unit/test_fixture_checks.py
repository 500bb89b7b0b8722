"""A fixture file's binding checks (issue 31: run two at a time at start-up, started early by the
command), the bundled file's parse, and the load keys of call preparation (made once per version)."""
import logging
import threading

import pytest
import yaml

from mockserver.app import create_app
from mockserver.domain.callkeys import CallKeys
from mockserver.domain.engine_setup import engine_parts
from mockserver.fixture_docs import parse, start_binding_checks
from mockserver.fixtures import FixtureError, _two_at_a_time, default_fixture
from mockserver.runtime import Binding
from mockserver.serving.cli import HeldLogLines
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


def counting_algorithm(folder, name, *, wait_for=None):
    """An algorithm file that appends a line to ``imports.log`` beside it each time it is imported
    (and first waits for the file ``wait_for``, when given)."""
    wait = (f"import os, time\nwhile not os.path.exists({str(wait_for)!r}):\n    time.sleep(0.01)\n"
            if wait_for else "")
    (folder / f"{name}.py").write_text(f"{wait}with open({str(folder / 'imports.log')!r}, 'a') as f:\n"
                                       f"    f.write({name!r} + '\\n')\n\n\ndef apply(x):\n    return x\n")


def imports_of(folder):
    log = folder / "imports.log"
    return log.read_text().split() if log.exists() else []


def test_the_early_checks_answer_the_loads_checks_each_file_imported_once(tmp_path):
    """start_binding_checks (the command's) imports each binding once; the app's load of the same
    files then takes those answers (even one still importing: it waits), and loads the file."""
    release = tmp_path / "release"
    counting_algorithm(tmp_path, "quick")
    counting_algorithm(tmp_path, "held", wait_for=release)
    path = tmp_path / "algos.yaml"
    path.write_text("algorithms:\n"
                    "  - {owner: demo, name: Quick, binding: quick.py:apply, versions: [{version_type: minor}]}\n"
                    "  - {owner: demo, name: Held, binding: held.py:apply, versions: [{version_type: minor}]}\n")
    settings = Settings(fixtures=[str(default_fixture()), str(path)], profile_scale=0.0)
    parts = engine_parts(settings)
    early = start_binding_checks(parts.engine, settings)
    loading = threading.Thread(target=lambda: holder.append(create_app(settings, parts=parts)), daemon=True)
    holder = []
    loading.start()
    loading.join(0.5)
    assert loading.is_alive()                 # held.py cannot import yet: the load waits for its answer
    release.write_text("")
    early.join(30)
    loading.join(30)
    try:
        assert holder, "the app did not load"
        with holder[0].extensions["mockserver"].ctx.store.read() as state:
            assert {"demo/Quick", "demo/Held"} <= set(state.algorithms)
        assert sorted(imports_of(tmp_path)) == ["held", "quick"]
    finally:
        parts.engine.shutdown()


def test_an_answered_binding_is_not_imported_again_by_a_prefetch(tmp_path):
    counting_algorithm(tmp_path, "quick")
    engine = engine_parts(Settings(profile_scale=0.0, algorithm_dirs=[str(tmp_path)])).engine
    try:
        binding = Binding("quick.py:apply", str(tmp_path), trusted=True)
        assert engine.check_binding(binding) is None
        engine.prefetch_checks([binding])                    # answered already: not imported again
        assert engine.check_binding(binding) is None
        assert imports_of(tmp_path) == ["quick"]
    finally:
        engine.shutdown()


def test_a_broken_binding_checked_early_still_fails_the_load(tmp_path):
    path = fixture(tmp_path, ["a_ok", "c_broken"])
    settings = Settings(fixtures=[str(default_fixture()), path], profile_scale=0.0)
    parts = engine_parts(settings)
    start_binding_checks(parts.engine, settings).join(30)
    try:
        with pytest.raises(FixtureError) as caught:
            create_app(settings, parts=parts)
        assert caught.value.where == "algorithms/1" and "cannot be imported" in caught.value.reason
    finally:
        parts.engine.shutdown()


def test_the_bundled_file_parses_to_the_same_document_with_libyaml():
    raw = default_fixture().read_bytes()
    assert parse(raw, "default.yaml", max_bytes=10**7, shipped=True) == yaml.safe_load(raw.decode())


def test_held_log_lines_come_out_once_in_order_after_the_set_up():
    logger = logging.getLogger("mockserver")
    before = (logger.level, logger.propagate, list(logger.handlers))
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())
    collect = Collect()
    try:
        held = HeldLogLines("info")
        logging.getLogger("mockserver.runtime.test").warning("first")
        logging.getLogger("mockserver").info("second")
        logging.getLogger("mockserver").debug("below the level")
        assert seen == []
        held.release(lambda: logger.addHandler(collect))
        logging.getLogger("mockserver").info("third")
        assert seen == ["first", "second", "third"]
        assert logger.propagate == before[1]
    finally:
        logger.removeHandler(collect)
        logger.setLevel(before[0])
        logger.propagate = before[1]
        assert logger.handlers == before[2]

"""Worker processes are contained: their process trees die on timeout, cancel, reset and
shutdown; their fd 1 / fd 2 never reach the server; a call returns when apply() returns;
cancellation and the per-key cap; bindings are imported in a worker, never in this process."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from mockserver.runtime import BadInput, Binding, Engine, Invocation, KeyBusy, Profile
from mockserver.runtime.policy import CodePolicy
from support.algorithms import SANDBOX_ALGORITHMS
from support.gate import Gate
from support.polling import until
from support.processes import pid_alive

HERE = Path(__file__).parent
ALGOS = str(HERE / "algos")
PROC = Profile("contained", mode="process")


def _inv(target, body=b"null", *, key="k", profile=PROC, base=ALGOS, **kw) -> Invocation:
    return Invocation(key=key, binding=Binding(target, base), profile=profile, body=body,
                      content_type="application/json", **kw)


@pytest.fixture()
def engine():
    eng = Engine(scale=0.0)
    yield eng
    eng.shutdown()


# ------------------------------------------------------------------ process trees

def test_a_call_returns_when_apply_returns_even_if_it_started_processes(engine):
    started = time.monotonic()
    out = engine.invoke(_inv("forker.py", timeout_s=30))
    assert out.error is None, out.error
    assert time.monotonic() - started < 10          # not the children's 60 s
    assert len(out.result) == 3 and all(pid_alive(p) for p in out.result)
    engine.reset()                                  # the fork, the setsid child and the daemon die
    assert until(lambda: not any(pid_alive(p) for p in out.result))


def test_shutdown_kills_setsid_and_double_forked_descendants():
    eng = Engine(scale=0.0)
    out = eng.invoke(_inv("forker.py"))
    assert all(pid_alive(p) for p in out.result)
    eng.shutdown()
    assert until(lambda: not any(pid_alive(p) for p in out.result))


def test_timeout_kills_the_whole_tree(engine, tmp_path):
    pids_file = tmp_path / "pids"
    src = tmp_path / "spawn_then_hang.py"
    src.write_text("import json, subprocess, time\n"
                   "def apply(path):\n"
                   "    p = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
                   "    open(path, 'w').write(json.dumps([p.pid]))\n"
                   "    time.sleep(60)\n")
    out = engine.invoke(_inv(str(src), json.dumps(str(pids_file)).encode(), timeout_s=1.0))
    assert "timed out" in out.error.message
    pids = json.loads(pids_file.read_text())
    assert until(lambda: not any(pid_alive(p) for p in pids))


def test_a_fork_returning_from_apply_does_not_answer_for_the_worker(engine, tmp_path):
    src = tmp_path / "fork_and_return.py"
    src.write_text("import os\n"
                   "def apply(x):\n"
                   "    os.fork()\n"                 # both processes return from apply()
                   "    return os.getpid()\n")
    first = engine.invoke(_inv(str(src)))
    second = engine.invoke(_inv(str(src)))
    assert first.error is None and second.error is None
    assert first.result == second.result            # both answers came from the worker itself


# ------------------------------------------------------------------ output capture

def test_fd_1_and_2_are_captured_for_stdout_and_never_reach_the_server(engine, capfd):
    out = engine.invoke(_inv("fd_writer.py", b"0", want_stdout=True))
    assert out.result == "done"
    assert out.stdout == "fd1 says hi\nfd2 says hi\nchild says hi\n"      # written one after the other
    quiet = engine.invoke(_inv("fd_writer.py", b"0"))
    assert quiet.result == "done" and quiet.stdout is None
    captured = capfd.readouterr()
    assert "says hi" not in captured.out and "says hi" not in captured.err


def test_captured_output_is_capped():
    eng = Engine(scale=0.0, stdout_cap=1000)
    try:
        out = eng.invoke(_inv("fd_writer.py", b"3000000", want_stdout=True))
        assert out.result == "done"
        kept = "fd1 says hi\nfd2 says hi\nchild says hi\n"
        dropped = len(kept) + 3000000 - 1000                                 # the first 1000 bytes are kept
        assert out.stdout == (kept + "x" * (1000 - len(kept))
                              + f"\n[stdout truncated: {dropped} more bytes not shown]\n")
        again = eng.invoke(_inv("fd_writer.py", b"0", want_stdout=True))   # no spill-over
        assert again.stdout == kept
    finally:
        eng.shutdown()


# ------------------------------------------------------------------ cancellation

def cancel_when(condition, cancelled: threading.Event) -> None:
    """The client goes away (``cancelled`` is set) once ``condition`` holds (polled; at most 30 s)."""
    threading.Thread(target=lambda: until(condition, timeout=30) and cancelled.set(), daemon=True).start()


@pytest.mark.parametrize("mode", ["process", "inprocess"])
def test_cancel_stops_a_running_call_and_frees_its_slot(engine, mode):
    profile = Profile("cancel-" + mode, mode=mode, warm_slots=1)
    cancelled = threading.Event()
    cancel_when(lambda: engine.stats()["pools"].get(mode, {}).get("busy") == 1, cancelled)   # while it runs
    started = time.monotonic()
    out = engine.invoke(_inv("slow.py", b"60", key=mode, profile=profile, base=SANDBOX_ALGORITHMS),
                        cancelled=cancelled)
    assert time.monotonic() - started < 30          # not apply()'s 60 s
    assert out.error.message == "Algorithm call cancelled: the client went away"
    assert engine.stats()["pools"][mode]["busy"] == 0
    assert engine.invoke(_inv("noop.py", key=mode + "-next", profile=profile)).error is None


def test_cancel_while_waiting_for_a_slot(engine, tmp_path):
    profile = Profile("one-slot", warm_slots=1, queue_limit=4)
    gate = Gate(tmp_path)
    hold = _inv(Gate.file, json.dumps(gate.input()).encode(), key="q", profile=profile, base=str(gate.folder))
    blocker = threading.Thread(target=engine.invoke, args=(hold,))
    blocker.start()
    assert until(lambda: engine.stats()["pools"].get("q", {}).get("busy") == 1)
    cancelled = threading.Event()
    cancel_when(lambda: engine.stats()["pools"]["q"]["queued"] == 1, cancelled)              # while it waits
    out = engine.invoke(_inv(Gate.file, json.dumps(gate.input()).encode(), key="q", profile=profile,
                             base=str(gate.folder)), cancelled=cancelled)
    assert "cancelled" in out.error.message
    assert engine.stats()["pools"]["q"]["queued"] == 0
    gate.open()
    blocker.join(30)


# ------------------------------------------------------------------ per-key cap

def test_concurrent_calls_per_api_key_are_capped(tmp_path):
    eng = Engine(scale=0.0, invocations_per_key=1)
    gate = Gate(tmp_path)
    try:
        t = threading.Thread(target=eng.invoke, args=(_inv(Gate.file, json.dumps(gate.input()).encode(), key="a",
                                                           base=str(gate.folder), caller="key-1"),))
        t.start()
        assert until(lambda: eng.stats()["pools"].get("a", {}).get("busy") == 1)
        with pytest.raises(KeyBusy):
            eng.invoke(_inv("noop.py", key="b", caller="key-1"))
        assert eng.invoke(_inv("noop.py", key="b", caller="key-2")).error is None
        gate.open()
        t.join(30)
        assert eng.invoke(_inv("noop.py", key="b", caller="key-1")).error is None   # freed
    finally:
        eng.shutdown()


# ------------------------------------------------------------------ bad input and output

def test_input_nested_too_deeply_is_bad_input(engine):
    with pytest.raises(BadInput):
        engine.invoke(_inv("noop.py", b"[" * 490 + b"]" * 490))
    with pytest.raises(BadInput):
        engine.invoke(_inv("noop.py", b"[" * 100000 + b"]" * 100000))
    assert engine.invoke(_inv("noop.py", b"[[1]]")).error is None       # the worker is fine


@pytest.mark.parametrize("mode", ["process", "inprocess"])
@pytest.mark.parametrize("body", [b'"text"', b'"json"', b'"raise"'])
def test_a_lone_surrogate_is_an_algorithm_error_or_cleaned(engine, mode, body):
    out = engine.invoke(_inv("surrogate.py", body, key=mode, profile=Profile("s-" + mode, mode=mode)))
    assert out.error is not None and out.error.error_type == "AlgorithmError"
    json.dumps(out.error._asdict()).encode("utf-8")
    out.error.message.encode("utf-8")              # no surrogate left to break the response


# ------------------------------------------------------------------ checking bindings

def test_check_binding_imports_in_a_worker_and_survives_exit_crash_and_hang(tmp_path):
    eng = Engine(scale=0.0, check_timeout_s=1.5)
    try:
        (tmp_path / "exits.py").write_text("import os\nos._exit(3)\n")
        (tmp_path / "sysexit.py").write_text("import sys\nsys.exit(4)\n")
        (tmp_path / "hangs.py").write_text("import time\ntime.sleep(60)\n")
        (tmp_path / "marks.py").write_text("import os\nos.environ['IMPORTED_HERE'] = '1'\ndef apply(x):\n    return x\n")
        assert "exited unexpectedly with code 3" in eng.check_binding(Binding(str(tmp_path / "exits.py")))
        assert "sys.exit(4)" in eng.check_binding(Binding(str(tmp_path / "sysexit.py")))
        started = time.monotonic()
        assert "longer than 1.5 seconds" in eng.check_binding(Binding(str(tmp_path / "hangs.py")))
        assert time.monotonic() - started < 6
        assert eng.check_binding(Binding(str(tmp_path / "marks.py"))) is None
        assert "IMPORTED_HERE" not in os.environ      # the import ran elsewhere
        assert eng.check_binding(Binding("os:system")) is None     # importable: policy is separate
    finally:
        eng.shutdown()


def test_the_engine_refuses_to_run_bindings_the_policy_denies(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.py").write_text("def apply(x):\n    return 'ok'\n")
    eng = Engine(scale=0.0, policy=CodePolicy([str(allowed)]))
    try:
        assert eng.invoke(_inv("ok.py", base=str(allowed))).result == "ok"
        out = eng.invoke(_inv("os:system", b'"true"', base=None))
        assert out.error.error_type == "LoadingError" and "not allowed" in out.error.message
        plugin_bound = Binding("os.path:basename", trusted=True)     # what the pytest plugin bound
        inv = Invocation(key="t", binding=plugin_bound, profile=PROC, body=b'"a/b"', content_type="application/json")
        assert eng.invoke(inv).result == "b"
    finally:
        eng.shutdown()


def test_policy_resolves_links_and_dots_before_checking(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "evil.py").write_text("def apply(x):\n    return x\n")
    (allowed / "link.py").symlink_to(outside / "evil.py")
    (allowed / "sub").symlink_to(outside)
    (allowed / "good.py").write_text("def apply(x):\n    return x\n")
    policy = CodePolicy([str(allowed)], ["mypkg.algos"])
    assert policy.denial(Binding(str(allowed / "good.py"))) is None
    assert policy.denial(Binding("good.py", base_dir=str(allowed))) is None
    for target in (str(outside / "evil.py"), str(allowed / "link.py"), str(allowed / "sub" / "evil.py"),
                   str(allowed / ".." / "outside" / "evil.py"), "../outside/evil.py"):
        assert "not under an allowed" in policy.denial(Binding(target, base_dir=str(allowed))), target
    assert policy.denial(Binding("mypkg.algos.x:apply")) is None
    assert policy.denial(Binding("mypkg.algos:apply")) is None
    for target in ("os:system", "mypkg.algosx:apply", "mypkg:apply", "subprocess:run"):
        assert "not under an allowed module prefix" in policy.denial(Binding(target)), target
    assert "pytest plugin" in policy.denial(Binding("callable:whatever"))
    assert policy.denial(Binding.template()) is None


def test_inprocess_profiles_run_only_trusted_bindings_in_this_process(tmp_path):
    """In-process trust is the binding's provenance, not its folder: the same file runs in a
    worker when bound over HTTP or built from a checkout, here only when trusted."""
    (tmp_path / "pid.py").write_text("import os\ndef apply(x):\n    return os.getpid()\n")
    eng = Engine(scale=0.0, policy=CodePolicy([str(tmp_path)]))
    inproc = Profile("inproc", mode="inprocess")
    target = f"{tmp_path / 'pid.py'}:apply"
    cases = {"http": Binding(target), "trusted": Binding(target, trusted=True),
             "checkout": Binding(target, checkout="ab" * 20),
             "checkout-marked-trusted": Binding(target, trusted=True, checkout="ab" * 20)}
    try:
        pids = {key: eng.invoke(Invocation(key=key, binding=binding, profile=inproc, body=b"null")).result
                for key, binding in cases.items()}
        assert pids["trusted"] == os.getpid()
        assert all(isinstance(pids[k], int) and pids[k] != os.getpid() for k in cases if k != "trusted"), pids
        assert {k: p["mode"] for k, p in eng.stats()["pools"].items()} == {
            "http": "process", "trusted": "inprocess", "checkout": "process", "checkout-marked-trusted": "process"}
    finally:
        eng.shutdown()

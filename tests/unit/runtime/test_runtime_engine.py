"""The invocation engine, in both modes (process workers and in-thread).

Delays are scaled to 0 except where a test is about them (tiny values then).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest

from mockserver.runtime import (DEFAULT_PROFILES, BadInput, Binding, Engine, EngineClosed,
                                Invocation, Profile, QueueFull)
from support.gate import Gate
from support.polling import until
from support.processes import pid_alive

HERE = Path(__file__).parent
ALGOS = str(HERE / "algos")
FIXTURES = str(HERE.parents[2] / "fixtures" / "algorithms")
MODES = ["process", "inprocess"]
CPU, GPU = DEFAULT_PROFILES


@pytest.fixture(scope="module")
def engine():
    eng = Engine(scale=0.0)
    yield eng
    eng.shutdown()


_seq = iter(range(10**6))


def run(engine, target, body=b"null", ctype="application/json", *, mode="process", base=ALGOS,
        profile=None, key=None, **kw):
    profile = profile or Profile("test-" + mode, mode=mode)
    binding = target if isinstance(target, Binding) else Binding(target, base)
    key = key or f"t/{target}/{mode}/{next(_seq)}"
    return engine.invoke(Invocation(key=key, binding=binding, profile=profile, body=body,
                                    content_type=ctype, **kw))


def jbody(value) -> bytes:
    return json.dumps(value).encode()


# ------------------------------------------------------------------- basics

@pytest.mark.parametrize("mode", MODES)
def test_template_binding(engine, mode):
    started = time.monotonic()
    out = run(engine, Binding.template(), b"Neo", "text/plain", mode=mode)
    observed = time.monotonic() - started
    assert (out.result, out.content_type, out.error) == ("hello Neo", "text", None)
    # scale 0: the duration is apply()'s real run time, in seconds, within the whole call
    assert out.cold is True and 0 < out.duration <= observed, (out.duration, observed)


@pytest.mark.parametrize("mode", MODES)
def test_fixture_algorithms(engine, mode):
    out = run(engine, "greeter.py", b'"Neo"', base=FIXTURES, mode=mode)
    assert (out.result, out.content_type) == ("Hello Neo", "text")
    out = run(engine, "json_transform.py", jbody({"name": "neo", "n": 2}), base=FIXTURES, mode=mode)
    assert out.content_type == "json"
    assert out.result["transformed"] == {"NAME": "NEO", "N": 4} and out.result["sum"] == 2
    out = run(engine, "thumbnail.py", bytes(range(16)), "application/octet-stream", base=FIXTURES, mode=mode)
    assert out.content_type == "binary" and isinstance(out.result, bytes)
    assert out.result.startswith(b"THUMB\x00") and out.result.endswith(bytes([0, 4, 8, 12]))
    out = run(engine, "thumbnail.py", b"abcdefgh", "text/plain", base=FIXTURES, mode=mode)
    assert out.content_type == "binary" and out.result.endswith(b"ae")
    out = run(engine, "slow.py", b"0.01", base=FIXTURES, mode=mode)
    assert out.result["requested"] == 0.01
    out = run(engine, "failing.py", b'"x"', base=FIXTURES, mode=mode)
    assert out.error.error_type == "AlgorithmError"
    assert "always fails" in out.error.message and "ModelNotReady" in out.error.stacktrace
    assert out.result is None and out.content_type == "void"


@pytest.mark.parametrize("mode", MODES)
def test_content_types_reach_apply(engine, mode):
    key = f"types/{mode}"
    cases = [
        (b'{"a": 1}', "application/json", {"type": "dict", "value": {"a": 1}}),
        (b"plain", "text/plain", {"type": "str", "value": "plain"}),
        (b"plain", "application/text", {"type": "str", "value": "plain"}),
        (b"\x00\x01\x02", "application/octet-stream", {"type": "bytes", "len": 3}),
        (b"[1, 2]", None, {"type": "list", "value": [1, 2]}),
        (b"not json", None, {"type": "str", "value": "not json"}),
    ]
    for body, ctype, expected in cases:
        assert run(engine, "echo_types.py", body, ctype, mode=mode, key=key).result == expected
    with pytest.raises(BadInput):
        run(engine, "echo_types.py", b"{bad", "application/json", mode=mode, key=key)


@pytest.mark.parametrize("mode", MODES)
def test_output_kinds(engine, mode):
    key = f"odd/{mode}"
    out = run(engine, "odd_outputs.py", b'"void"', mode=mode, key=key)
    assert (out.result, out.content_type, out.error) == (None, "void", None)
    out = run(engine, "odd_outputs.py", b'"bytearray"', mode=mode, key=key)
    assert (out.result, out.content_type) == (b"\x00\x01", "binary")
    out = run(engine, "odd_outputs.py", b'"tuple"', mode=mode, key=key)
    assert (out.result, out.content_type) == ([1, 2, {"3": "x"}], "json")
    out = run(engine, "odd_outputs.py", b'"set"', mode=mode, key=key)
    assert out.error.error_type == "AlgorithmError" and "JSON serializable" in out.error.message
    out = run(engine, "odd_outputs.py", b'"reject"', mode=mode, key=key)
    assert out.error.error_type == "InputError" and out.error.message == "bad input, try again"


# ------------------------------------------------------------ ADK semantics

@pytest.mark.parametrize("mode", MODES)
def test_load_runs_once_per_warm_worker(engine, mode):
    key = f"counter/{mode}"
    counts = [run(engine, "counter.py", base=FIXTURES, mode=mode, key=key) for _ in range(3)]
    assert [o.result["count"] for o in counts] == [1, 2, 3]
    assert [o.cold for o in counts] == [True, False, False]
    assert len({o.result["loaded_at"] for o in counts}) == 1


@pytest.mark.parametrize("mode", MODES)
def test_two_arg_apply(engine, mode):
    out = run(engine, "two_arg.py", b'"x"', mode=mode)
    assert out.result == {"input": "x", "state": None}
    out = run(engine, "adk_style.py", b"x", "text/plain", mode=mode)
    assert out.error is None and out.result == "tiny:x"


@pytest.mark.parametrize("mode", MODES)
def test_load_failure_fails_every_call(engine, mode):
    key = f"badload/{mode}"
    for _ in range(2):
        out = run(engine, "bad_load.py", b'"x"', mode=mode, key=key)
        assert out.error.error_type == "LoadingError"
        assert out.error.message == "model file missing"
        assert "RuntimeError" in out.error.stacktrace


# ------------------------------------------------------------------- stdout

@pytest.mark.parametrize("mode", MODES)
def test_stdout_capture_and_cap(mode):
    eng = Engine(scale=0, stdout_cap=1000)
    try:
        out = run(eng, "printer.py", b'"Neo"', mode=mode, want_stdout=True, key="p")
        assert (out.result, out.stdout) == ("printed", "got Neo\n")
        out = run(eng, "printer.py", b'"Neo"', mode=mode, want_stdout=False, key="p")
        assert out.stdout is None
        out = run(eng, "printer.py", jbody({"text": "ab", "times": 5000}), mode=mode, want_stdout=True, key="p")
        assert out.stdout.startswith("ab" * 500) and "truncated: 9000 more" in out.stdout
        out = run(eng, "failing.py", b'"x"', base=FIXTURES, mode=mode, want_stdout=True)
        assert out.error and out.stdout == ""
    finally:
        eng.shutdown()


# -------------------------------------------------- failures and isolation

@pytest.mark.parametrize("mode", MODES)
def test_timeout_then_next_call_is_fresh(engine, mode):
    key = f"timeout/{mode}"
    assert run(engine, "slow.py", b"0", base=FIXTURES, mode=mode, key=key).error is None  # warm: a start
    t0 = time.monotonic()
    out = run(engine, "slow.py", b"60", base=FIXTURES, mode=mode, key=key, timeout_s=0.3)
    assert time.monotonic() - t0 < 30                # not apply()'s 60 s, however loaded the machine
    assert out.error.error_type == "SystemError"
    assert out.error.message == "Algorithm timed out after 0.3 seconds"
    out = run(engine, "slow.py", b"0", base=FIXTURES, mode=mode, key=key)
    assert out.error is None and out.cold is True


def test_timeout_kills_the_worker_process(engine):
    key = "timeout/kill"
    first = run(engine, "crashy.py", b'"pid"', key=key)
    pid = first.result
    slow = Binding("slow.py", FIXTURES)
    engine.reset()
    # same key, a new binding: the old pool is replaced
    out = run(engine, slow, b"5", key=key, timeout_s=0.2)
    assert "timed out" in out.error.message
    pids = engine.stats()["pools"].get(key, {}).get("pids", [])
    assert pids == []
    assert until(lambda: not pid_alive(pid))


def test_timeout_also_kills_the_algorithms_subprocesses(engine):
    mark = f"grandchild-{uuid.uuid4().hex}"          # its own: not another run's process on this machine
    out = run(engine, "crashy.py", jbody({"spawn-and-hang": mark}), key="grandchild", timeout_s=1.0,
              want_stdout=True)
    assert "timed out" in out.error.message
    # stdout is lost with the killed worker; find the grandchild by its command line instead
    def grandchildren():
        found = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as fh:
                        if mark.encode() in fh.read() and pid_alive(int(d)):
                            found.append(int(d))
                except OSError:
                    pass
        return found
    assert until(lambda: grandchildren() == [], 3)


@pytest.mark.parametrize("how", ["exit", "segv"])
def test_crash_is_isolated_and_worker_replaced(engine, how):
    key = f"crash/{how}"
    pid1 = run(engine, "crashy.py", b'"pid"', key=key).result
    out = run(engine, "crashy.py", jbody(how), key=key)
    assert out.error.error_type == "SystemError"
    expected = "exited unexpectedly with code 3" if how == "exit" else "killed by SIGSEGV"
    assert expected in out.error.message
    again = run(engine, "crashy.py", b'"pid"', key=key)
    assert again.error is None and again.cold is True and again.result != pid1
    assert not pid_alive(pid1)


def test_a_worker_that_exits_while_idle_is_replaced_not_handed_to_the_next_call(engine):
    key = "idle-exit"
    profile = Profile("two-slots", warm_slots=2)
    first = [run(engine, "crashy.py", b'"pid"', key=key, profile=profile).result]
    os.kill(first[0], signal.SIGKILL)                  # dies while idle, outside any call
    # Until it can be reaped (asked without reaping it): /proc shows its main thread a zombie
    # while its other threads still exit, and until then the engine rightly finds it running.
    assert until(lambda: os.waitid(os.P_PID, first[0], os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None, 10)
    out = run(engine, "crashy.py", b'"pid"', key=key, profile=profile)
    assert out.error is None and out.cold is True and out.result != first[0]
    assert engine.stats()["pools"][key]["pids"] == [out.result]


@pytest.mark.parametrize("mode", MODES)
def test_sys_exit_is_an_error_and_restarts_the_worker(engine, mode):
    key = f"sysexit/{mode}"
    assert run(engine, "counter.py", base=FIXTURES, mode=mode, key=key).result["count"] == 1
    sysexit = Binding("crashy.py", ALGOS)
    # a dedicated key for the crashy algorithm
    out = run(engine, sysexit, b'"sysexit"', mode=mode, key=key + "/c")
    assert out.error.error_type == "AlgorithmError" and "sys.exit(2)" in out.error.message
    out = run(engine, sysexit, b'"pid"', mode=mode, key=key + "/c")
    assert out.error is None and out.cold is True


def test_out_of_memory_is_reported_and_server_survives(engine):
    small = Profile("tiny-mem", memory_mb=64)
    key = "oom"
    out = run(engine, "crashy.py", jbody({"alloc_mb": 16}), profile=small, key=key)
    assert out.result == 16 << 20
    out = run(engine, "crashy.py", jbody({"alloc_mb": 512}), profile=small, key=key)
    assert out.error.error_type == "OutOfMemoryError"
    assert "memory" in out.error.message
    ok = run(engine, "crashy.py", jbody({"alloc_mb": 16}), profile=small, key=key)
    assert ok.error is None and ok.cold is True
    # the server process itself has no such limit
    assert len(bytearray(128 << 20)) == 128 << 20


# ------------------------------------------------------- slots and queueing

def _call_in_thread(engine, results, *args, **kw):
    def target():
        try:
            results.append(run(engine, *args, **kw))
        except Exception as exc:  # QueueFull etc.
            results.append(exc)
    t = threading.Thread(target=target)
    t.start()
    return t


@pytest.mark.parametrize("mode", MODES)
def test_slots_queue_and_queue_full(engine, mode, tmp_path):
    prof = Profile("one-slot-" + mode, warm_slots=1, queue_limit=1, mode=mode)
    key = f"queue/{mode}"
    gate = Gate(tmp_path)
    call = functools.partial(run, engine, Gate.file, base=str(gate.folder), profile=prof, key=key)
    gate.open()
    call(jbody(gate.input()))                                               # warm it
    gate.close()
    results: list = []
    t1 = _call_in_thread(engine, results, Gate.file, jbody(gate.input(n=1)), base=str(gate.folder),
                         profile=prof, key=key)
    assert until(lambda: engine.stats()["pools"][key]["busy"] == 1)
    t2 = _call_in_thread(engine, results, Gate.file, jbody(gate.input(n=2)), base=str(gate.folder),
                         profile=prof, key=key)
    assert until(lambda: engine.stats()["pools"][key]["queued"] == 1)
    with pytest.raises(QueueFull) as exc:
        call(jbody(gate.input(n=3)))
    assert "queued" in exc.value.message
    gate.open()
    t1.join(30)
    t2.join(30)
    assert [r.error for r in results] == [None, None]
    # the queued call ran after the first one, on the same warm worker (the order in which the two
    # threads then return is theirs: the first may still be on its way out when the second answers)
    by_n = {r.result["n"]: r for r in results}
    assert sorted(by_n) == [1, 2]
    assert by_n[2].cold is False
    assert engine.stats()["pools"][key]["warm"] == 1


def test_warm_slots_run_concurrently(engine, tmp_path):
    prof = Profile("two-slots", warm_slots=2, queue_limit=4)
    key = "slots/2"
    gate = Gate(tmp_path)
    results: list = []
    threads = [_call_in_thread(engine, results, Gate.file, jbody(gate.input()), base=str(gate.folder),
                               profile=prof, key=key)
               for _ in range(2)]
    assert until(lambda: engine.stats()["pools"].get(key, {}).get("busy") == 2)    # side by side
    gate.open()
    for t in threads:
        t.join(30)
    # both calls started a worker of their own (neither queued behind the other); the wall-clock
    # check that they overlapped is in benchmarks/timings.py
    assert len(results) == 2 and all(r.error is None and r.cold for r in results)
    assert engine.stats()["pools"][key]["warm"] == 2


# ------------------------------------------------------------------ timing

@pytest.mark.parametrize("mode", MODES)
def test_cold_and_warm_duration(mode):
    prof = Profile("timed-" + mode, cold_start_s=0.15, overhead_s=0.02, idle_s=20, mode=mode)
    eng = Engine(scale=1.0)
    try:
        t0 = time.monotonic()
        cold = run(eng, "greeter.py", b'"a"', base=FIXTURES, profile=prof, key="d")
        assert time.monotonic() - t0 >= 0.17
        warm = run(eng, "greeter.py", b'"a"', base=FIXTURES, profile=prof, key="d")
        assert cold.cold and not warm.cold
        # the simulated delays are in the durations (cold start + overhead; overhead only when warm);
        # upper bounds are speed, checked by benchmarks/timings.py
        assert cold.duration >= 0.17 and warm.duration >= 0.02
        assert cold.duration > warm.duration
    finally:
        eng.shutdown()


@pytest.mark.parametrize("mode", MODES)
def test_idle_worker_goes_cold(mode):
    eng = Engine(scale=0.01)   # idle_s=10 -> 0.1 s
    prof = Profile("idle-" + mode, idle_s=10, mode=mode)
    try:
        a = run(eng, "counter.py", base=FIXTURES, profile=prof, key="i")
        b = run(eng, "counter.py", base=FIXTURES, profile=prof, key="i")
        assert (a.cold, b.cold, b.result["count"]) == (True, False, 2)
        assert until(lambda: eng.stats()["pools"]["i"]["warm"] == 0, 3)
        c = run(eng, "counter.py", base=FIXTURES, profile=prof, key="i")
        assert c.cold is True and c.result["count"] == 1
    finally:
        eng.shutdown()


@pytest.mark.parametrize("mode", MODES)
def test_back_to_back_calls_do_not_wake_the_reaper_each_time(mode):
    """Waking the idle-worker reaper is a thread switch: a stream of calls on a warm
    worker must not pay one per call (it did, and cost ~20 % of an in-process call)."""
    eng = Engine(scale=1.0)
    prof = Profile("wake-" + mode, idle_s=300, mode=mode)
    wakes = []
    wake = eng._reaper._wake
    real_set = wake.set
    wake.set = lambda: (wakes.append(1), real_set())
    try:
        for _ in range(200):
            assert run(eng, "counter.py", base=FIXTURES, profile=prof, key="w").error is None
        assert len(wakes) <= 5, len(wakes)
    finally:
        wake.set = real_set
        eng.shutdown()


# ---------------------------------------------------------- environments

@pytest.mark.parametrize("mode", MODES)
def test_gpu_env_only_in_gpu_profile(engine, mode):
    gpu = Profile.from_dict({**GPU.to_dict(), "mode": mode})
    cpu = Profile.from_dict({**CPU.to_dict(), "mode": mode})
    g = run(engine, "env_report.py", base=FIXTURES, profile=gpu).result
    c = run(engine, "env_report.py", base=FIXTURES, profile=cpu).result
    assert g["cuda_visible_devices_set"] is True and g["cuda_visible_devices"] == "0"
    assert g["profile"] == "python3-gpu" and g["processor"] == "gpu"
    assert c["cuda_visible_devices_set"] is False and c["profile"] == "python3-cpu"
    if mode == "process":
        assert g["pid"] != os.getpid()
    else:
        assert g["pid"] == os.getpid()


def test_process_env_is_really_set(engine, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")            # the server's own GPU var...
    monkeypatch.setenv("MOCKSERVER_SECRET_FOR_TEST", "secret")  # ...and its own settings
    env = {"ALGORITHMIA_API": "http://127.0.0.1:1", "ALGORITHMIA_API_KEY": "simKey"}
    cpu = run(engine, "env_os.py", profile=CPU, env=env, key="env/cpu").result
    assert cpu == {"CUDA_VISIBLE_DEVICES": None, "NVIDIA_VISIBLE_DEVICES": None,
                   "ALGORITHMIA_API": "http://127.0.0.1:1", "ALGORITHMIA_API_KEY": "simKey",
                   "ALGORITHMIA_PROFILE": "python3-cpu", "MOCKSERVER_SECRET_FOR_TEST": None}
    gpu = run(engine, "env_os.py", profile=GPU, key="env/gpu").result
    assert gpu["CUDA_VISIBLE_DEVICES"] == "0" and gpu["ALGORITHMIA_API_KEY"] is None
    # per-call env changes on a warm worker
    again = run(engine, "env_os.py", profile=CPU, env={"ALGORITHMIA_API_KEY": "other"}, key="env/cpu").result
    assert again["ALGORITHMIA_API_KEY"] == "other" and again["ALGORITHMIA_API"] is None


class _FakeApi(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _FakeApi.seen.append((self.path, self.headers.get("Authorization"), body))
        out = json.dumps({"result": "Hello " + body.decode(),
                          "metadata": {"content_type": "text", "duration": 0.001}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode", MODES)
def test_pipeline_calls_back_with_the_official_client(engine, mode):
    pytest.importorskip("Algorithmia")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = {"ALGORITHMIA_API": f"http://127.0.0.1:{srv.server_address[1]}",
               "ALGORITHMIA_API_KEY": "simOwnerKey"}
        out = run(engine, "pipeline.py", b"Neo", "text/plain", base=FIXTURES, mode=mode, env=env,
                  timeout_s=20)
        assert out.error is None, out.error
        assert out.result == {"called": "demo/Hello", "result": "Hello Neo", "content_type": "text"}
        path, auth, body = _FakeApi.seen[-1]
        assert path.startswith("/v1/algo/demo/Hello") and auth == "simOwnerKey" and body == b"Neo"
    finally:
        srv.shutdown()
        srv.server_close()


# ----------------------------------------------------- callables (plugin)

def _double(x):
    return x * 2


def test_bind_python_callables(engine):
    b = Binding.from_callable(_double)
    out = run(engine, b, b"21", key="callable/module-level")
    assert (out.result, out.error) == (42, None)
    assert engine.stats()["pools"]["callable/module-level"]["mode"] == "process"
    offset = 100
    closure = Binding.from_callable(lambda x, state: state + x + offset, load=lambda: 1)
    assert engine.check_binding(closure) is None
    out = run(engine, closure, b"1", key="callable/closure")
    assert (out.result, out.error) == (102, None)
    assert engine.stats()["pools"]["callable/closure"]["mode"] == "inprocess"


# --------------------------------------------------------- check_binding

def test_check_binding(engine, tmp_path):
    assert engine.check_binding(Binding.template()) is None
    assert engine.check_binding(Binding("greeter.py", FIXTURES)) is None
    assert engine.check_binding(Binding("counter.py:apply", FIXTURES)) is None
    assert engine.check_binding(Binding("json:dumps")) is None
    assert "No module named" in engine.check_binding(Binding("no_such_pkg_xyz.algo:apply"))
    assert "not found" in engine.check_binding(Binding("missing.py", FIXTURES))
    msg = engine.check_binding(Binding("no_apply.py", ALGOS))
    assert "no function 'apply'" in msg
    bad = tmp_path / "broken.py"
    bad.write_text("def apply(input)\n    return input\n")
    assert engine.check_binding(Binding(str(bad))).startswith("SyntaxError")
    # and invoking a broken binding answers a LoadingError, it does not raise
    out = run(engine, Binding(str(bad)))
    assert out.error.error_type == "LoadingError"


# ----------------------------------------------------- lifecycle & leaks

def test_reset_and_shutdown_leave_no_processes(tmp_path):
    eng = Engine(scale=0)
    prof = Profile("two", warm_slots=2)
    gate = Gate(tmp_path)
    results: list = []
    threads = [_call_in_thread(eng, results, Gate.file, jbody(gate.input()), base=str(gate.folder), profile=prof,
                               key=k)
               for k in ("a", "a", "b")]
    assert until(lambda: eng.stats()["busy"] == 3)                      # three workers: "a" twice, side by side
    gate.open()
    for t in threads:
        t.join(30)
    pids = [pid for p in eng.stats()["pools"].values() for pid in p["pids"]]
    assert len(pids) == 3 and all(pid_alive(p) for p in pids)
    all_pids = set(pids)
    eng.reset()
    assert eng.stats()["workers"] == 0 and eng.stats()["processes"] == 0
    assert until(lambda: not any(pid_alive(p) for p in pids))
    # usable after reset; a call in flight during shutdown is aborted
    assert run(eng, "greeter.py", b'"x"', base=FIXTURES, key="a").result == "Hello x"
    results.clear()
    t = _call_in_thread(eng, results, "slow.py", b"5", base=FIXTURES, key="c")
    assert until(lambda: eng.stats()["pools"].get("c", {}).get("pids"))      # its worker runs
    pids = [pid for p in eng.stats()["pools"].values() for pid in p["pids"]]
    all_pids.update(pids)
    eng.shutdown()
    t.join(5)
    assert "aborted" in results[0].error.message
    assert until(lambda: not any(pid_alive(p) for p in pids))
    assert not any(pid_alive(p) for p in all_pids)
    with pytest.raises(EngineClosed):
        run(eng, "greeter.py", base=FIXTURES)


# ------------------------------------------------------------ performance

def test_ipc_overhead_is_small(engine):
    """Loose: prints p50 latency of a no-op call in both modes (no assertion on time)."""
    lat = {}
    for mode in MODES:
        key = f"perf/{mode}"
        run(engine, "noop.py", b"1", mode=mode, key=key)
        samples = []
        for _ in range(300):
            t0 = time.perf_counter()
            out = run(engine, "noop.py", b"1", mode=mode, key=key)
            samples.append(time.perf_counter() - t0)
            assert out.result == 1
        lat[mode] = statistics.median(samples)
    print(f"\nno-op p50: process {lat['process'] * 1e6:.0f} us, inprocess {lat['inprocess'] * 1e6:.0f} us, "
          f"process overhead {(lat['process'] - lat['inprocess']) * 1e6:+.0f} us")


def test_stack_trace_shows_only_the_algorithms_frames(tmp_path):
    """Chained exceptions and import failures too: no frame of the mock's runtime or importlib."""
    from mockserver.runtime.binding import Binding
    from mockserver.runtime.executor import execute, prepare
    (tmp_path / "chained.py").write_text(
        "def helper(x):\n    return {}[x]\n\n"
        "def apply(x):\n    try:\n        helper(x)\n    except KeyError as exc:\n"
        "        raise ValueError('wrapped') from exc\n")
    (tmp_path / "broken.py").write_text("import no_such_module_here\n\ndef apply(x):\n    return x\n")
    ok, _, err, _, _, _ = execute(prepare(Binding(str(tmp_path / "chained.py") + ":apply")), "k")
    trace = err.stacktrace
    assert not ok and "chained.py" in trace and "in helper" in trace and "KeyError" in trace and "ValueError" in trace
    assert "direct cause" in trace
    ok, _, err, _, _, _ = execute(prepare(Binding(str(tmp_path / "broken.py") + ":apply")), "k")
    trace = err.stacktrace
    assert not ok and err.error_type == "LoadingError" and "broken.py" in trace and "no_such_module_here" in trace
    for ours in ("executor.py", "binding.py", "mockserver/runtime", "<frozen importlib"):
        assert ours not in trace, trace

"""The worker process itself: where the algorithm's code runs (process mode).

Started by :class:`~mockserver.runtime.worker.ProcessWorker` as a fresh interpreter
(``python -c`` running :func:`child_main`), holding one end of a socket pair. Its life:

1. the environment is the one the server passed to Popen; the first message is the spec,
2. fd 1 and fd 2 become a pipe drained by a thread (:class:`.output_drain.OutputDrain`),
3. it becomes a child subreaper and watches its socket: when the server goes away (even
   mid-call) it kills its process tree and exits,
4. the memory limit: ``RLIMIT_AS = <address space at worker start> + profile.memory_mb``.
   Exceeding it raises MemoryError inside the worker -> "OutOfMemoryError", the worker is
   replaced; the server process is never affected. Untrusted code also gets a file size limit
   (``RLIMIT_FSIZE``, :mod:`.workdirs`),
5. import the binding and run ``load()`` once (:mod:`.executor`; errors are kept and answered
   to every call, like the ADK, until the worker is replaced). The ``ready`` message also
   reports what of the set-up failed (steps 3 and 4), for the server to log. A *checker*
   (``check_only``) only imports and resolves targets, one after another,
6. serve calls serially until told to stop, its socket closes, it crashes, or it is killed
   with its whole process tree (:mod:`.procs`) on timeout, cancel, reset or shutdown.

Messages are pickled (:data:`.framing.PROTOCOL`) and framed by :mod:`.framing`.
This module is imported by every worker process: keep its imports light.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import sys
from typing import Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime import hardening, placement, procs, traces
from mockserver.runtime.context import InvocationContext, reset_current, set_current
from mockserver.runtime.errors import BindingError, call_error
from mockserver.runtime.executor import execute, prepare
from mockserver.runtime.framing import PROTOCOL, FramedSocket
from mockserver.runtime.output_drain import OutputDrain, start_thread

_dumps = pickle.dumps
_loads = pickle.loads
_TRACE_CAP = 16384           # characters of an import check's traceback kept


def _watch_server(sock: socket.socket) -> None:
    """Block until the server's end of the socket is gone, then take the tree down."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP)
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        if events:
            break
    for child in procs.descendants(os.getpid()):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass                      # already gone
    os._exit(0)


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass                          # no /proc: assume a small interpreter
    return 64 << 20


def _set_memory_limit(memory_mb: int) -> Optional[str]:
    """Cap the address space; None when done, else why not (reported to the server)."""
    try:
        import resource
    except ImportError:
        return "no memory limit: the resource module is not available on this platform"
    limit = _address_space_bytes() + int(memory_mb) * (1 << 20)
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        return None
    except (ValueError, OSError) as exc:
        return f"no memory limit: setrlimit(RLIMIT_AS) failed: {exc}"


def _set_file_limit(max_bytes: Optional[int]) -> Optional[str]:
    """Untrusted code: no file it writes may grow past ``max_bytes`` (RLIMIT_FSIZE, soft and hard;
    a write past it fails with EFBIG, as Python ignores SIGXFSZ). None when done or not asked."""
    if not max_bytes:
        return None
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(max_bytes), int(max_bytes)))
        return None
    except (ImportError, ValueError, OSError) as exc:
        return f"no file size limit: setrlimit(RLIMIT_FSIZE) failed: {exc}"


def _check_message(exc: BaseException) -> str:
    if isinstance(exc, BindingError):
        return exc.message
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({os.path.basename(exc.filename or '?')}, line {exc.lineno})"
    if isinstance(exc, SystemExit):
        return f"the code called sys.exit({exc.code!r}) while being imported"
    return f"{type(exc).__name__}: {exc}"


def _serve_checks(conn: FramedSocket, target: str) -> None:
    """A checker: import and resolve one target after another (``("check", target)``), answer
    each with ``("checked", problem_or_None, traceback_or_None)``. The server replaces it if a
    check crashes or hangs."""
    while True:
        binding = _binding.Binding(hardening.reachable_target(target))
        try:
            _binding.load_binding(binding, register=binding.parse()[0] != "file")
            problem = trace = None
        except BaseException as exc:      # noqa: BLE001 - report whatever the import raised
            problem = _check_message(exc)
            # the algorithm's frames only, at the platform's paths (traces.py; loaded on failure only)
            trace = traces.format_exception(exc, traces.Paths.for_target(binding.target))[-_TRACE_CAP:]
        try:
            conn.send(_dumps(("checked", problem, trace), PROTOCOL))
            msg = _loads(conn.recv())
        except Exception:                 # noqa: BLE001 - the server went away: nothing to answer
            break
        if msg[0] != "check":
            break
        target = msg[1]
    os._exit(0)


def _load(spec: dict, base_env: dict):
    binding = _binding.Binding(spec["target"], spec.get("base_dir"))
    module_name = None
    kind, location, _ = binding.parse()
    ctx = InvocationContext(spec["key"], spec["profile"], spec["processor"], "process", dict(base_env))
    token = set_current(ctx)
    try:
        if kind == "callable" and spec.get("callable_blob") is not None:
            try:
                _binding.register_blob(location, spec["callable_blob"])
            except BaseException:         # noqa: BLE001 - prepare() then reports "no callable registered"
                pass
        if kind == "file":
            stem = os.path.splitext(os.path.basename(location))[0]
            if stem.isidentifier() and stem not in sys.modules:
                module_name = stem
        return ctx, prepare(binding, module_name=module_name, prepend_path=True)
    finally:
        reset_current(token)


def child_main(fd: int) -> None:
    """Entry point of a worker process (see ``worker._BOOT``)."""
    inspection = hardening.inspection_problem()     # first: no other process of its user reads it
    sock = socket.socket(fileno=fd)
    conn = FramedSocket(sock)
    try:
        spec = _loads(conn.recv())
    except Exception:                     # noqa: BLE001 - no spec: exit code 3 tells the server
        os._exit(3)
    # First, before its threads start: off the server's one CPU, onto the others it could use.
    setup_problems = [p for p in (placement.release(spec.get("cpus")), inspection, procs.become_subreaper()) if p]
    drain = OutputDrain(int(spec.get("stdout_cap") or (1 << 20)))
    start_thread(_watch_server, "server-watch", sock)
    for p in reversed(spec.get("sys_path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    base_env: dict = spec.get("env") or {}
    setup_problems += [p for p in (_set_memory_limit(spec["memory_mb"]),
                                   _set_file_limit(spec.get("max_file_bytes"))) if p]
    if spec.get("run_as"):                # untrusted code: its own user from here on (isolation.py)
        hardening.become(*spec["run_as"])
        spec["target"] = hardening.reachable_target(spec["target"])
    if spec.get("check_only"):
        _serve_checks(conn, spec["target"])
    ctx, loaded = _load(spec, base_env)
    try:
        conn.send(_dumps(("ready", os.getpid(), loaded.load_time, loaded.load_error, setup_problems), PROTOCOL))
    except Exception:                     # noqa: BLE001 - the server went away
        os._exit(3)
    _serve_calls(conn, spec, base_env, ctx, loaded, drain)
    os._exit(0)


def _serve_calls(conn: FramedSocket, spec: dict, base_env: dict, ctx: InvocationContext, loaded,
                 drain: OutputDrain) -> None:
    me = os.getpid()
    applied_keys: set = set()
    # After a reply the worker sleeps in recv() at once. (It used to look for the next message for
    # 1 ms first, to spare a halted vCPU's wake-up; since the server runs on one CPU of its own,
    # that spinning only took the CPU the clients and other workers need: docs/speed.md, "Phase G".)
    while True:
        try:
            data = conn.recv()
        except (EOFError, OSError):
            return
        msg = _loads(data)
        if msg[0] == "stop":
            return
        _, want_stdout, new_env, value = msg
        if new_env is not None:
            # restore what the previous call's env overrode, then apply the new one
            for name in applied_keys - set(new_env):
                if name in base_env:
                    os.environ[name] = base_env[name]
                else:
                    os.environ.pop(name, None)
            os.environ.update(new_env)
            applied_keys = set(new_env)
            ctx = InvocationContext(spec["key"], spec["profile"], spec["processor"], "process",
                                    {**base_env, **new_env})
        drain.begin(want_stdout)
        token = set_current(ctx)
        try:
            executed = execute(loaded, value)
        finally:
            reset_current(token)
        if os.getpid() != me:            # a fork of the algorithm returned from apply(): not ours
            os._exit(0)
        value = None
        out = drain.end()
        restart = executed.restart
        try:
            # Executed's fields as a plain tuple, its stdout the drain's: unpickling a NamedTuple
            # looks its class up by name on every reply (the server rebuilds it: worker.py).
            reply = _dumps((executed.ok, executed.content_type, executed.payload, executed.run_time, restart, out),
                           PROTOCOL)
        except Exception as exc:         # noqa: BLE001 - e.g. MemoryError while pickling a huge result
            failed = call_error(f"Failed to return the algorithm result: {exc!r}")
            reply, restart = _dumps((False, "void", failed, executed.run_time, True, out), PROTOCOL), True
        executed = None
        try:
            conn.send(reply)
        except Exception:                # noqa: BLE001 - the server went away
            return
        if restart:
            return

"""Warm worker processes ("process" mode).

One worker = one OS process started with ``subprocess.Popen([sys.executable, "-c", ...])`` in
its own session (``start_new_session``), holding one end of a socket pair (``pass_fds``).
Messages are pickled with protocol 5 and framed by :mod:`.framing` (one send per message,
one receive for a small reply, the reply timeout in the kernel): no per-call process
creation. No multiprocessing: the child is a fresh interpreter that imports only this
runtime, never the server's ``__main__``.

Worker process life:

1. the environment is the one the server passed to Popen (the profile's variables, GPU
   variables only where the profile sets them, the server's MOCKSERVER_* / ALGORITHMIA_*
   variables removed); the first message is the spec,
2. fd 1 and fd 2 become a pipe drained by a thread of the worker (:class:`OutputDrain`):
   kept, capped, for calls that asked for stdout, else dropped, and never in the server's log,
3. the worker becomes a child subreaper and watches its socket: when the server goes away
   (even mid-call) it kills its process tree and exits,
4. the memory limit: ``RLIMIT_AS = <address space at worker start> + profile.memory_mb``.
   Exceeding it raises MemoryError inside the worker -> error_type "OutOfMemoryError", the
   worker is replaced; the server process is never affected,
5. import the binding and run ``load()`` once (errors are kept and answered to every call,
   like the ADK, until the worker is replaced); a *check* worker only imports and resolves
   the binding, answers, and exits (``check_only``),
6. serve calls serially until told to stop, its socket closes, it crashes, or it is killed
   with its whole process tree (:mod:`.procs`) on timeout, cancel, reset or shutdown.

This module is imported by every worker process: keep its imports light.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
from typing import Any, Optional

from mockserver.runtime import binding as _binding
from mockserver.runtime import hardening, procs
from mockserver.runtime.context import InvocationContext, reset_current, set_current
from mockserver.runtime.errors import LOADING_ERROR, BindingError, StopReason, aborted_error, call_error
from mockserver.runtime.executor import execute, prepare
from mockserver.runtime.framing import FramedSocket, Timeout

PROTOCOL = 5
_dumps = pickle.dumps
_loads = pickle.loads
CANCEL_POLL_S = 0.2          # how often a call that can be cancelled looks at its event
_TRACE_CAP = 16384           # characters of an import check's traceback kept
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOT = ("import sys; sys.path.insert(0, sys.argv[2]); "
         "from mockserver.runtime.worker import child_main; child_main(int(sys.argv[1]))")


# ----------------------------------------------------------------- child side

class OutputDrain:
    """fd 1 and fd 2 of the worker (and of everything it starts) are one pipe, read by a
    thread. A call that wants stdout gets what was written between its start and its end
    (capped); otherwise output is dropped. The boundaries are exact: a sync token written
    to the pipe marks them, and the thread says when it has read up to it."""

    def __init__(self, cap: int):
        self.cap = cap
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        self._w = write_end                  # our own copy: the algorithm may replace fd 1
        self._r = read_end
        self._token = b"\0mockserver-sync-" + os.urandom(8).hex().encode() + b"\0"
        self._lock = threading.Lock()
        self._synced = threading.Semaphore(0)
        self._keep = False
        self._buf = bytearray()
        self._dropped = 0
        _start_thread(self._run, "output-drain")

    def _take(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if not self._keep:
                return
            room = self.cap - len(self._buf)
            if room > 0:
                self._buf += data[:room]
            self._dropped += max(0, len(data) - max(room, 0))

    def _run(self) -> None:
        token, tail = self._token, b""
        while True:
            try:
                data = os.read(self._r, 65536)
            except OSError:
                return
            if not data:
                return
            data = tail + data
            tail = b""
            while True:
                i = data.find(token)
                if i < 0:
                    break
                self._take(data[:i])
                data = data[i + len(token):]
                self._synced.release()
            j = data.rfind(b"\0", max(0, len(data) - len(token) + 1))
            if j >= 0 and token.startswith(data[j:]):
                data, tail = data[:j], data[j:]     # maybe the start of a token
            self._take(data)

    def _sync(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            os.write(self._w, self._token)
        except OSError:
            return
        self._synced.acquire(timeout=5)

    def begin(self, keep: bool) -> None:
        if keep:
            self._sync()                      # what earlier calls wrote is not this call's
        with self._lock:
            self._keep = keep
            self._buf = bytearray()
            self._dropped = 0

    def end(self) -> Optional[str]:
        if not self._keep:
            return None
        self._sync()
        with self._lock:
            self._keep = False
            text = self._buf.decode("utf-8", "replace")
            dropped, self._buf = self._dropped, bytearray()
        if dropped:
            text += f"\n[stdout truncated: {dropped} more bytes not shown]\n"
        return text


def _start_thread(target, name: str, *args) -> None:
    old = threading.stack_size(256 * 1024)      # small stacks: they count against RLIMIT_AS
    try:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
    finally:
        threading.stack_size(old)


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
            pass
    os._exit(0)


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 64 << 20


def _set_memory_limit(memory_mb: int) -> Optional[int]:
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    limit = _address_space_bytes() + int(memory_mb) * (1 << 20)
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        return limit
    except (ValueError, OSError):
        return None


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
        binding = _binding.Binding(target)
        try:
            _binding.load_binding(binding, register=binding.parse()[0] != "file")
            problem = trace = None
        except BaseException as exc:      # noqa: BLE001 - report whatever the import raised
            problem = _check_message(exc)
            import traceback              # only when an import failed: workers stay light
            trace = "".join(traceback.format_exception(exc))[-_TRACE_CAP:]
        try:
            conn.send(_dumps(("checked", problem, trace), PROTOCOL))
            msg = _loads(conn.recv())
        except Exception:
            break
        if msg[0] != "check":
            break
        target = msg[1]
    os._exit(0)


def child_main(fd: int) -> None:
    """Entry point of a worker process (see ``_BOOT``)."""
    hardening.forbid_inspection()         # no other process of this user reads our secrets
    sock = socket.socket(fileno=fd)
    conn = FramedSocket(sock)
    try:
        spec = _loads(conn.recv())
    except Exception:
        os._exit(3)
    procs.become_subreaper()
    drain = OutputDrain(int(spec.get("stdout_cap") or (1 << 20)))
    _start_thread(_watch_server, "server-watch", sock)
    for p in reversed(spec.get("sys_path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    base_env: dict = spec.get("env") or {}
    _set_memory_limit(spec["memory_mb"])
    if spec.get("run_as"):                # untrusted code: its own user from here on (isolation.py)
        hardening.become(*spec["run_as"])
        spec["target"] = hardening.reachable_target(spec["target"])

    if spec.get("check_only"):
        _serve_checks(conn, spec["target"])
    binding = _binding.Binding(spec["target"], spec.get("base_dir"))
    module_name = None
    kind, location, _ = binding.parse()
    ctx = InvocationContext(spec["key"], spec["profile"], spec["processor"], "process", dict(base_env))
    token = set_current(ctx)
    try:
        if kind == "callable" and spec.get("callable_blob") is not None:
            try:
                _binding.register_blob(location, spec["callable_blob"])
            except BaseException:
                pass   # prepare() reports "no callable registered"
        if kind == "file":
            stem = os.path.splitext(os.path.basename(location))[0]
            if stem.isidentifier() and stem not in sys.modules:
                module_name = stem
        loaded = prepare(binding, module_name=module_name, prepend_path=True)
    finally:
        reset_current(token)
    try:
        conn.send(_dumps(("ready", os.getpid(), loaded.load_time, loaded.load_error), PROTOCOL))
    except Exception:
        os._exit(3)

    me = os.getpid()
    applied_keys: set = set()
    while True:
        try:
            data = conn.recv()
        except (EOFError, OSError):
            break
        msg = _loads(data)
        if msg[0] == "stop":
            break
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
            ok, ctype, payload, run_time, restart = execute(loaded, value)
        finally:
            reset_current(token)
        if os.getpid() != me:            # a fork of the algorithm returned from apply(): not ours
            os._exit(0)
        value = None
        out = drain.end()
        try:
            reply = _dumps((ok, ctype, payload, run_time, restart, out), PROTOCOL)
        except Exception as exc:  # e.g. MemoryError while pickling a huge result
            reply = _dumps((False, "void", call_error(f"Failed to return the algorithm result: {exc!r}"),
                            run_time, True, out), PROTOCOL)
        payload = None
        try:
            conn.send(reply)
        except Exception:
            break
        if restart:
            break
    os._exit(0)


# ---------------------------------------------------------------- parent side

class WorkerDied(Exception):
    def __init__(self, error: dict, timed_out: bool = False):
        super().__init__(error["message"])
        self.error = error
        self.timed_out = timed_out


def _describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "exited unexpectedly"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited unexpectedly with code {code}"


class ProcessWorker:
    """Parent-side handle of one worker process. Not thread-safe: one call at a
    time (the engine's slots guarantee it); ``kill()`` may come from any thread."""

    mode = "process"

    def __init__(self, spec: dict, env: dict, cwd: Optional[str] = None, identity=None):
        """``identity``: the user to run as (``isolation.Identity``; None: the server's)."""
        self.spec = spec
        self.env = env
        self.cwd = cwd
        self.identity = identity
        self.proc = None                  # subprocess.Popen
        self.conn: Optional[FramedSocket] = None
        self.pid: Optional[int] = None
        self.kill_reason: Optional[StopReason] = None
        self.last_used = time.monotonic()
        self.calls = 0
        self._env_sent: Optional[dict] = None
        self.load_error: Optional[dict] = None
        self._kill_lock = threading.Lock()

    # -- lifecycle
    def spawn(self) -> None:
        """Start the process and send it the spec (does not wait for it)."""
        import subprocess               # the parent's: worker processes never import it
        cwd, code_fds = (self.cwd if self.cwd and os.path.isdir(self.cwd) else None), []
        if self.identity is not None:        # becomes that user at boot (isolation.Identity)
            problem = self.identity.cannot_read(self.spec["target"])
            if problem:
                raise WorkerDied(call_error(problem, LOADING_ERROR))
            run_as, code_fds = self.identity.run_as(self.spec["target"])
            self.spec, cwd = {**self.spec, "run_as": run_as}, self.identity.home
        parent_sock, child_sock = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child_sock.fileno()), _PACKAGE_ROOT],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(child_sock.fileno(), *code_fds), start_new_session=True, env=self.env, cwd=cwd)
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
            for fd in code_fds:
                os.close(fd)
        self.proc, self.conn, self.pid = proc, FramedSocket(parent_sock), proc.pid
        if self.kill_reason is not None:      # reset() while we were starting
            self.kill(self.kill_reason)
        try:
            self.conn.send(_dumps(self.spec, PROTOCOL))
        except OSError:
            pass                              # it died: the first receive says so

    def start(self, timeout: float, cancelled: Optional[threading.Event] = None) -> None:
        """Start the process and wait until load() finished. Raises WorkerDied."""
        self.spawn()
        msg = self._receive(timeout, cancelled, "while starting")
        if msg is None:
            raise WorkerDied(self._death_error("while starting"))
        self.load_error = msg[3]
        self.last_used = time.monotonic()

    def alive(self, probe: bool = True) -> bool:
        """Usable for calls; ``probe=False`` skips asking whether the process still runs
        (for a worker that has just answered a call)."""
        if self.proc is None or self.kill_reason is not None:
            return False
        return not probe or self.proc.poll() is None

    def kill(self, reason: StopReason = StopReason.STOPPED) -> None:
        """Kill the process and everything it started, now (any thread). Does not wait."""
        if self.kill_reason is None:
            self.kill_reason = reason
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with self._kill_lock:
                procs.kill_tree(proc.pid)

    def close(self) -> None:
        """Reap the process and close the socket (owner thread)."""
        proc, conn = self.proc, self.conn
        if proc is not None:
            if proc.poll() is None:
                self.kill(self.kill_reason or StopReason.STOPPED)
            try:
                proc.wait(5)
            except Exception:             # subprocess.TimeoutExpired
                pass
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.kill(StopReason.STOPPED)
        self.close()

    # -- calls
    def call(self, value: Any, want_stdout: bool, env: dict, timeout: float,
             cancelled: Optional[threading.Event] = None):
        """One call: ``(ok, content_type, payload, run_time, restart, stdout)``.
        Raises WorkerDied on crash / timeout / cancel (the worker is then dead)."""
        env_msg = None if env == self._env_sent else env
        try:
            self.conn.send(_dumps(("call", want_stdout, env_msg, value), PROTOCOL))
        except OSError:
            raise WorkerDied(self._death_error()) from None
        self._env_sent = env
        reply = self._receive(timeout, cancelled)
        if reply is None:
            raise WorkerDied(self._death_error())
        self.calls += 1
        return reply

    def _receive(self, timeout: float, cancelled: Optional[threading.Event], when: str = ""):
        """The next message, or None if the worker died. Kills it and raises WorkerDied on
        timeout or when ``cancelled`` is set."""
        conn = self.conn
        suffix = f" ({when})" if when else ""
        try:
            if cancelled is None:
                return _loads(conn.recv(timeout))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout()
                try:
                    return _loads(conn.recv(min(CANCEL_POLL_S, remaining)))
                except Timeout:
                    if cancelled.is_set():
                        self.kill(StopReason.CANCELLED)
                        raise WorkerDied(cancelled_error()) from None
        except Timeout:
            self.kill(StopReason.TIMEOUT)
            raise WorkerDied(call_error(f"Algorithm timed out after {_fmt(timeout)} seconds{suffix}"),
                             timed_out=True) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            return None

    def _death_error(self, when: str = "") -> dict:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(2)
            except Exception:             # subprocess.TimeoutExpired
                code = None
        if self.kill_reason in (StopReason.RESET, StopReason.SHUTDOWN):
            return aborted_error(self.kill_reason)
        if self.kill_reason == StopReason.CANCELLED:
            return cancelled_error()
        msg = f"Algorithm process {_describe_exit(code)}" + (f" {when}" if when else "")
        if code == -signal.SIGKILL and self.kill_reason is None:
            msg += " (possibly out of memory)"
        return call_error(msg)


def cancelled_error() -> dict:
    return call_error("Algorithm call cancelled: the client went away")


class BindingChecker:
    """Imports and resolves binding targets in a worker process of its own (never in the
    server), reused from one check to the next while it stays healthy: a check that crashes,
    exits or outlasts its timeout is reported and the process replaced. Stopped when idle."""

    IDLE_S = 5.0

    def __init__(self):
        self._lock = threading.Lock()
        self._worker: Optional[ProcessWorker] = None
        self._current: Optional[ProcessWorker] = None      # idle or checking: what stop() kills
        self._started_for = None
        self._generation = 0

    def check(self, target: str, env: dict, cwd: Optional[str], sys_path: list, timeout: float,
              identity=None) -> Optional[str]:
        """None if ``target`` imports and has its function, else why not."""
        return self.check_traced(target, env, cwd, sys_path, timeout, identity)[0]

    def check_traced(self, target: str, env: dict, cwd: Optional[str], sys_path: list, timeout: float,
                     identity=None) -> tuple[Optional[str], Optional[str]]:
        """``(problem, traceback)``: both None when ``target`` imports and has its function.
        ``identity``: the user the checker runs as (None: the server's)."""
        problem = identity.cannot_read(target) if identity is not None else None
        if problem:
            return problem, None
        with self._lock:
            worker, started_for = self._worker, (cwd, tuple(sys_path), tuple(sorted(env.items())), identity)
            if worker is not None and (self._started_for != started_for or not worker.alive()):
                worker.stop()
                worker = None
            self._worker = None
            if worker is None:
                spec = {"target": target, "memory_mb": 4096, "sys_path": sys_path, "check_only": True}
                worker = ProcessWorker(spec, env, cwd, identity)
                self._current = worker
                worker.spawn()
            else:
                try:
                    worker.conn.send(_dumps(("check", target), PROTOCOL))
                except OSError:
                    pass                      # it died: the receive says so
            try:
                msg = worker._receive(timeout, None)
            except WorkerDied:
                worker.stop()
                return f"importing it took longer than {_fmt(timeout)} seconds", None
            if msg is None:
                code = worker.proc.wait(2) if worker.proc else None
                worker.stop()
                return f"the process importing it {_describe_exit(code)}", None
            self._worker, self._started_for = worker, started_for
            self._generation += 1
            timer = threading.Timer(self.IDLE_S, self._stop_idle, (self._generation,))
            timer.daemon = True
            timer.start()
            return msg[1], msg[2]

    def _stop_idle(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self.stop_locked()

    def stop(self) -> None:
        """Kill the checker now, even mid-check (that check then reports the kill)."""
        worker = self._current
        if worker is not None:
            worker.kill(StopReason.STOPPED)
        if self._lock.acquire(blocking=False):
            try:
                self.stop_locked()
            finally:
                self._lock.release()

    def stop_locked(self) -> None:
        worker, self._worker, self._current = self._worker, None, None
        if worker is not None:
            worker.stop()


def _fmt(seconds: float) -> str:
    return f"{seconds:g}"

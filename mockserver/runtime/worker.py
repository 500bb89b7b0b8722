"""Warm worker processes ("process" mode).

One worker = one OS process started through multiprocessing's *forkserver*
context (never plain fork: the server is multi-threaded), with one persistent
socket pair. Messages are pickled with protocol 5 and framed by
:mod:`.framing` (one send per message, one receive for a small reply, the reply
timeout in the kernel): no per-call process creation.

Worker process life:

1. apply the profile's environment (env vars; GPU vars only where the profile
   sets them; the server's MOCKSERVER_* variables are removed),
2. set the memory limit: ``RLIMIT_AS = <address space at worker start> +
   profile.memory_mb``. The "baseline allowance" is therefore whatever the
   bare interpreter (plus the preloaded runtime modules, ~20-40 MB of
   address space) already uses when the worker starts; ``memory_mb`` is the
   budget for the algorithm's imports, load() and calls. Exceeding it raises
   MemoryError inside the worker -> error_type "OutOfMemoryError", the worker
   is replaced; the server process is never affected,
3. import the binding and run ``load()`` once (errors are kept and answered
   to every call, like the ADK, until the worker is replaced),
4. serve calls serially until told to stop, its pipe closes, it crashes,
   it is killed on timeout, or its parent dies (PR_SET_PDEATHSIG on Linux).

This module is preloaded into the forkserver: keep its imports light.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.context
import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
from typing import Any, Optional

from . import binding as _binding
from .context import Capture, InvocationContext, reset_current, set_current
from .errors import SYSTEM_ERROR
from .executor import execute, prepare
from .framing import FramedSocket, Timeout

PROTOCOL = 5
_dumps = pickle.dumps
_loads = pickle.loads


# ----------------------------------------------------------------- child side

def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


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


def worker_main(sock: socket.socket, spec: dict) -> None:
    """Entry point of a worker process."""
    conn = FramedSocket(sock)
    _set_parent_death_signal()
    try:
        os.setpgid(0, 0)   # own process group: a kill also reaches the algorithm's subprocesses
    except OSError:
        pass
    for p in reversed(spec.get("sys_path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    for name in spec.get("unset_env", ()):
        os.environ.pop(name, None)
    base_env: dict = spec.get("env") or {}
    os.environ.update(base_env)
    if spec.get("cwd"):
        try:
            os.chdir(spec["cwd"])
        except OSError:
            pass
    _set_memory_limit(spec["memory_mb"])

    discard = Capture(keep=False)
    real_stdout = sys.stdout
    binding = _binding.Binding(spec["target"], spec.get("base_dir"))
    ctx = InvocationContext(spec["key"], spec["profile"], spec["processor"], "process", dict(base_env))
    token = set_current(ctx)
    sys.stdout = discard          # load() output goes to the (simulated) logs
    try:
        module_name = None
        kind, location, _ = binding.parse()
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
        sys.stdout = real_stdout
        reset_current(token)
    try:
        conn.send(_dumps(("ready", os.getpid(), loaded.load_time, loaded.load_error), PROTOCOL))
    except Exception:
        os._exit(3)

    cap = int(spec.get("stdout_cap") or (1 << 20))
    call_env: dict = {}
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
            call_env = {**base_env, **new_env}
            ctx = InvocationContext(spec["key"], spec["profile"], spec["processor"], "process", call_env)
        sink = Capture(cap) if want_stdout else discard
        token = set_current(ctx)
        sys.stdout = sink
        try:
            ok, ctype, payload, run_time, restart = execute(loaded, value)
        finally:
            sys.stdout = real_stdout
            reset_current(token)
        value = None
        out = sink.getvalue() if want_stdout else None
        try:
            reply = _dumps((ok, ctype, payload, run_time, restart, out), PROTOCOL)
        except Exception as exc:  # e.g. MemoryError while pickling a huge result
            reply = _dumps((False, "void", {"message": f"Failed to return the algorithm result: {exc!r}",
                                             "error_type": SYSTEM_ERROR, "stacktrace": ""},
                            run_time, True, out), PROTOCOL)
        payload = None
        try:
            conn.send(reply)
        except Exception:
            break
        if restart:
            break
    try:
        sys.stdout.flush()
    except Exception:
        pass
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


_tls = threading.local()
_patch_lock = threading.Lock()


def _install_main_stripper() -> None:
    """Worker processes must not re-import the server's ``__main__`` (multiprocessing
    does that for spawn/forkserver children: slow, and harmful for scripts without a
    ``if __name__ == "__main__"`` guard). Wrap ``spawn.get_preparation_data`` once so
    that, only while *our* Popen runs in this thread, the main-module entries are
    dropped. Other users of multiprocessing are unaffected."""
    from multiprocessing import spawn
    with _patch_lock:
        if getattr(spawn.get_preparation_data, "_mockserver_wrapped", False):
            return
        original = spawn.get_preparation_data

        def get_preparation_data(name, *args, **kwargs):
            data = original(name, *args, **kwargs)
            if getattr(_tls, "strip_main", False):
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
            return data

        get_preparation_data._mockserver_wrapped = True
        spawn.get_preparation_data = get_preparation_data


def _make_process_class(base):
    class WorkerProcess(base):
        @staticmethod
        def _Popen(process_obj):
            _tls.strip_main = True
            try:
                return base._Popen(process_obj)
            finally:
                _tls.strip_main = False

    WorkerProcess.__name__ = WorkerProcess.__qualname__ = f"{base.__name__}Worker"
    return WorkerProcess


# Module-level (picklable) Process classes for the two start methods we use.
ForkServerProcessWorker = (_make_process_class(multiprocessing.context.ForkServerProcess)
                           if hasattr(multiprocessing.context, "ForkServerProcess") else None)
SpawnProcessWorker = _make_process_class(multiprocessing.context.SpawnProcess)


def worker_process_class(mpctx):
    """A Process class of ``mpctx`` whose children skip the server's __main__."""
    _install_main_stripper()
    if mpctx.get_start_method() == "forkserver":
        return ForkServerProcessWorker
    return SpawnProcessWorker


class ProcessWorker:
    """Parent-side handle of one worker process. Not thread-safe: one call at a
    time (the engine's slots guarantee it); ``kill()`` may come from any thread."""

    mode = "process"

    def __init__(self, mpctx, spec: dict, process_class=None):
        self._mpctx = mpctx
        self._process_class = process_class or mpctx.Process
        self.spec = spec
        self.proc = None
        self.conn = None
        self.pid: Optional[int] = None
        self.kill_reason: Optional[str] = None
        self.last_used = time.monotonic()
        self.calls = 0
        self._env_sent: Optional[dict] = None
        self.load_error: Optional[dict] = None

    # -- lifecycle
    def start(self, timeout: float) -> None:
        """Start the process and wait until load() finished. Raises WorkerDied."""
        parent_sock, child_sock = socket.socketpair()
        proc = self._process_class(target=worker_main, args=(child_sock, self.spec),
                                   name=f"algo-worker:{self.spec['key']}", daemon=False)
        try:
            proc.start()
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
        parent_conn = FramedSocket(parent_sock)
        self.proc, self.conn, self.pid = proc, parent_conn, proc.pid
        # The sentinel turns readable when the process ends. One poll object kept per
        # worker makes alive() a single system call (Process.exitcode builds a selector).
        self._exit_probe = select.poll()
        self._exit_probe.register(proc.sentinel, select.POLLIN)
        if self.kill_reason is not None:      # reset() while we were starting
            proc.kill()
        ready, msg = True, None
        try:
            msg = _loads(parent_conn.recv(timeout))
        except Timeout:
            ready = False
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        if not ready:
            self.kill("timeout")
            self.close()
            raise WorkerDied({"message": f"Algorithm timed out after {_fmt(timeout)} seconds (while starting)",
                              "error_type": SYSTEM_ERROR, "stacktrace": ""}, timed_out=True)
        if msg is None:
            raise WorkerDied(self._death_error("while starting"))
        self.load_error = msg[3]
        self.last_used = time.monotonic()

    def alive(self, probe: bool = True) -> bool:
        """Usable for calls; ``probe=False`` skips asking whether the process still runs
        (for a worker that has just answered a call)."""
        if self.proc is None or self.kill_reason is not None:
            return False
        return not probe or not self._exit_probe.poll(0)

    def kill(self, reason: str = "stopped") -> None:
        """Kill the process now (any thread). Does not wait."""
        if self.kill_reason is None:
            self.kill_reason = reason
        proc = self.proc
        if proc is not None:
            pid = proc.pid
            try:
                if pid and os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
            except (OSError, AttributeError):
                pass
            try:
                proc.kill()
            except Exception:
                pass

    def close(self) -> None:
        """Reap the process and close the pipe (owner thread)."""
        proc, conn = self.proc, self.conn
        if proc is not None:
            if proc.exitcode is None:
                self.kill(self.kill_reason or "stopped")
            try:
                proc.join(5)
                proc.close()
            except Exception:
                pass
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.kill("stopped")
        self.close()

    # -- calls
    def call(self, value: Any, want_stdout: bool, env: dict, timeout: float):
        """One call: ``(ok, content_type, payload, run_time, restart, stdout)``.
        Raises WorkerDied on crash / timeout (the worker is then dead)."""
        env_msg = None if env == self._env_sent else env
        conn = self.conn
        try:
            conn.send(_dumps(("call", want_stdout, env_msg, value), PROTOCOL))
            self._env_sent = env
            reply = _loads(conn.recv(timeout))
        except Timeout:
            self.kill("timeout")
            raise WorkerDied({"message": f"Algorithm timed out after {_fmt(timeout)} seconds",
                              "error_type": SYSTEM_ERROR, "stacktrace": ""}, timed_out=True) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            raise WorkerDied(self._death_error()) from None
        self.calls += 1
        return reply

    def _death_error(self, when: str = "") -> dict:
        proc = self.proc
        code = None
        if proc is not None:
            proc.join(2)
            code = proc.exitcode
        if self.kill_reason == "reset":
            msg = "Algorithm call aborted: the server state was reset"
        elif self.kill_reason == "shutdown":
            msg = "Algorithm call aborted: the server is shutting down"
        else:
            msg = f"Algorithm process {_describe_exit(code)}" + (f" {when}" if when else "")
            if code == -signal.SIGKILL and self.kill_reason is None:
                msg += " (possibly out of memory)"
        return {"message": msg, "error_type": SYSTEM_ERROR, "stacktrace": ""}


def _fmt(seconds: float) -> str:
    return f"{seconds:g}"

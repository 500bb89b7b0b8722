"""What PR_SET_DUMPABLE 0 does, what the worker environment holds, how worker users are chosen.

After ``protect_server_process()`` another process of the same user can no longer read the
process's environ, memory maps or descriptors (status and cmdline stay readable); without it
the same probe reads the secret. What it breaks: unless it is root, the process itself can no
longer open its own /proc/self/environ or maps either (root-owned, mode 0400); it still lists
its own descriptors and reads its status (all the server reads of itself: statm, status). As
root the processes first become one unprivileged user (hardening.become), so "the same user"
is tested, not root's CAP_SYS_PTRACE.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mockserver.runtime import Binding
from mockserver.runtime.childenv import child_environment
from mockserver.runtime.isolation import DEFAULT_UIDS, PACKAGE_ROOT, Isolation, id_known, parse_uid_range

SECRET = "ctl-secret-for-the-dumpable-test"
ROOT = os.geteuid() == 0
SAME_USER = next(uid for uid in reversed(DEFAULT_UIDS) if not id_known(uid)) if ROOT else None

_PRELUDE = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from mockserver.runtime import hardening, isolation
if sys.argv[2] != "-":
    hardening.become(int(sys.argv[2]), int(sys.argv[2]), isolation.INTERPRETER_DIRS)
'''
TARGET = _PRELUDE + r'''
if sys.argv[3] == "protect":
    removed = isolation.protect_server_process()
else:
    removed = []
    hardening._prctl(hardening.PR_SET_DUMPABLE, 1)      # become() (a change of uid) cleared it
try:
    with open("/proc/self/environ", "rb") as fh:
        own_environ = "MOCKSERVER_CONTROL_KEY=" in fh.read().decode("latin-1")
except OSError as exc:
    own_environ = type(exc).__name__
with open("/proc/self/status") as fh:
    own_status = "VmRSS" in fh.read()
print(json.dumps({"removed": removed, "left": sorted(k for k in os.environ if k.startswith("MOCKSERVER_")),
                  "own_environ": own_environ, "own_status": own_status, "own_fds": len(os.listdir("/proc/self/fd")),
                  "dumpable": hardening.is_dumpable()}), flush=True)
time.sleep(60)
'''
PROBE = _PRELUDE + r'''
pid = int(sys.argv[3])
seen = {}
for name in ("environ", "maps", "fd", "status", "cmdline"):
    path = f"/proc/{pid}/{name}"
    try:
        seen[name] = str(os.listdir(path)) if name == "fd" else open(path, "rb").read().decode("latin-1")
    except OSError as exc:
        seen[name] = type(exc).__name__
print(json.dumps(seen))
'''


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    env = {"PATH": os.environ.get("PATH", ""), "MOCKSERVER_CONTROL_KEY": SECRET, "MOCKSERVER_SEED": "1"}
    return subprocess.Popen([sys.executable, "-c", code, PACKAGE_ROOT, str(SAME_USER or "-"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", **kw)


def _inspect(protect: bool) -> tuple[dict, dict]:
    target = _python(TARGET, "protect" if protect else "plain")
    try:
        own = json.loads(target.stdout.readline() or "{}")
        assert own, target.stderr.read()
        probe = _python(PROBE, str(target.pid))
        out, err = probe.communicate(timeout=60)
        assert probe.returncode == 0, err
        return own, json.loads(out)
    finally:
        target.kill()
        target.wait(10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
def test_a_protected_process_is_unreadable_to_its_own_user():
    own, seen = _inspect(protect=True)
    assert own == {"removed": ["MOCKSERVER_CONTROL_KEY", "MOCKSERVER_SEED"], "left": [],
                   "own_environ": "PermissionError", "own_status": True, "own_fds": own["own_fds"],
                   "dumpable": False}
    assert own["own_fds"] >= 3                         # it still lists its own descriptors
    assert seen["environ"] == seen["maps"] == seen["fd"] == "PermissionError"
    assert "State:" in seen["status"] and "-c" in seen["cmdline"]      # what stays readable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
def test_without_the_protection_the_same_probe_reads_the_secret():
    own, seen = _inspect(protect=False)
    assert own["dumpable"] is True and own["left"] == ["MOCKSERVER_CONTROL_KEY", "MOCKSERVER_SEED"]
    assert own["own_environ"] is True
    assert SECRET in seen["environ"] and seen["maps"] != "PermissionError"


# -- the environment of user code ------------------------------------------------------------
SERVER_ENV = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "HTTPS_PROXY": "http://proxy:3128",
              "MOCKSERVER_CONTROL_KEY": "k", "MOCKSERVER_ADMIN_KEY": "a", "ALGORITHMIA_API_KEY": "server's",
              "AWS_SECRET_ACCESS_KEY": "s3cr3t", "OMP_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": "0", "HOME": "/root"}


def test_untrusted_code_gets_only_the_basics_and_the_names_the_operator_lists():
    env = child_environment(trusted=False, source=SERVER_ENV, passthrough=["OMP_NUM_THREADS", "MOCKSERVER_ADMIN_KEY"],
                            drop=["CUDA_VISIBLE_DEVICES"], extra={"ALGORITHMIA_API": "http://mock"})
    assert env == {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "HTTPS_PROXY": "http://proxy:3128",
                   "HOME": "/root", "OMP_NUM_THREADS": "2", "PYTHONDONTWRITEBYTECODE": "1",
                   "ALGORITHMIA_API": "http://mock"}


def test_trusted_code_gets_the_servers_environment_but_never_its_settings():
    env = child_environment(trusted=True, source=SERVER_ENV, home="/w/50000")
    assert "AWS_SECRET_ACCESS_KEY" in env and "CUDA_VISIBLE_DEVICES" in env
    assert not [k for k in env if k.startswith(("MOCKSERVER_", "ALGORITHMIA_"))]
    assert env["HOME"] == env["TMPDIR"] == "/w/50000"


# -- who runs what ---------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [("auto", DEFAULT_UIDS), ("off", None), ("61000-61009", range(61000, 61010))])
def test_the_worker_uids_setting(text, expected):
    assert parse_uid_range(text) == expected


@pytest.mark.parametrize("text", ["", "5-", "9-3", "0-10", "x-y", "auto,off"])
def test_a_bad_worker_uids_setting_is_refused(text):
    with pytest.raises(ValueError):
        parse_uid_range(text)


def test_without_root_every_worker_runs_as_the_server_user():
    isolation = Isolation.from_settings("auto")
    assert isolation.switches_uids is ROOT
    assert Isolation.from_settings("off").identity(Binding("x.py")) is None
    assert isolation.identity(Binding("x.py", trusted=True)) is None           # the plugin's: the server's user
    assert isolation.identity(Binding.template()) is None


@pytest.mark.skipif(not ROOT, reason="uids are switched only by a server running as root (CI runs as root)")
def test_as_root_each_checkout_has_its_own_user_and_http_bindings_share_one():
    isolation = Isolation(DEFAULT_UIDS)
    try:
        bound = isolation.identity(Binding("/a/x.py"))
        assert bound == isolation.identity(Binding("/b/y.py")) and bound.problem is None
        one, two = (isolation.identity(Binding("/c/s.py", checkout=sha)) for sha in ("a" * 40, "b" * 40))
        assert len({bound.uid, one.uid, two.uid}) == 3 and not any(id_known(i.uid) for i in (bound, one, two))
        assert isolation.identity(Binding("/c/s.py", trusted=True, checkout="a" * 40)) == one   # never trusted
        folder = isolation.workdir(Binding("/c/s.py", checkout="a" * 40), one)     # one per process, its uid's
        home = os.stat(folder.path)
        assert (home.st_uid, home.st_mode & 0o777) == (one.uid, 0o700)
        assert os.stat(os.path.dirname(folder.path)).st_mode & 0o777 == 0o711    # others enter, never list
        assert isolation.workdir(Binding("/c/s.py", trusted=True), None) is None   # trusted code keeps the server's
        folder.remove()
        assert not os.path.exists(folder.path)
    finally:
        isolation.close()


@pytest.mark.skipif(not ROOT, reason="uids are switched only by a server running as root (CI runs as root)")
def test_as_root_a_range_of_taken_uids_runs_nothing():
    isolation = Isolation(range(0, 3))             # root, daemon, bin: all known to the user database
    try:
        identity = isolation.identity(Binding("/a/x.py"))
        assert identity.problem and "no free worker uid" in identity.problem
    finally:
        isolation.close()

"""User code gets nothing of the server's (issue 26 item 3), against a live `mockserver`.

The issue's attack: code bound over HTTP (a file under --algorithms-dir), called by the
read-only `bob`, reads /proc/<server pid>/environ for MOCKSERVER_CONTROL_KEY and
MOCKSERVER_ADMIN_KEY and tries GET /_mock/state with them, and reads another algorithm's
closed-source checkout. Everywhere the server process is unreadable (non-dumpable) and its
settings are gone from its environment; as root (CI) workers also run under other uids, so
checkouts of other algorithms are out of reach (the tests that need root skip otherwise).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
import requests

from support.api import ALICE, BOB, DEMO
from support.code import open_to_workers
from support.deploy import auth, call, create, deploy, publish
from support.processes import served

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="workers switch uids only when the server runs as root "
                                "(CI runs as root); docs/security.md says what a same-uid worker can read")

CONTROL = "ctl-" + secrets.token_hex(12)
ADMIN_SECRET = "simEnvAdmin" + secrets.token_hex(9)
MARKER = "CLOSED-SOURCE-" + secrets.token_hex(8)

# What a hostile algorithm tries: the server's /proc entries, its own environment, the control
# API with any key it found, and the checkout of another algorithm (its commit given to it).
ATTACK = r'''
import glob, os, re, urllib.error, urllib.request

def _read(path):
    try:
        with open(path, "rb") as fh:
            return True, fh.read(1 << 16).decode("latin-1")
    except OSError as exc:
        return False, type(exc).__name__

def _memory(pid):
    try:
        with open(f"/proc/{pid}/maps") as fh:
            start = int(fh.readline().split("-")[0], 16)
        with open(f"/proc/{pid}/mem", "rb") as fh:
            fh.seek(start)
            return True, len(fh.read(16))
    except (OSError, ValueError) as exc:
        return False, type(exc).__name__

def _status(url, key):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers={"X-Mock-Control-Key": key}),
                                      timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code

def apply(input):
    server = os.getppid()
    found = {"uid": os.getuid(), "server_uid": os.stat(f"/proc/{server}").st_uid}
    found["environ"] = _read(f"/proc/{server}/environ")
    found["cmdline"] = _read(f"/proc/{server}/cmdline")
    found["memory"] = _memory(server)
    try:
        found["fds"] = True, os.listdir(f"/proc/{server}/fd")
    except OSError as exc:
        found["fds"] = False, type(exc).__name__
    found["own_env"] = sorted(k for k in os.environ if k.startswith(("MOCKSERVER_", "ALGORITHMIA_ADMIN")))
    text = found["environ"][1] + found["cmdline"][1] + "\0".join(f"{k}={v}" for k, v in os.environ.items())
    keys = set(re.findall(r"MOCKSERVER_[A-Z_]*KEY=([^\x00\s]+)", text))
    found["keys_found"] = sorted(keys)
    found["state"] = [_status(os.environ["ALGORITHMIA_API"] + "/_mock/state", key) for key in sorted(keys) or [""]]
    roots = glob.glob(os.path.join(input["tmpdir"], "algorithmia-mock-checkouts-*"))
    found["checkout_roots"] = roots
    found["listing"] = []
    for root in roots:
        try:
            found["listing"].append(os.listdir(root))
        except OSError as exc:
            found["listing"].append(type(exc).__name__)
    found["checkout"] = [_read(os.path.join(root, input["commit"], "src", input["file"])) for root in roots]
    return found
'''

SECRET_ALGO = {"src/Secret.py": f"MARKER = {MARKER!r}\n\ndef apply(input):\n    return 'secret'\n"}


class Server:
    def __init__(self, url: str, pid: int, tmpdir: Path, workdir: Path):
        self.url, self.pid, self.tmpdir, self.workdir = url, pid, tmpdir, workdir

    def control(self, method: str, path: str, body=None) -> requests.Response:
        return requests.request(method, f"{self.url}/_mock/{path}", json=body, timeout=60,
                                headers={"X-Mock-Control-Key": CONTROL, "Content-Type": "application/json"})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    code = open_to_workers(tmp_path_factory.mktemp("algorithms"))
    (code / "attack.py").write_text(ATTACK)
    # The server's TMPDIR, where its checkout cache lives: reachable by everyone, as /tmp is
    # (pytest's own folders are not), so the attack can find the cache and try it.
    tmpdir = open_to_workers(Path(tempfile.mkdtemp(prefix="mock-isolation-")))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmpdir, True)
        url, _port, proc = stack.enter_context(served(MOCKSERVER_CONTROL_KEY=CONTROL, MOCKSERVER_ADMIN_KEY=ADMIN_SECRET, MOCKSERVER_PROFILE_SCALE="0",
                MOCKSERVER_ALGORITHMS_DIRS=str(code), TMPDIR=str(tmpdir)))
        server = Server(url, proc.pid, tmpdir, tmp_path_factory.mktemp("git"))
        # alice's closed-source algorithm, pushed and built: its checkout is in the cache
        server.secret_commit = deploy(url, "alice", "Secret", ALICE, SECRET_ALGO, server.workdir,
                                      control_key=CONTROL)
        create(url, "demo", "Attack", DEMO)
        r = server.control("PUT", "algorithms/demo/Attack/binding", {"target": f"{code / 'attack.py'}:apply"})
        assert r.status_code == 200, r.text
        assert requests.post(f"{url}/v1/algorithms/demo/Attack/compile", headers=auth(DEMO),
                             timeout=60).status_code == 200
        publish(url, "demo", "Attack", DEMO)
        yield server


def attack(server: Server, who: str = BOB, algorithm: str = "demo/Attack") -> dict:
    answer = call(server.url, algorithm, who, {"tmpdir": str(server.tmpdir), "commit": server.secret_commit,
                                               "file": "Secret.py"})
    assert "result" in answer, answer
    return answer["result"]


def test_bound_code_cannot_read_the_servers_environment_memory_or_keys(server):
    found = attack(server)
    assert found["environ"][0] is False, "read /proc/<server>/environ"
    assert found["memory"][0] is False, "read the server's memory"
    assert found["fds"][0] is False, "listed the server's file descriptors"
    assert found["own_env"] == []                          # nothing of the server's settings inherited
    assert found["keys_found"] == []
    assert found["state"] == [401]                         # so the control API stays closed to it
    assert found["cmdline"][0] is True and CONTROL not in found["cmdline"][1]   # readable by design: no key there
    # and the server itself no longer carries them in its environment after start-up
    assert requests.get(f"{server.url}/_mock/state", headers={"X-Mock-Control-Key": CONTROL},
                        timeout=30).status_code == 200


@needs_root
def test_as_root_bound_code_runs_as_another_user_and_cannot_read_a_closed_checkout(server):
    found = attack(server)
    assert found["server_uid"] == 0 and found["uid"] not in (0, os.geteuid())
    assert len(found["checkout_roots"]) == 1
    assert found["listing"] == ["PermissionError"]          # no listing of whose commits are there
    assert found["checkout"] == [[False, "PermissionError"]]


@needs_root
def test_as_root_each_pushed_algorithm_has_its_own_user_and_reads_only_its_own_checkout(server):
    snoop = {"src/Snoop.py": ATTACK}
    commit = deploy(server.url, "demo", "Snoop", DEMO, snoop, server.workdir, control_key=CONTROL)
    from_push = attack(server, DEMO, "demo/Snoop")
    from_binding = attack(server)
    assert from_push["uid"] not in (0, from_binding["uid"])
    assert from_push["checkout"] == [[False, "PermissionError"]]     # alice's commit, not its own
    assert from_push["environ"][0] is False and from_push["state"] == [401]
    own = call(server.url, "demo/Snoop", DEMO, {"tmpdir": str(server.tmpdir), "commit": commit,
                                                "file": "Snoop.py"})["result"]
    assert own["checkout"][0][0] is True                     # its own code it may read
    root = Path(own["checkout_roots"][0])
    secret = root / server.secret_commit
    st = secret.stat()
    assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == 0 and st.st_gid not in (0, from_push["uid"])
    assert stat.S_IMODE(root.stat().st_mode) == 0o711
    assert MARKER in (secret / "src" / "Secret.py").read_text()     # the server still reads it

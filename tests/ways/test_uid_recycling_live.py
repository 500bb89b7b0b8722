"""Issue 26: worker uids are recycled (as root). Each pushed commit that runs gets a uid of
--worker-uids; once its checkouts are gone (here: its algorithm deleted) and nothing of the uid
is left (no process; its files in /tmp removed), the uid goes to the next new commit. With none
free, a push whose head cannot get one is refused (git prints why) and stores nothing. Against
the mockserver command with a range of two uids, bounded in time."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from mockserver.runtime.isolation import id_known
from mockserver.runtime.uidfiles import processes_of
from support import deploy
from support.api import DEMO
from support.git import git, git_env
from support.processes import served

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uids are switched only by a server running as root")

CODE = '''import os, pathlib


def apply(tag):
    left = pathlib.Path("/tmp") / f"mock-recycle-{tag}-{os.getuid()}"
    left.write_text("written by the algorithm, outside its own folder")
    return {"uid": os.getuid(), "left": str(left)}
'''


def free_uids(count: int) -> int:
    """The first of ``count`` consecutive ids no user, group or process has."""
    def free(i: int) -> bool:
        return not id_known(i) and not processes_of(i)
    first = 61000 + int(uuid.uuid4().int % 2000) * 4     # runs side by side (xdist) pick different ranges
    while not all(free(first + k) for k in range(count)):
        first += count
    return first


def can_become(uid: int) -> bool:
    """Whether this machine lets a root process become ``uid`` (a container may refuse setgroups or setuid)."""
    probe = f"import os; os.setgroups([]); os.setgid({uid}); os.setuid({uid})"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30).returncode == 0


def test_the_uid_of_a_deleted_algorithms_commit_goes_to_the_next_commit(tmp_path):
    first = free_uids(2)
    if not can_become(first):
        pytest.skip("this machine refuses a root process the switch to another uid (setgroups/setuid)")
    tag = uuid.uuid4().hex[:8]
    with served(MOCKSERVER_WORKER_UIDS=f"{first}-{first + 1}", MOCKSERVER_PROFILE_SCALE="0") as (url, _port, _proc):
        seen = {}
        for name in ("One", "Two"):          # two commits, the range's two uids
            deploy.deploy(url, "demo", name, DEMO, {f"src/{name}.py": CODE}, tmp_path)
            seen[name] = deploy.call(url, f"demo/{name}", DEMO, tag)["result"]
        assert {seen["One"]["uid"], seen["Two"]["uid"]} == {first, first + 1}
        assert Path(seen["One"]["left"]).exists()

        deploy.create(url, "demo", "Three", DEMO)            # no uid free: the push is refused, nothing stored
        home = tmp_path / "three"
        env = git_env(home, DEMO)
        git("clone", "-q", f"{url}/git/demo/Three.git", cwd=home, env=env)
        repo = home / "Three"
        (repo / "src" / "Three.py").write_text(CODE)
        git("add", "-A", cwd=repo, env=env)
        git("commit", "-qm", "three", cwd=repo, env=env)
        head = git("ls-remote", "origin", "refs/heads/master", cwd=repo, env=env)
        refused = subprocess.run(["git", "push", "-q"], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "no free worker uid" in refused.stderr, refused.stderr
        assert git("ls-remote", "origin", "refs/heads/master", cwd=repo, env=env) == head    # no ref moved
        builds = requests.get(f"{url}/v1/algorithms/demo/Three/builds", headers=deploy.auth(DEMO), timeout=30)
        assert builds.status_code == 200 and builds.json()["results"] == [], builds.text        # no build made

        gone = requests.delete(f"{url}/v1/algorithms/demo/One", headers=deploy.auth(DEMO), timeout=30)
        assert gone.status_code in (200, 204), gone.text
        git("push", "-q", cwd=repo, env=env)                  # One's uid is recycled for Three's commit
        assert not Path(seen["One"]["left"]).exists()        # ...once what it wrote in /tmp was removed
        assert Path(seen["Two"]["left"]).exists()
        commit = git("rev-parse", "HEAD", cwd=repo, env=env)
        build = deploy.wait_build(url, "demo", "Three", commit, DEMO)
        assert build["status"] == "succeeded", deploy.build_logs(url, "demo", "Three", build["build_id"], DEMO)
        deploy.publish(url, "demo", "Three", DEMO)
        three = deploy.call(url, "demo/Three", DEMO, tag)["result"]
        assert three["uid"] == seen["One"]["uid"]
        assert deploy.call(url, "demo/Two", DEMO, tag)["result"]["uid"] == seen["Two"]["uid"]   # untouched
    assert not list(Path("/tmp").glob(f"mock-recycle-{tag}-*"))    # what the uids wrote went when the server stopped

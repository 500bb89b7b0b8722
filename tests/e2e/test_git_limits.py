"""Bounded git storage against a live server with the stock git command (issue 26 item 2): a
zip-bomb push refused without growing the server, a 100 MB model kept on disk, deep and long
trees refused at push (and, planted through the state API, answered with error objects)."""
import base64
import json
import os
import shutil
from pathlib import Path

import pytest
import requests
from dulwich.objects import Blob, Commit, Tree

from support import gitpacks
from support.api import DEMO
from support.git import (builds_of, build_logs, create_algorithm, git_env, head_of, remote_head, sh,
                         wait_build)
from support.processes import served

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
MiB = 1024 * 1024
CONTROL = {"Content-Type": "application/json"}


def memory_mb(pid: int) -> dict[str, int]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def storage_folders(parent: Path) -> tuple[Path, Path]:
    """The server's own folders inside --storage-dir: (large blobs, checkouts); each is made on
    first use (a path that does not exist when it was not)."""
    found = [sorted(parent.glob(f"algorithmia-mock-{kind}-*")) for kind in ("git", "checkouts")]
    assert all(len(paths) <= 1 for paths in found), found
    return tuple(paths[0] if paths else parent / f"(no {kind} folder)"
                 for paths, kind in zip(found, ("git", "checkouts")))


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def clone(url: str, name: str, tmp_path: Path, env: dict) -> Path:
    sh("git", "clone", "-q", f"{url}/git/demo/{name}.git", cwd=tmp_path, env=env)
    return tmp_path / name


def zeros(total: int):
    chunk = bytes(MiB)
    for _ in range(total // MiB):
        yield chunk


def model_bytes(total: int):
    """Reproducible, not trivially compressible: a random 4 KiB block, rotated per MiB."""
    block = os.urandom(4096)
    for i in range(total // MiB):
        turn = (i * 97) % 4096
        yield (block[turn:] + block[:turn]) * 256


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for memory")
def test_a_zip_bomb_push_is_refused_before_it_is_expanded(tmp_path):
    storage = tmp_path / "storage"
    with served(MOCKSERVER_STORAGE_DIR=str(storage)) as (url, _port, proc):
        create_algorithm(url, "Bomb")
        env = git_env(tmp_path, DEMO)
        repo = clone(url, "Bomb", tmp_path, env)
        before_head, builds_before = remote_head(url, "Bomb"), len(builds_of(url, "Bomb"))
        blob = gitpacks.blob_from_stream(repo, zeros(300 * MiB), env)       # ~0.3 MB once packed
        gitpacks.add_blob_to_head(repo, "weights.bin", blob, "a 300 MB file of zeros", env)
        before = memory_mb(proc.pid)
        done = sh("git", "push", cwd=repo, env=env, ok=False, timeout=300)
        after = memory_mb(proc.pid)
        print(f"zip bomb: server RSS {before} -> {after} (MiB)")
        assert done.returncode != 0
        assert "remote unpack failed: push refused: a blob of 314572800 bytes is over the largest-object " \
               "limit of 134217728 bytes (--git-max-blob-mb)" in done.stderr, done.stderr
        assert after["VmHWM"] - before["VmHWM"] < 30, (before, after)        # the peak did not move
        assert remote_head(url, "Bomb") == before_head and len(builds_of(url, "Bomb")) == builds_before
        blobs, checkouts = storage_folders(storage)
        assert files_under(blobs / "blobs") == [] and files_under(blobs / "staging") == []
        assert files_under(checkouts) == []


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for memory")
def test_a_100_mb_model_lives_on_disk_and_out_of_the_state_export(tmp_path):
    storage = tmp_path / "storage"
    with served(MOCKSERVER_STORAGE_DIR=str(storage)) as (url, _port, proc):
        create_algorithm(url, "Model")
        env = git_env(tmp_path, DEMO)
        repo = clone(url, "Model", tmp_path, env)
        blob = gitpacks.blob_from_stream(repo, model_bytes(100 * MiB), env)
        commit = gitpacks.add_blob_to_head(repo, "model.bin", blob, "the model", env)
        before = memory_mb(proc.pid)
        done = sh("git", "push", cwd=repo, env=env, timeout=300)
        after = memory_mb(proc.pid)
        print(f"100 MB model push: server RSS {before} -> {after} (MiB)")
        assert after["VmHWM"] - before["VmHWM"] < 40, (before, after)
        assert "remote: build " in done.stderr and ": succeeded" in done.stderr, done.stderr
        assert wait_build(url, "Model", commit)["status"] == "succeeded"
        blobs, _ = storage_folders(storage)
        assert [p.stat().st_size for p in files_under(blobs / "blobs")] == [100 * MiB]
        exported = requests.get(f"{url}/_mock/state", timeout=60)
        assert len(exported.content) < MiB
        assert exported.json()["repos"]["demo/Model"]["objects"][blob] == [3, None, 100 * MiB]
        again = tmp_path / "again"
        sh("git", "clone", "-q", f"{url}/git/demo/Model.git", str(again), cwd=tmp_path, env=env, timeout=300)
        assert sh("git", "rev-parse", "HEAD:model.bin", cwd=again, env=env).stdout.strip() == blob
        assert (again / "model.bin").stat().st_size == 100 * MiB
    assert not storage.exists() or list(storage.iterdir()) == []        # removed at shutdown


def test_export_names_large_blobs_unless_asked_and_imports_find_them(live_server, tmp_path):
    url, mock = live_server.url, live_server.mock
    create_algorithm(url, "Weights")
    env = git_env(tmp_path, DEMO)
    repo = clone(url, "Weights", tmp_path, env)
    data = os.urandom(2 * MiB)
    (repo / "weights.bin").write_bytes(data)
    sh("git", "add", "weights.bin", cwd=repo, env=env)
    sh("git", "commit", "-qm", "weights", cwd=repo, env=env)
    sh("git", "push", "-q", cwd=repo, env=env)
    blob = Blob.from_string(data).id.decode()
    named = requests.get(f"{url}/_mock/state", timeout=30).json()
    carried = requests.get(f"{url}/_mock/state", params={"large_blobs": "include"}, timeout=30).json()
    assert named["repos"]["demo/Weights"]["objects"][blob] == [3, None, 2 * MiB]
    assert base64.b64decode(carried["repos"]["demo/Weights"]["objects"][blob][1]) == data
    r = requests.get(f"{url}/_mock/state", params={"large_blobs": "some"}, timeout=30)
    assert r.status_code == 400 and "error" in r.json()
    # Reset, then import what named the blob: this server still has its file.
    assert requests.post(f"{url}/_mock/reset", json={}, headers=CONTROL, timeout=30).status_code == 200
    assert requests.put(f"{url}/_mock/state", json=named, headers=CONTROL, timeout=30).status_code == 200
    sh("git", "fetch", "-q", cwd=repo, env=env)
    # Once no state holds it and the storage dropped it, only the export that carries it imports.
    assert requests.post(f"{url}/_mock/reset", json={}, headers=CONTROL, timeout=30).status_code == 200
    mock.storage.blobs.sweep()
    r = requests.put(f"{url}/_mock/state", json=named, headers=CONTROL, timeout=30)
    assert r.status_code == 400 and "large_blobs=include" in r.json()["error"]["message"], r.text
    assert requests.put(f"{url}/_mock/state", json=carried, headers=CONTROL, timeout=30).status_code == 200
    again = tmp_path / "again"
    sh("git", "clone", "-q", f"{url}/git/demo/Weights.git", str(again), cwd=tmp_path, env=env)
    assert (again / "weights.bin").read_bytes() == data


@pytest.mark.parametrize("names,says", [
    ([b"d"] * 2000, "a commit nests folders more than 64 levels deep (--git-max-tree-depth)"),
    ([b"n" * 250] * 20, "a commit holds a path longer than 1024 bytes (--git-max-path-bytes)"),
    ([b"n" * 300], "is 300 bytes long: a file or folder name can have at most 255"),
], ids=["2000 levels", "20 names of 250 bytes", "a 300-byte name"])
def test_deep_or_long_trees_are_refused_at_push(live_server, tmp_path, names, says):
    url, mock = live_server.url, live_server.mock
    create_algorithm(url, "Deep")
    env = git_env(tmp_path, DEMO)
    repo = clone(url, "Deep", tmp_path, env)
    before_head, builds_before = remote_head(url, "Deep"), len(builds_of(url, "Deep"))
    gitpacks.commit_tree_on_head(repo, gitpacks.nested_tree(repo, names), "too deep", env)
    done = sh("git", "push", cwd=repo, env=env, ok=False)
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert "[remote rejected] master -> master" in done.stderr
    assert remote_head(url, "Deep") == before_head and len(builds_of(url, "Deep")) == builds_before
    scope = Path(mock.checkouts.root) / mock.ctx.scope
    assert files_under(scope) == [] and [p for p in scope.rglob("*") if p.name.startswith(".")] == []


def _deep_repository(levels: int) -> tuple[str, dict]:
    """A repository (the state API's form) whose master holds ``levels`` nested folders."""
    blob = Blob.from_string(b"def apply(x):\n    return x\n")
    objects = [blob]
    tree = Tree()
    tree.add(b"Planted.py", 0o100644, blob.id)
    objects.append(tree)
    for _ in range(levels):
        outer = Tree()
        outer.add(b"src", 0o040000, tree.id)
        objects.append(outer)
        tree = outer
    commit = Commit()
    commit.tree, commit.author = tree.id, b"x <x@example.com>"
    commit.committer, commit.author_time, commit.commit_time = commit.author, 0, 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"planted\n"
    objects.append(commit)
    return commit.id.decode(), {"refs": {"refs/heads/master": commit.id.decode()},
                                "objects": {o.id.decode(): [o.type_num, base64.b64encode(o.as_raw_string()).decode()]
                                            for o in objects}}


def test_a_deep_tree_planted_through_the_state_api_gives_error_objects(live_server):
    url = live_server.url
    demo = {"Authorization": f"Simple {DEMO}"}
    create_algorithm(url, "Planted")
    assert requests.post(f"{url}/v1/algorithms/demo/Planted/compile", headers=demo, timeout=30).status_code == 200
    r = requests.post(f"{url}/v1/algorithms/demo/Planted/versions", headers=demo, timeout=30,
                      json={"settings": {"algorithm_callability": "private"},
                            "version_info": {"version_type": "minor"}})
    assert r.status_code == 200, r.text
    state = requests.get(f"{url}/_mock/state", timeout=30).json()
    commit, repo = _deep_repository(2000)
    state["repos"]["demo/Planted"] = repo
    algo = state["algorithms"]["demo/Planted"]
    for build in algo["builds"].values():
        build["commit_sha"] = commit
    algo["versions"][0]["git_hash"] = commit
    assert requests.put(f"{url}/_mock/state", json=state, headers=CONTROL, timeout=60).status_code == 200
    r = requests.post(f"{url}/v1/algo/demo/Planted/0.1.0", json="x", headers=demo, timeout=30)
    assert r.status_code == 409 and "nested 65 levels deep" in r.json()["error"]["message"], r.text
    r = requests.post(f"{url}/v1/algorithms/demo/Planted/compile", headers=demo, timeout=30)
    assert r.status_code == 200 and r.json()["build"]["status"] == "failed", r.text
    logs = build_logs(url, "Planted", r.json()["build"]["build_id"])
    assert "cannot be checked out" in logs and "--git-max-tree-depth" in logs, logs
    scope = Path(live_server.mock.checkouts.root) / live_server.mock.ctx.scope
    assert [p.name for p in scope.rglob(".*")] == []         # no scratch folder left by the failed checkouts


def test_new_repositories_carry_the_platforms_algorithmia_conf(live_server, tmp_path):
    """As the algorithmia-ci GitHub Action reads it (entrypoint.py): json.load, then
    "{username}/{algoname}" is the algorithm it waits for, tests and publishes."""
    url = live_server.url
    create_algorithm(url, "Confed", language="python3-1")
    env = git_env(tmp_path, DEMO)
    repo = clone(url, "Confed", tmp_path, env)
    with live_server.mock.ctx.store.read() as state:
        assert "demo/Confed" not in state.repos         # derived from the algorithm: no git objects written
    with open(f"{repo}/algorithmia.conf") as f:
        config_data = json.load(f)
    assert "{}/{}".format(config_data["username"], config_data["algoname"]) == "demo/Confed"
    assert config_data["language"] == "python3-1" and isinstance(config_data["submitted_at"], int)
    # The untouched template (conf included) still builds and runs as the template.
    commit = head_of(repo, env)
    r = requests.post(f"{url}/v1/algorithms/demo/Confed/compile", headers={"Authorization": f"Simple {DEMO}"},
                      timeout=30)
    assert r.json()["build"]["commit_sha"] == commit
    assert "entrypoint ok (the unchanged template)" in build_logs(url, "Confed", r.json()["build"]["build_id"])
    assert wait_build(url, "Confed", commit)["status"] == "succeeded"

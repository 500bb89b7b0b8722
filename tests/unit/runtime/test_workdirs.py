"""Private bounded folders of untrusted processes (runtime/workdirs.py) and what a worker uid
leaves behind (runtime/uidfiles.py). Fake processes: the folder logic alone."""
from __future__ import annotations

import logging
import os

from mockserver.runtime import workdirs as workdirs_module
from mockserver.runtime.uidfiles import remove_files_of
from mockserver.runtime.workdirs import BLOCK, WorkDirs, folder_bytes


class FakeProcess:
    def __init__(self):
        self.killed = 0

    def kill(self) -> None:
        self.killed += 1


def test_a_flood_of_empty_files_counts_a_block_each(tmp_path):
    workdirs = WorkDirs(str(tmp_path), quota_bytes=10 * BLOCK)
    try:
        folder = workdirs.make()
        for i in range(5):
            open(os.path.join(folder.path, f"empty{i}"), "w").close()
        assert folder_bytes(folder.path) == 5 * BLOCK
        assert folder.check() is None                     # within the bound: nothing happens
        for i in range(5, 12):
            open(os.path.join(folder.path, f"empty{i}"), "w").close()
        assert folder_bytes(folder.path, limit=10 * BLOCK) > 10 * BLOCK
    finally:
        workdirs.close()


def test_past_its_bound_a_folder_kills_its_processes_and_is_emptied(tmp_path):
    workdirs = WorkDirs(str(tmp_path), quota_bytes=64 * 1024)
    folder = workdirs.make()
    process = FakeProcess()
    folder.attach(process)
    os.mkdir(os.path.join(folder.path, "deep"))
    with open(os.path.join(folder.path, "deep", "big"), "wb") as fh:
        fh.write(os.urandom(128 * 1024))
    why = folder.check()
    assert why is not None and "wrote more than 0.0625 MiB" in why and "--worker-disk-mb" in why
    assert process.killed == 1 and os.listdir(folder.path) == []
    assert folder.check() == why and process.killed == 1           # reported once, kept as its reason
    folder.remove()
    assert not os.path.exists(folder.path) and workdirs.live() == []
    root = workdirs.root
    workdirs.close()
    assert not os.path.exists(root)


def test_folders_are_private_and_the_root_is_removed_at_close(tmp_path):
    workdirs = WorkDirs(str(tmp_path), quota_bytes=0)
    first, second = workdirs.make(), workdirs.make()
    assert not workdirs.bounded and first.path != second.path
    assert os.stat(first.path).st_mode & 0o777 == 0o700 and os.stat(workdirs.root).st_mode & 0o777 == 0o700
    assert first.check() is None                                  # no bound: never an overrun
    root = workdirs.root
    workdirs.close()
    assert not os.path.exists(root)


def test_a_root_others_cannot_reach_is_logged(tmp_path, caplog):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    workdirs = WorkDirs(str(closed / "storage"), shared_root=True)
    try:
        with caplog.at_level(logging.WARNING, logger="mockserver.runtime"):
            assert os.stat(workdirs.root).st_mode & 0o777 == 0o711
        assert "cannot enter" in caplog.text and str(closed) in caplog.text
    finally:
        workdirs.close()
    assert workdirs_module._closed_ancestor("/tmp/x") is None     # /tmp and / are open to everyone


def test_remove_files_of_removes_what_the_ids_own_in_one_walk(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)                     # a world-writable folder: walked into only when not theirs
    (tmp_path / "a").write_text("a")
    (shared / "b").write_text("b")
    mine = {os.getuid(), os.getgid()}
    others = {70000, 70001} - mine
    assert remove_files_of(others, [str(tmp_path)]) == 0 and (shared / "b").exists()
    assert remove_files_of([], [str(tmp_path)]) == 0
    assert remove_files_of(mine, [str(tmp_path)]) == 2       # "a", and "shared" with all it holds
    assert list(tmp_path.iterdir()) == []

"""The checkout cache (bounded, least recently used first, nothing half-written) and the
large-blob store (budgeted, files shared by id, unheld files dropped for room)."""
import os
from pathlib import Path

import pytest

from mockserver.domain.blobstore import BlobStore, StoredBlob, blob_hasher, blob_id
from mockserver.domain.gitlimits import GitLimits, RepositoryError
from mockserver.domain.repository import initial
from mockserver.errors import ApiError
from mockserver.runtime.checkouts import CheckoutCache as RuntimeCache
from mockserver.runtime.isolation import Isolation

class CheckoutCache(RuntimeCache):
    """The runtime's cache with the domain's way of writing a checkout (gitbuilds.checkout)."""

    def __init__(self, root: str, budget_bytes: int):
        super().__init__(Isolation(), parent=root, budget_bytes=budget_bytes)

    def checkout(self, scope, algorithm_id, repo, commit, limits=None):
        return self.place(scope, algorithm_id, commit, repo.checkout_size(commit, limits),
                          lambda parent: repo.checkout(commit, os.path.join(parent, commit), limits))


LIMITS = GitLimits(push_bytes=10**6, blob_bytes=10**6, repo_bytes=10**6, tree_depth=3, path_bytes=100)


def repo_of(fill: int, size: int = 1000, path: str = "f"):
    return initial({path: bytes([fill]) * size}, "m", fill)


def test_the_cache_keeps_to_its_budget_least_recently_used_first(tmp_path):
    cache = CheckoutCache(str(tmp_path / "c"), budget_bytes=2500)
    repos = [repo_of(i) for i in range(3)]
    first, fresh = cache.checkout("s", "a0", repos[0], repos[0].head())
    assert fresh and open(os.path.join(first, "f"), "rb").read() == bytes(1000)
    second, _ = cache.checkout("s", "a1", repos[1], repos[1].head())
    assert cache.checkout("s", "a0", repos[0], repos[0].head()) == (first, False)     # reused, and now recent
    third, _ = cache.checkout("s", "a2", repos[2], repos[2].head())
    assert cache.used_bytes() <= 2500
    assert os.path.isdir(first) and os.path.isdir(third) and not os.path.exists(second)
    assert cache.checkout("s", "a1", repos[1], repos[1].head()) == (second, True)     # written again


def test_a_commit_bigger_than_the_whole_cache_is_refused(tmp_path):
    cache = CheckoutCache(str(tmp_path / "c"), budget_bytes=500)
    repo = repo_of(1)
    with pytest.raises(ApiError) as caught:
        cache.checkout("s", "a", repo, repo.head())
    assert caught.value.status == 507 and "--checkout-cache-mb" in caught.value.message
    assert not os.path.exists(cache.folder("s", "a", repo.head()))


def test_a_checkout_that_breaks_a_limit_or_fails_leaves_nothing_behind(tmp_path):
    cache = CheckoutCache(str(tmp_path / "c"), budget_bytes=10**6)
    deep = initial({"a/b/c/d/e.txt": b"x"}, "m", 1)
    with pytest.raises(RepositoryError, match="nested 4 levels deep, over the limit of 3"):
        cache.checkout("s", "a", deep, deep.head(), LIMITS)
    long = initial({"n" * 120: b"x"}, "m", 1)
    with pytest.raises(RepositoryError, match="over the limit of 100"):
        cache.checkout("s", "a", long, long.head(), LIMITS)

    def fails(parent):
        os.makedirs(os.path.join(parent, "half", "written"))
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        cache.place("s", "a", "c" * 40, 10, fails)
    assert list(Path(cache.root).rglob("*")) == []       # no file, no scratch folder, no empty folder
    assert cache.used_bytes() == 0


def test_forget_removes_a_scope_or_the_algorithms_not_kept(tmp_path):
    cache = CheckoutCache(str(tmp_path / "c"), budget_bytes=10**6)
    repo = repo_of(1)
    kept, _ = cache.checkout("one", "kept", repo, repo.head())
    gone, _ = cache.checkout("one", "gone", repo, repo.head())
    other, _ = cache.checkout("two", "x", repo, repo.head())
    cache.forget("one", keep={"kept"})
    assert os.path.isdir(kept) and not os.path.exists(gone) and os.path.isdir(other)
    cache.forget("two")
    assert not os.path.exists(os.path.join(cache.root, "two")) and cache.used_bytes() == 1000


def stage(store: BlobStore, content: bytes) -> StoredBlob:
    folder = store.staging_dir()
    path = os.path.join(folder, "blob")
    with open(path, "wb") as fh:
        fh.write(content)
    hasher = blob_hasher(len(content))
    hasher.update(content)
    return StoredBlob(blob_id(hasher), len(content), path)


def test_the_blob_store_shares_files_by_id_and_keeps_to_its_budget(tmp_path):
    store = BlobStore(str(tmp_path / "s"), budget_bytes=3000)
    one = store.adopt([stage(store, b"1" * 1000)])
    (held,) = one.values()
    assert store.adopt([stage(store, b"1" * 1000)])[held.id] is held and store.used_bytes() == 1000
    two = store.adopt([stage(store, b"2" * 1500)])
    with pytest.raises(ApiError) as caught:
        store.adopt([stage(store, b"3" * 1000)])
    assert caught.value.status == 507 and "--git-storage-mb" in caught.value.message
    del two                                          # nobody holds the 1500 bytes any more: room is made
    third = store.adopt([stage(store, b"3" * 1000)])
    assert store.used_bytes() == 2000 and held.read() == b"1" * 1000 and third
    assert store.get(held.id) is held and store.put_bytes(b"1" * 1000) is held

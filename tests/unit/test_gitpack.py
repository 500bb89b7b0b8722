"""Reading pushed packs within the limits (domain/gitpack.py), on packs made by hand."""
import io
import os

import pytest
from dulwich.objects import Blob, Tree

from mockserver.domain.blobstore import INLINE_MAX, StoredBlob
from mockserver.domain.gitlimits import GitLimits
from mockserver.domain.gitpack import PackRefused, read_pack
from support import gitpacks as gp

MiB = 1024 * 1024
LIMITS = GitLimits(push_bytes=64 * MiB, blob_bytes=16 * MiB, repo_bytes=128 * MiB, tree_depth=8, path_bytes=200)


def read(data: bytes, tmp_path, *, limits=LIMITS, existing=None, inline=8 * MiB):
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    return read_pack(io.BytesIO(data), limits=limits, staging=str(staging), inline_bytes=inline,
                     existing=existing or (lambda sha: None)).objects


def content(obj) -> bytes:
    return obj.read() if isinstance(obj, StoredBlob) else obj.as_raw_string()


def test_whole_objects_come_back_with_their_ids(tmp_path):
    blob = Blob.from_string(b"def apply(x):\n    return x\n")
    tree = Tree()
    tree.add(b"a.py", 0o100644, blob.id)
    objects = read(gp.pack([gp.whole(gp.BLOB, blob.as_raw_string()), gp.whole(gp.TREE, tree.as_raw_string())]),
                   tmp_path)
    assert set(objects) == {blob.id, tree.id}
    assert objects[blob.id].as_raw_string() == blob.as_raw_string()
    assert list(objects[tree.id].items())[0].path == b"a.py"


def test_a_large_blob_is_written_to_the_staging_folder_not_kept_in_memory(tmp_path):
    data = os.urandom(INLINE_MAX + 1000)
    objects = read(gp.pack([gp.whole(gp.BLOB, data)]), tmp_path)
    (obj,) = objects.values()
    assert isinstance(obj, StoredBlob) and obj.id == gp.blob_id(data) and obj.size == len(data)
    assert obj.read() == data and os.path.dirname(obj.path) == str(tmp_path / "staging")


def test_past_the_inline_share_even_small_blobs_go_to_disk(tmp_path):
    small = [os.urandom(1000) for _ in range(3)]
    objects = read(gp.pack([gp.whole(gp.BLOB, b) for b in small]), tmp_path, inline=1500)
    kinds = sorted(type(o).__name__ for o in objects.values())
    assert kinds == ["Blob", "StoredBlob", "StoredBlob"]
    assert {content(o) for o in objects.values()} == set(small)


def test_a_zip_bomb_is_refused_from_its_header_before_it_is_inflated(tmp_path):
    bomb = gp.pack([gp.zeros_entry(300 * MiB)])              # ~300 KB of pack
    assert len(bomb) < 1 * MiB
    with pytest.raises(PackRefused, match="over the largest-object limit of 16777216 bytes"):
        read(bomb, tmp_path)
    assert os.listdir(tmp_path / "staging") == []


def test_an_object_that_inflates_past_its_declared_size_is_refused_as_it_inflates(tmp_path):
    liar = gp.pack([gp.zeros_entry(20 * MiB, declared=10)])
    with pytest.raises(PackRefused, match="inflates past the 10 bytes its header declares"):
        read(liar, tmp_path)


def test_an_object_shorter_than_declared_is_refused(tmp_path):
    with pytest.raises(PackRefused, match="inflates to 3 bytes, not the 5"):
        read(gp.pack([gp.whole(gp.BLOB, b"abc", declared=5)]), tmp_path)


def test_the_push_limit_counts_every_object(tmp_path):
    limits = GitLimits(push_bytes=3 * MiB, blob_bytes=2 * MiB, repo_bytes=MiB, tree_depth=8, path_bytes=200)
    entries = [gp.zeros_entry(MiB - i) for i in range(4)]
    with pytest.raises(PackRefused, match="expands to more than 3145728 bytes"):
        read(gp.pack(entries), tmp_path, limits=limits)


def test_deltas_in_the_pack_and_against_the_repository(tmp_path):
    base = b"line\n" * 100
    target = base + b"one more\n"
    again = target + b"and another\n"
    base_id = gp.blob_id(base)
    entries = [gp.whole(gp.BLOB, base)]
    entries.append(gp.ofs_delta(len(entries[0]), gp.delta(base, target, copy_prefix=len(base))))
    objects = read(gp.pack(entries), tmp_path)
    assert {content(o) for o in objects.values()} == {base, target}
    # A thin pack: the base is only in the repository pushed to.
    stored = Blob.from_string(target)
    thin = gp.pack([gp.ref_delta(stored.id, gp.delta(target, again, copy_prefix=len(target)))])
    objects = read(thin, tmp_path, existing={stored.id: stored}.get)
    assert [content(o) for o in objects.values()] == [again] and base_id not in objects


def test_a_delta_against_a_large_blob_is_rebuilt_on_disk(tmp_path):
    base = os.urandom(3 * INLINE_MAX)
    target = base + b"tail"
    entries = [gp.whole(gp.BLOB, base)]
    entries.append(gp.ofs_delta(len(entries[0]), gp.delta(base, target, copy_prefix=len(base))))
    objects = read(gp.pack(entries), tmp_path)
    rebuilt = objects[gp.blob_id(target)]
    assert isinstance(rebuilt, StoredBlob) and rebuilt.read() == target


def test_deltas_whose_bases_come_later_resolve_in_one_pass_each(tmp_path):
    texts = [b"v%d\n" % i * 50 for i in range(200)]
    first = gp.whole(gp.BLOB, texts[0])
    # A chain of REF_DELTAs, written newest first: each names a base further down the pack.
    chain = [gp.ref_delta(gp.blob_id(texts[i - 1]), gp.delta(texts[i - 1], texts[i])) for i in range(199, 0, -1)]
    objects = read(gp.pack(chain + [first]), tmp_path)
    assert {content(o) for o in objects.values()} == set(texts)


@pytest.mark.parametrize("entries,why", [
    ([gp.ref_delta(b"1" * 40, gp.delta(b"abc", b"abcd"))], "neither in the pack nor in the repository"),
    ([gp.whole(gp.BLOB, b"abc"), gp.ofs_delta(999, gp.delta(b"abc", b"x"))], "points outside the pack"),
    ([gp.whole(gp.BLOB, b"abc"), gp.ofs_delta(len(gp.whole(gp.BLOB, b"abc")), gp.delta(b"abcdef", b"x"))],
     "base of another size"),
    ([gp.whole(5, b"x")], "unknown object type 5"),
    ([gp.whole(gp.TREE, b"not a tree")], "is malformed"),
])
def test_malformed_packs_are_refused_with_a_reason(tmp_path, entries, why):
    with pytest.raises(PackRefused, match=why):
        read(gp.pack(entries), tmp_path)


def test_a_damaged_pack_is_refused(tmp_path):
    data = bytearray(gp.pack([gp.whole(gp.BLOB, b"hello")]))
    data[14] ^= 0xFF
    with pytest.raises(PackRefused, match="checksum"):
        read(bytes(data), tmp_path)
    with pytest.raises(PackRefused, match="truncated"):
        read(b"PACK", tmp_path)

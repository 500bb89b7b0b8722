"""Reading a pushed pack with bounded memory, refusing it as soon as it breaks a limit.

A pack is checked before anything in it is expanded: each object's header declares its
inflated size (a delta's header its result's), and those sizes are counted against the
push and blob limits before the object is inflated. Inflating then runs in 64 KiB steps,
and an object that inflates past what it declared is refused on the spot, so a small pack
of a huge run of zeros costs neither memory nor time. Blobs over ``INLINE_MAX`` are
inflated (or rebuilt from their delta) straight into files of a staging folder while they
are hashed; everything else is small and kept in memory.

The format (git's Documentation/gitformat-pack.txt): "PACK", version 2 or 3, an object
count, then each object as a type-and-size header, a delta base (an offset back into the
pack, or an object id) for deltas, and zlib data; a SHA-1 of all that ends the file.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO, Callable

from dulwich.objects import ShaFile

from mockserver.domain.blobstore import StoredBlob
from mockserver.domain.gitlimits import OBJECT_OVERHEAD, GitLimits
from mockserver.domain.packstream import (TYPE_NAMES, DeltaBase, DeltaStream, InlineShare, ObjectSink, PackRefused,
                                          PackSource)

OFS_DELTA, REF_DELTA = 6, 7
_READ = 256 * 1024


@dataclass
class Unpacked:
    """A pack's objects: small ones parsed, large blobs as files of the staging folder."""
    objects: dict[bytes, ShaFile | StoredBlob]
    expanded: int                  # what the push counted against --git-max-push-mb


@dataclass
class _Entry:
    offset: int
    type_num: int                  # 1-4 for whole objects; the base's type once a delta is resolved
    size: int                      # inflated size (of the result, for a delta)
    data_offset: int = 0           # where a delta's zlib data starts
    delta_size: int = 0
    base_offset: int | None = None
    base_id: bytes | None = None
    sha: bytes | None = None       # hex, once known
    content: bytes | None = None   # small objects
    path: str | None = None        # large blobs


def read_pack(fh: BinaryIO, *, limits: GitLimits, staging: str, inline_bytes: int,
              existing: Callable[[bytes], ShaFile | StoredBlob | None]) -> Unpacked:
    """The objects of the pack in ``fh`` (a seekable file), or PackRefused. ``existing``
    finds a thin pack's delta bases in the repository pushed to; large blobs, and blobs past
    ``inline_bytes`` in all, are written into the folder ``staging``."""
    _check_trailer(fh)
    source = PackSource(fh, 0)
    if source.read(4) != b"PACK":
        raise PackRefused("not a git pack")
    version = int.from_bytes(source.read(4), "big")
    if version not in (2, 3):
        raise PackRefused(f"pack version {version} is not supported")
    count = int.from_bytes(source.read(4), "big")
    budget, inline = _Budget(limits), InlineShare(inline_bytes)
    entries: dict[int, _Entry] = {}
    for index in range(count):
        entry = _read_entry(source, budget, inline, staging, index)
        if entry.base_offset is not None and entry.base_offset not in entries:
            raise PackRefused("a delta names a base that is not an object of the pack")
        entries[entry.offset] = entry
    fh.seek(0, os.SEEK_END)
    if source.pos != fh.tell() - 20:
        raise PackRefused("the pack has data after its last object")
    _resolve(fh, entries, existing, inline, staging)
    objects: dict[bytes, ShaFile | StoredBlob] = {}
    for entry in entries.values():
        objects[entry.sha] = _object(entry)
    return Unpacked(objects=objects, expanded=budget.used)


class _Budget:
    def __init__(self, limits: GitLimits):
        self.limits, self.used = limits, 0

    def charge(self, size: int, what: str) -> None:
        if size > self.limits.blob_bytes:
            raise PackRefused(f"{what} of {size} bytes is over the largest-object limit of {self.limits.blob_bytes} "
                              "bytes (--git-max-blob-mb)")
        self.used += size + OBJECT_OVERHEAD
        if self.used > self.limits.push_bytes:
            raise PackRefused(f"the push expands to more than {self.limits.push_bytes} bytes "
                              "(--git-max-push-mb)")


def _check_trailer(fh: BinaryIO) -> None:
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end < 32:
        raise PackRefused("the pack is truncated")
    fh.seek(0)
    hasher, left = hashlib.sha1(), end - 20
    while left:
        chunk = fh.read(min(left, _READ))
        hasher.update(chunk)
        left -= len(chunk)
    if fh.read(20) != hasher.digest():
        raise PackRefused("the pack's checksum does not match its content")


def _read_entry(source: PackSource, budget: _Budget, inline: InlineShare, staging: str, index: int) -> _Entry:
    offset = source.pos
    c = source.byte()
    type_num, size, shift = (c >> 4) & 7, c & 0x0F, 4
    while c & 0x80:
        c = source.byte()
        size |= (c & 0x7F) << shift
        shift += 7
        if shift > 63:
            raise PackRefused("an object header does not parse")
    if type_num in TYPE_NAMES:
        budget.charge(size, f"a {TYPE_NAMES[type_num].decode()}")
        entry = _Entry(offset, type_num, size)
        sink = ObjectSink(type_num, size, inline.take(type_num, size), os.path.join(staging, f"o{index}"))
        try:
            source.inflate(size, sink)
        finally:
            sink.close()
        entry.sha, entry.content, entry.path = sink.finish()
        return entry
    if type_num == OFS_DELTA:
        c = source.byte()
        back = c & 0x7F
        while c & 0x80 and back <= offset:
            c = source.byte()
            back = ((back + 1) << 7) | (c & 0x7F)
        if back == 0 or back > offset:
            raise PackRefused("a delta points outside the pack")
        entry = _Entry(offset, 0, 0, base_offset=offset - back)
    elif type_num == REF_DELTA:
        entry = _Entry(offset, 0, 0, base_id=source.read(20).hex().encode())
    else:
        raise PackRefused(f"unknown object type {type_num} in the pack")
    budget.charge(size, "a delta")
    entry.data_offset, entry.delta_size = source.pos, size
    head = bytearray()

    def keep_head(data: bytes) -> None:
        if len(head) < 20:
            head.extend(data[:20])
    source.inflate(size, keep_head)
    entry.size = _delta_sizes(bytes(head))[1]
    budget.charge(entry.size, "an object rebuilt from a delta")
    return entry


def _delta_sizes(head: bytes) -> tuple[int, int]:
    values, at = [], 0
    for _ in range(2):
        value = shift = 0
        while True:
            if at >= len(head) or shift > 63:
                raise PackRefused("a delta's header does not parse")
            c = head[at]
            at += 1
            value |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        values.append(value)
    return values[0], values[1]


def _resolve(fh: BinaryIO, entries: dict[int, _Entry], existing: Callable[[bytes], ShaFile | StoredBlob | None],
             inline: InlineShare, staging: str) -> None:
    """Rebuild every delta once its base is known: a work list, each delta handled once."""
    by_id = {e.sha: e for e in entries.values() if e.sha is not None}
    waiting: dict[tuple[str, object], list[_Entry]] = {}
    ready: list[tuple[_Entry, _Entry | None, ShaFile | StoredBlob | None]] = []
    for entry in entries.values():
        if entry.sha is not None:
            continue
        if entry.base_offset is not None:
            base = entries[entry.base_offset]
            key: tuple[str, object] = ("at", entry.base_offset)
        else:
            base = by_id.get(entry.base_id)
            key = ("id", entry.base_id)
        if base is not None and base.sha is not None:
            ready.append((entry, base, None))
        else:
            waiting.setdefault(key, []).append(entry)
    for key in [k for k in waiting if k[0] == "id"]:
        outside = existing(key[1])
        if outside is not None:
            ready.extend((entry, None, outside) for entry in waiting.pop(key))
    while ready:
        entry, base, outside = ready.pop()
        _apply_delta(fh, entry, base, outside, inline, staging)
        by_id.setdefault(entry.sha, entry)
        for key in (("at", entry.offset), ("id", entry.sha)):
            ready.extend((after, entry, None) for after in waiting.pop(key, []))
    if waiting:
        missing = next((k[1].decode() for k in waiting if k[0] == "id"), None)
        raise PackRefused(f"a delta's base {missing} is neither in the pack nor in the repository" if missing
                          else "the pack's deltas refer to each other in a loop")


def _apply_delta(fh: BinaryIO, entry: _Entry, base: _Entry | None, outside: ShaFile | StoredBlob | None,
                 inline: InlineShare, staging: str) -> None:
    if base is not None:
        type_num, base_size, source = base.type_num, base.size, DeltaBase(base.content, base.path)
    elif isinstance(outside, StoredBlob):
        type_num, base_size, source = outside.type_num, outside.size, DeltaBase(None, outside.path)
    else:
        type_num, base_size, source = outside.type_num, outside.raw_length(), DeltaBase(outside.as_raw_string(), None)
    sink = ObjectSink(type_num, entry.size, inline.take(type_num, entry.size),
                      os.path.join(staging, f"d{entry.offset}"))
    try:
        reader = DeltaStream(PackSource(fh, entry.data_offset), entry.delta_size)
        if reader.varint() != base_size:
            raise PackRefused("a delta was made against a base of another size")
        if reader.varint() != entry.size:
            raise PackRefused("a delta's result size does not parse")
        written = 0
        while written < entry.size:
            cmd = reader.byte()
            if cmd & 0x80:
                start = length = 0
                for bit in range(4):
                    if cmd & (1 << bit):
                        start |= reader.byte() << (8 * bit)
                for bit in range(3):
                    if cmd & (0x10 << bit):
                        length |= reader.byte() << (8 * bit)
                length = length or 0x10000
                if start + length > base_size:
                    raise PackRefused("a delta copies past the end of its base")
                data = source.read(start, length)
            elif cmd:
                data = reader.read(cmd)
            else:
                raise PackRefused("a delta holds a reserved instruction")
            written += len(data)
            if written > entry.size:
                raise PackRefused("a delta builds more than its declared size")
            sink(data)
        if not reader.finished():
            raise PackRefused("a delta has data after its last instruction")
    finally:
        sink.close()
        source.close()
    entry.type_num = type_num
    entry.sha, entry.content, entry.path = sink.finish()


def _object(entry: _Entry) -> ShaFile | StoredBlob:
    if entry.path is not None:
        return StoredBlob(entry.sha, entry.size, entry.path)
    try:
        return ShaFile.from_raw_string(entry.type_num, entry.content)
    except Exception as exc:              # dulwich's parse errors have no common base class
        raise PackRefused(f"object {entry.sha.decode()} is malformed: {type(exc).__name__}: {exc}") from None

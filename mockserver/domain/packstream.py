"""The pieces a pushed pack is read with: a file read in order, zlib streams inflated in
bounded steps (never past what an object declared), and where each object's content goes
while it is hashed (memory, or a staging file for large blobs). ``gitpack`` puts them together.
"""
from __future__ import annotations

import os
import zlib
from typing import BinaryIO, Callable

from mockserver.domain.blobstore import INLINE_MAX, blob_hasher

TYPE_NAMES = {1: b"commit", 2: b"tree", 3: b"blob", 4: b"tag"}
BLOB = 3
STEP = 64 * 1024            # inflated bytes produced at a time
_READ = 256 * 1024


class PackRefused(Exception):
    """The pack is malformed or breaks a limit; ``message`` says which, for the pusher."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PackSource:
    """Sequential reads from the pack file, with a position and inflation in bounded steps."""

    def __init__(self, fh: BinaryIO, offset: int):
        self.fh = fh
        fh.seek(offset)
        self.pos = offset
        self.buf = b""

    def fill(self) -> None:
        more = self.fh.read(_READ)
        if not more:
            raise PackRefused("the pack is truncated")
        self.buf += more

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.read(1)[0]

    def inflate(self, declared: int, sink: Callable[[bytes], None] | None) -> None:
        """Inflate one zlib stream, handing ``sink`` at most 64 KiB at a time; refuse it the
        moment it passes ``declared`` bytes, or when it ends short of them."""
        stream = zlib.decompressobj()
        produced = 0
        while not stream.eof:
            before = len(self.buf)
            try:
                out = stream.decompress(self.buf, STEP)
            except zlib.error as exc:
                raise PackRefused(f"the pack holds corrupt compressed data: {exc}") from None
            rest = stream.unused_data if stream.eof else stream.unconsumed_tail
            self.pos += before - len(rest)
            progressed = before != len(rest) or bool(out)
            self.buf = rest
            produced += len(out)
            if produced > declared:
                raise PackRefused(f"an object inflates past the {declared} bytes its header declares")
            if out and sink is not None:
                sink(out)
            if not progressed:
                self.fill()
        if produced != declared:
            raise PackRefused(f"an object inflates to {produced} bytes, not the {declared} its header declares")


class DeltaStream:
    """Bytes of an inflating stream on demand (a delta's instructions)."""

    def __init__(self, source: PackSource, declared: int):
        self.source, self.left = source, declared
        self.stream = zlib.decompressobj()
        self.out = bytearray()
        self.at = 0

    def read(self, n: int) -> bytes:
        while len(self.out) - self.at < n:
            if self.stream.eof:
                raise PackRefused("a delta ends in the middle of an instruction")
            data = self.source.buf
            try:
                chunk = self.stream.decompress(data, STEP)
            except zlib.error as exc:
                raise PackRefused(f"the pack holds corrupt compressed data: {exc}") from None
            self.source.buf = self.stream.unused_data if self.stream.eof else self.stream.unconsumed_tail
            if not chunk and not self.stream.eof and len(self.source.buf) == len(data):
                self.source.fill()
            self.left -= len(chunk)
            if self.left < 0:
                raise PackRefused("a delta inflates past the size its header declares")
            del self.out[:self.at]
            self.at = 0
            self.out += chunk
        piece = bytes(self.out[self.at:self.at + n])
        self.at += n
        return piece

    def byte(self) -> int:
        return self.read(1)[0]

    def varint(self) -> int:
        value = shift = 0
        while True:
            c = self.byte()
            value |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return value
            if shift > 63:
                raise PackRefused("a delta's size does not parse")

    def finished(self) -> bool:
        """True when every inflated byte was read (the stream's end is then checked)."""
        if self.at != len(self.out):
            return False
        while not self.stream.eof:
            data = self.source.buf
            try:
                chunk = self.stream.decompress(data, STEP)
            except zlib.error as exc:
                raise PackRefused(f"the pack holds corrupt compressed data: {exc}") from None
            self.source.buf = self.stream.unused_data if self.stream.eof else self.stream.unconsumed_tail
            if chunk:
                return False
            if not self.stream.eof and len(self.source.buf) == len(data):
                self.source.fill()
        return self.left == 0


class InlineShare:
    """How many more bytes of blobs may stay in memory (the repository's share); the rest go to disk."""

    def __init__(self, left: int):
        self.left = left

    def take(self, type_num: int, size: int) -> bool:
        if type_num != BLOB:
            return True
        if size > INLINE_MAX or size > self.left:
            return False
        self.left -= size
        return True


class ObjectSink:
    """Where one object's content goes while it is hashed: memory, or a staging file."""

    def __init__(self, type_num: int, size: int, in_memory: bool, path: str):
        self.hasher = blob_hasher(size, TYPE_NAMES[type_num])
        self.parts: list[bytes] = []
        self.path = None if in_memory else path
        self.fh = None if in_memory else open(path, "wb")

    def __call__(self, data: bytes) -> None:
        self.hasher.update(data)
        if self.fh is not None:
            self.fh.write(data)
        else:
            self.parts.append(data)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()

    def finish(self) -> tuple[bytes, bytes | None, str | None]:
        """(the object's id, its content if in memory, its file if not)."""
        self.close()
        return self.hasher.hexdigest().encode(), None if self.path else b"".join(self.parts), self.path


class DeltaBase:
    """A delta's base: bytes in memory, or a file read at offsets."""

    def __init__(self, content: bytes | None, path: str | None):
        self.content = content
        self.fh = open(path, "rb") if content is None else None

    def read(self, start: int, length: int) -> bytes:
        if self.fh is None:
            return self.content[start:start + length]
        return os.pread(self.fh.fileno(), length, start)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()

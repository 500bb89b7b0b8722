"""Git packs and objects made by hand for tests: whole objects, deltas, lying headers, and
object graphs (deep trees, long names) pushed with the real git command."""
from __future__ import annotations

import hashlib
import struct
import subprocess
import zlib
from pathlib import Path

from dulwich.objects import Blob, Tree

BLOB, TREE, COMMIT = 3, 2, 1
OFS_DELTA, REF_DELTA = 6, 7


def _size_header(type_num: int, size: int) -> bytes:
    c = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(c | 0x80)
        c = size & 0x7F
        size >>= 7
    out.append(c)
    return bytes(out)


def whole(type_num: int, data: bytes, *, declared: int | None = None, level: int = 6) -> bytes:
    """One object entry; ``declared``: the size its header claims (default: the truth)."""
    return _size_header(type_num, len(data) if declared is None else declared) + zlib.compress(data, level)


def zeros_entry(size: int, *, declared: int | None = None) -> bytes:
    """A blob of ``size`` zero bytes, compressed in pieces (never ``size`` bytes in memory)."""
    comp = zlib.compressobj(9)
    parts = [_size_header(BLOB, size if declared is None else declared)]
    chunk, left = bytes(1 << 20), size
    while left:
        parts.append(comp.compress(chunk[:min(left, len(chunk))]))
        left -= min(left, len(chunk))
    parts.append(comp.flush())
    return b"".join(parts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        c = value & 0x7F
        value >>= 7
        out.append(c | (0x80 if value else 0))
        if not value:
            return bytes(out)


def delta(base: bytes, target: bytes, *, copy_prefix: int = 0) -> bytes:
    """A delta making ``target`` from ``base``: a copy of ``base[:copy_prefix]``, then inserts."""
    out = bytearray(_varint(len(base)) + _varint(len(target)))
    at = 0
    while at < copy_prefix:
        length = min(copy_prefix - at, 0x10000)
        cmd, args = 0x80, bytearray()
        for bit in range(4):
            byte = (at >> (8 * bit)) & 0xFF
            if byte:
                cmd |= 1 << bit
                args.append(byte)
        size = 0 if length == 0x10000 else length
        for bit in range(3):
            byte = (size >> (8 * bit)) & 0xFF
            if byte:
                cmd |= 0x10 << bit
                args.append(byte)
        out += bytes([cmd]) + args
        at += length
    rest = target[copy_prefix:]
    for i in range(0, len(rest), 127):
        piece = rest[i:i + 127]
        out += bytes([len(piece)]) + piece
    return bytes(out)


def ref_delta(base_id: bytes, delta_data: bytes) -> bytes:
    return _size_header(REF_DELTA, len(delta_data)) + bytes.fromhex(base_id.decode()) + zlib.compress(delta_data)


def ofs_delta(back: int, delta_data: bytes) -> bytes:
    encoded = bytearray([back & 0x7F])
    back >>= 7
    while back:
        back -= 1
        encoded.insert(0, 0x80 | (back & 0x7F))
        back >>= 7
    return _size_header(OFS_DELTA, len(delta_data)) + bytes(encoded) + zlib.compress(delta_data)


def pack(entries: list[bytes]) -> bytes:
    body = b"PACK" + struct.pack(">II", 2, len(entries)) + b"".join(entries)
    return body + hashlib.sha1(body).digest()


def offsets(entries: list[bytes]) -> list[int]:
    """Where each entry starts in ``pack(entries)``."""
    out, at = [], 12
    for entry in entries:
        out.append(at)
        at += len(entry)
    return out


def blob_id(data: bytes) -> bytes:
    return Blob.from_string(data).id


# -- object graphs written into a local clone's object store --------------------------------
def write_object(repo: Path, obj) -> bytes:
    """Store a dulwich object as a loose object of the git repository at ``repo``."""
    raw = obj.as_raw_string()
    header = obj.type_name + b" " + str(len(raw)).encode() + b"\0"
    sha = hashlib.sha1(header + raw).hexdigest()
    folder = repo / ".git" / "objects" / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / sha[2:]
    if not path.exists():
        path.write_bytes(zlib.compress(header + raw))
    return sha.encode()


def nested_tree(repo: Path, names: list[bytes], leaf: bytes = b"x\n") -> bytes:
    """A tree holding ``names[0]/names[1]/.../file``, written into ``repo``; its id."""
    blob = Blob.from_string(leaf)
    write_object(repo, blob)
    inner = Tree()
    inner.add(b"file", 0o100644, blob.id)
    sha = write_object(repo, inner)
    for name in reversed(names):
        tree = Tree()
        tree.add(name, 0o040000, sha)
        sha = write_object(repo, tree)
    return sha


def commit_tree_on_head(repo: Path, tree: bytes, message: str, env: dict) -> str:
    """A commit of ``tree`` on top of HEAD (git commit-tree), and HEAD moved to it."""
    parent = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, capture_output=True, text=True,
                            check=True, timeout=60).stdout.strip()
    commit = subprocess.run(["git", "commit-tree", tree.decode(), "-p", parent, "-m", message], cwd=repo, env=env,
                            capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    subprocess.run(["git", "update-ref", "HEAD", commit], cwd=repo, env=env, check=True, timeout=60)
    return commit


def blob_from_stream(repo: Path, chunks, env: dict) -> str:
    """A blob written by ``git hash-object -w --stdin`` from ``chunks`` (no file of that size)."""
    proc = subprocess.Popen(["git", "hash-object", "-w", "--stdin"], cwd=repo, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    for chunk in chunks:
        proc.stdin.write(chunk)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    return out.decode().strip()


def add_blob_to_head(repo: Path, path: str, blob: str, message: str, env: dict) -> str:
    """Commit ``blob`` at ``path`` on top of HEAD through the index, without a working file."""
    subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], cwd=repo, env=env,
                   check=True, timeout=60)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, env=env, check=True, timeout=120,
                   capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


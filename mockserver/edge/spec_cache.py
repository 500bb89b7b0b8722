"""The compiled spec, kept between starts in the user's cache directory.

Building the per-operation parts of the two OpenAPI documents (every ``$ref`` resolved,
each distinct schema's fast check generated and compiled) is most of what the spec costs at
start-up. The result depends only on the documents' bytes, on the code that builds it and
on the Python and fastjsonschema that run it, so it is stored under the hash of all of
these: any change is a different key, and a file that does not match its key is rebuilt.

The file holds data and compiled code objects (``marshal``, like a ``.pyc``), so it is read
only when it cannot have been planted or altered by anyone but this user: the directory is
created private (0700), and the directory and the file must belong to this user, be writable
by nobody else and not be symbolic links. A file that is truncated, corrupted or written by
another format fails its digest and is ignored. Writers (several servers starting at once)
write a private temporary file and rename it into place, so a reader sees a whole file or none.
Any failure to read or write the cache only costs the rebuild: it never stops a start.
"""
from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

FORMAT = b"algorithmia-mock spec cache 1\n"
_DIGEST = hashlib.sha256


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/algorithmia-mock/spec`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "algorithmia-mock" / "spec"


def cache_key(*parts: bytes) -> str:
    """The key of a build from ``parts`` (documents, builder sources, library versions), with
    the interpreter's bytecode format: code objects are only valid for the Python that made them."""
    h = _DIGEST(FORMAT)
    for part in (sys.implementation.cache_tag.encode(), importlib.util.MAGIC_NUMBER,
                 str(marshal.version).encode(), *parts):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def load(key: str, directory: Optional[Path] = None) -> Optional[Any]:
    """The value stored under ``key``, or None (missing, unsafe, damaged or unreadable)."""
    directory = directory or cache_dir()
    try:
        if not _private(os.lstat(directory)):
            return None
        fd = os.open(directory / f"{key}.bin", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not _private(os.fstat(fh.fileno())):
                return None
            data = fh.read()
    except OSError:
        return None
    header = FORMAT + key.encode() + b"\n"
    size = _DIGEST().digest_size
    if not data.startswith(header) or len(data) < len(header) + size:
        return None
    digest, body = data[len(header):len(header) + size], data[len(header) + size:]
    if _DIGEST(body).digest() != digest:
        return None
    try:
        return marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None


def store(key: str, value: Any, directory: Optional[Path] = None) -> bool:
    """Store ``value`` (marshallable) under ``key``; False when the cache cannot be written."""
    directory = directory or cache_dir()
    try:
        body = marshal.dumps(value)
    except ValueError:
        return False
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.lstat(directory)):
            return False
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)    # mode 0600
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(FORMAT + key.encode() + b"\n" + _DIGEST(body).digest() + body)
        os.replace(tmp, directory / f"{key}.bin")
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def _private(st: os.stat_result) -> bool:
    """A real file or directory of this user that nobody else may write."""
    if stat.S_ISLNK(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()

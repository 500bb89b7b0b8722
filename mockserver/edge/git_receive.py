"""git's receive-pack over smart HTTP, the wire side: the advertisement, the pushed commands
and pack read from the request body, and the report git prints.

Formats from git's Documentation/gitprotocol-pack.txt and gitprotocol-http.txt: pkt-lines
(4 hex digits of length, then the data; ``0000`` flushes), the first command line carries
the client's capabilities after a NUL, the pack follows the flush. With ``side-band-64k``
the report travels in band 1 and messages for the pusher in band 2 (git prints them as
``remote: ...``). What a push does is decided in ``domain/gitpush.py``.
"""
from __future__ import annotations

import zlib
from typing import BinaryIO

from mockserver.domain.gitpush import ZERO, Command, PushReport
from mockserver.domain.repository import Repository
from mockserver.errors import GIT_BAD_REQUEST, ApiError

CAPABILITIES = b"report-status delete-refs quiet atomic ofs-delta side-band-64k agent=algorithmia-mock"
FLUSH = b"0000"
_BAND_MAX = 65515          # a pkt-line carries 65520 bytes, band byte and length included
_STEP = 256 * 1024


def pkt(data: bytes) -> bytes:
    return b"%04x" % (len(data) + 4) + data


def advertisement(repo: Repository) -> bytes:
    """``GET info/refs?service=git-receive-pack``: the refs and what this server can take."""
    refs = sorted(repo.refs.items())
    lines = [pkt(b"# service=git-receive-pack\n"), FLUSH]
    first_ref, first_sha = refs[0] if refs else (b"capabilities^{}", ZERO)
    lines.append(pkt(first_sha + b" " + first_ref + b"\0" + CAPABILITIES + b"\n"))
    lines += [pkt(sha + b" " + ref + b"\n") for ref, sha in refs[1:]]
    return b"".join(lines) + FLUSH


class RequestBody:
    """The request body as a stream (gzip undone when sent so), refused past ``limit`` bytes."""

    def __init__(self, environ: dict, limit: int):
        self.input = environ["wsgi.input"]
        self.limit, self.read_bytes = limit, 0
        length = environ.get("CONTENT_LENGTH") or ""
        self.left = int(length) if length.isdigit() else None      # None: up to the end (chunked)
        gzipped = environ.get("HTTP_CONTENT_ENCODING", "").lower() in ("gzip", "x-gzip")
        self.gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None

    def _raw(self, n: int) -> bytes:
        if self.left is not None:
            n = min(n, self.left)
            if n == 0:
                return b""
        data = self.input.read(n)
        if self.left is not None:
            self.left -= len(data)
        return data

    def _more(self, n: int) -> bytes:
        if self.gunzip is None:
            return self._raw(n)
        while True:
            data = self.gunzip.unconsumed_tail or self._raw(_STEP)
            try:
                out = self.gunzip.decompress(data, n)
            except zlib.error as exc:
                raise ApiError(GIT_BAD_REQUEST, f"the gzip body does not inflate: {exc}") from None
            if out or not data or self.gunzip.eof:
                return out

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only at the end."""
        out = b""
        while len(out) < n:
            more = self._more(n - len(out))
            if not more:
                break
            out += more
        self.read_bytes += len(out)
        if self.read_bytes > self.limit:
            raise TooLarge(self.limit)
        return out

    def pkt_line(self) -> bytes | None:
        """The next pkt-line's data; None for a flush."""
        head = self.read(4)
        if len(head) < 4:
            raise ApiError(GIT_BAD_REQUEST, "the push ended in the middle of its commands")
        try:
            size = int(head, 16)
        except ValueError:
            raise ApiError(GIT_BAD_REQUEST, f"not a pkt-line: {head!r}") from None
        if size == 0:
            return None
        if size < 4:
            raise ApiError(GIT_BAD_REQUEST, f"unexpected pkt-line {head!r} in a push")
        data = self.read(size - 4)
        if len(data) < size - 4:
            raise ApiError(GIT_BAD_REQUEST, "the push ended in the middle of its commands")
        return data

    def copy_to(self, out: BinaryIO) -> int:
        total = 0
        while chunk := self.read(_STEP):
            out.write(chunk)
            total += len(chunk)
        out.flush()
        return total


class TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def read_commands(body: RequestBody) -> tuple[list[Command], set[bytes]]:
    """The ref updates of a push and the client's capabilities (``shallow`` lines are skipped)."""
    commands: list[Command] = []
    capabilities: set[bytes] = set()
    while (line := body.pkt_line()) is not None:
        line, _, caps = line.rstrip(b"\n").partition(b"\0")
        if caps:
            capabilities.update(caps.split())
        if line.startswith(b"shallow "):
            continue
        parts = line.split(b" ")
        if len(parts) != 3 or not all(_is_hex(p) for p in parts[:2]):
            raise ApiError(GIT_BAD_REQUEST, f"not a ref update: {line[:200]!r}")
        commands.append(Command(old=parts[0].lower(), new=parts[1].lower(), ref=parts[2]))
    return commands, capabilities


def _is_hex(value: bytes) -> bool:
    return len(value) == 40 and all(c in b"0123456789abcdefABCDEF" for c in value)


def report(result: PushReport, commands: list[Command], capabilities: set[bytes]) -> bytes:
    """The answer to a push: report-status (in band 1 with side-band-64k) and messages (band 2)."""
    status = b""
    if b"report-status" in capabilities:
        unpack = b"ok" if result.unpack_error is None else _one_line(result.unpack_error)
        lines = [b"unpack " + unpack + b"\n"]
        for command in commands:
            error = result.ref_errors.get(command.ref)
            lines.append(b"ok " + command.ref + b"\n" if error is None
                         else b"ng " + command.ref + b" " + _one_line(error) + b"\n")
        status = b"".join(pkt(line) for line in lines) + FLUSH
    if b"side-band-64k" not in capabilities:
        return status
    # Messages are like a hook's output: shown even to ``git push -q`` (quiet silences progress only).
    out = [pkt(b"\x02" + _one_line(message)[:_BAND_MAX - 1] + b"\n") for message in result.messages]
    out += [pkt(b"\x01" + status[i:i + _BAND_MAX]) for i in range(0, len(status), _BAND_MAX)]
    return b"".join(out) + FLUSH


def _one_line(text: str) -> bytes:
    return " ".join(text.split()).encode("utf-8")[:4000]

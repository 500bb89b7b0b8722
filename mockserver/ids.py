"""Generated identifiers and timestamps, reproducible under --seed / --clock.

With a seed every id, git hash, build id, request id and API key is reproducible;
with clock "frozen" or "step" every timestamp is predictable. Both restart on reset,
so the same requests after a reset give the same bytes.

Three separate seeded streams, so that ids never depend on unrelated requests:
objects (ids, git hashes, keys: only state changes draw from it), API request and
error ids, and the control plane's request and error ids (``/_mock``).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import os
import random
import string
import threading
import time

_KEY_ALPHABET = string.ascii_letters + string.digits
EPOCH = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


class Ids:
    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._lock = threading.Lock()
        self._marked = None
        # Unseeded: PRNGs seeded from the OS once. SystemRandom would make a getrandom()
        # system call for every request id; these are fake ids and keys, not secrets.
        # objects (the fixtures' ids come from here too), API requests, control plane
        self._rng, self._requests, self._control = (random.Random(s) for s in self._stream_seeds())

    def mark(self) -> None:
        """Remember the sequence position (after the fixtures loaded): restart() returns here,
        so ids made after a reset never repeat the ids the fixtures got."""
        with self._lock:
            if self.seed is not None:
                self._marked = tuple(rng.getstate() for rng in self._streams())

    def fork(self) -> "Ids":
        """New ids at this sequence's marked position (unseeded: a fresh random sequence)."""
        ids = Ids(self.seed)
        with self._lock:
            ids._marked = self._marked
        ids.restart()
        return ids

    def restart(self) -> None:
        with self._lock:
            if self.seed is None:
                return
            for rng, seed, state in zip(self._streams(), self._stream_seeds(), self._marked or (None,) * 3):
                if state is None:
                    rng.seed(seed)
                else:
                    rng.setstate(state)

    def _stream_seeds(self) -> tuple:
        if self.seed is None:
            return None, None, None
        return self.seed, f"{self.seed}:requests", f"{self.seed}:control"

    def _streams(self) -> tuple[random.Random, ...]:
        return self._rng, self._requests, self._control

    # One draw (a single ``getrandbits`` call) needs no lock: a Random object's methods are
    # atomic (the GIL; in free-threaded builds, the object's own critical section), and a draw
    # touches one stream, so it lands wholly before or after a mark() or restart(). The lock
    # keeps draws of several values (api_key) and those of all three streams together.

    def _bits(self, n: int) -> int:
        return self._rng.getrandbits(n)

    def uuid(self) -> str:
        return uuid4_text(self._rng.getrandbits(128))

    def uuids(self) -> tuple[str, str]:
        """What two :meth:`uuid` calls in a row return, from one draw (``getrandbits(256)`` is
        two 128-bit draws, the first in its low bits)."""
        bits = self._rng.getrandbits(256)
        return uuid4_text(bits & _LOW_128), uuid4_text(bits >> 128)

    def git_hash(self) -> str:
        return f"{self._bits(160):040x}"

    def api_key(self) -> str:
        # Real Simple API keys look like "sim" + 26 alphanumerics.
        with self._lock:
            return "sim" + "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(26))

    def request_id(self, control: bool = False) -> str:
        """A request's id: API and control-plane requests draw from their own streams."""
        return uuid4_text((self._control if control else self._requests).getrandbits(128))

    error_id = request_id


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, without building the UUID object (several per
    request): the version and RFC 4122 variant bits set in the integer, its 16 bytes written
    as hex in three pieces (the middle one's three groups by ``bytes.hex``'s separator), a
    third fewer instructions than slicing one hex text five times."""
    raw = ((bits & _KEEP) | _VERSION_4).to_bytes(16, "big")
    return f"{raw[:4].hex()}-{raw[4:10].hex('-', 2)}-{raw[10:].hex()}"


_LOW_128 = (1 << 128) - 1
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & _LOW_128
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)


class _SecretBytes:
    """Unguessable bytes without a system call per draw (each ``os.urandom`` releases the GIL,
    a hand-off between the server's threads): BLAKE2b keyed with 32 bytes of the operating
    system's randomness over a counter (a PRF in counter mode); a forked child re-keys."""

    def __init__(self) -> None:
        self._rekey()
        os.register_at_fork(after_in_child=self._rekey)

    def _rekey(self) -> None:
        self._key = os.urandom(32)
        self._counter = itertools.count()

    def draw(self) -> bytes:
        """64 fresh bytes (``next`` on the counter is atomic: no two draws share a block)."""
        return hashlib.blake2b(next(self._counter).to_bytes(16, "little"), key=self._key).digest()


_secret_bytes = _SecretBytes()


def secret_uuid() -> str:
    """A version 4 UUID from unguessable bytes (not the seeded streams)."""
    return uuid4_text(int.from_bytes(_secret_bytes.draw()[:16], "big"))


# Random bytes to key characters in C (bytes.translate): a byte maps to _KEY_ALPHABET[byte % 62]
# and the 8 bytes above 4 * 62 are dropped, so every character is equally likely.
_KEY_BYTES = bytes(ord(_KEY_ALPHABET[b % len(_KEY_ALPHABET)]) for b in range(256))
_UNEVEN_BYTES = bytes(range(4 * len(_KEY_ALPHABET), 256))


def secret_api_key(digest: bytes | None = None) -> str:
    """An API key from unguessable bytes (``_SecretBytes``) ("sim" + 26 alphanumerics, as the
    seeded ones: about 155 bits), for keys that must not be guessable whatever the seed (call
    keys); or made from ``digest`` (a keyed hash, 32 bytes or more: the same key for the same
    digest)."""
    while True:
        raw = _secret_bytes.draw() if digest is None else digest
        chars = raw.translate(_KEY_BYTES, _UNEVEN_BYTES)
        if len(chars) >= 26:
            return "sim" + chars[:26].decode("ascii")
        if digest is not None:        # too few usable bytes (rare): more from the digest itself
            digest = hashlib.sha512(digest).digest()


def secret_api_key_and_uuid() -> tuple[str, str]:
    """:func:`secret_api_key` and :func:`secret_uuid` from one draw of unguessable bytes
    (the key from its first 48 bytes, the id from the last 16): a call's key and its id."""
    raw = _secret_bytes.draw()
    return secret_api_key(raw[:48]), uuid4_text(int.from_bytes(raw[48:], "big"))


class Clock:
    """``real``: wall clock; ``frozen``: always the start; ``step``: start + 1 s per reading."""

    MODES = ("real", "frozen", "step")

    def __init__(self, mode: str = "real", start: _dt.datetime = EPOCH):
        if mode not in self.MODES:
            raise ValueError(f"clock must be one of {', '.join(self.MODES)}, not {mode!r}")
        self.mode = mode
        self.start = start
        self._lock = threading.Lock()
        self._ticks = 0
        self._marked = 0

    def mark(self) -> None:
        """Remember the tick count (after the fixtures loaded): restart() returns here."""
        with self._lock:
            self._marked = self._ticks

    def restart(self) -> None:
        with self._lock:
            self._ticks = self._marked

    def fork(self) -> "Clock":
        """A new clock at this one's marked tick."""
        clock = Clock(self.mode, self.start)
        clock._ticks = clock._marked = self._marked
        return clock

    def now(self) -> _dt.datetime:
        if self.mode == "real":
            return _dt.datetime.now(_dt.timezone.utc)
        if self.mode == "frozen":
            return self.start
        with self._lock:
            self._ticks += 1
            return self.start + _dt.timedelta(seconds=self._ticks)

    def iso(self) -> str:
        if self.mode == "real":
            return _iso_now()
        return iso(self.now())


def iso(moment: _dt.datetime) -> str:
    """ISO 8601 with milliseconds and a Z, as the API prints it: 2019-05-07T21:16:43.121Z."""
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


_second_text: tuple[int, str] = (-1, "")
_milli_text: tuple[int, str] = (-1, "")


def _iso_now() -> str:
    """``iso(datetime.now(timezone.utc))`` (which floors to the microsecond, then the
    millisecond): the text of the current second is made once per second (every create), and
    records made within one millisecond share one string (each keeps its timestamp)."""
    global _second_text, _milli_text
    millis = time.time_ns() // 1_000_000
    cached_millis, stamp = _milli_text
    if cached_millis == millis:
        return stamp
    second, ms = divmod(millis, 1000)
    cached_second, text = _second_text
    if cached_second != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        _second_text = (second, text)
    stamp = text + _MILLIS[ms]
    _milli_text = (millis, stamp)
    return stamp


_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))


def parse_iso(text: str) -> _dt.datetime | None:
    """The UTC moment of a timestamp as ``iso`` prints it; None for any other text."""
    try:
        return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.timezone.utc)
    except (TypeError, ValueError):
        return None

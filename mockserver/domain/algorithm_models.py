"""Records of algorithms, their builds and published versions."""
from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from typing import Any, Container, NamedTuple, TypeVar

from mockserver.domain.models import Scm


class _NoEntries(dict):
    """The one empty, read-only dict shared by every algorithm without builds, secrets, source
    or version info: five empty containers were ~300 bytes of each stored algorithm, and a
    server under create load stores tens of thousands. Filling it raises (a shared dict filled
    in place would fill every algorithm's); the places that add to one give the algorithm a
    dict of its own first (:func:`own_dict`). Copies and pickles of it (reset's baseline, a
    sandbox's fork) are itself."""
    __slots__ = ()

    def _read_only(self, *_args: Any, **_kwargs: Any) -> Any:
        raise TypeError("NO_ENTRIES is shared by many records: give the record a dict of its own first")

    __setitem__ = __delitem__ = setdefault = update = pop = popitem = clear = __ior__ = _read_only

    def __reduce__(self) -> str:
        return "NO_ENTRIES"      # pickle and copy: the module's one instance


NO_ENTRIES: dict[str, Any] = _NoEntries()


def _no_entries() -> dict[str, Any]:
    return NO_ENTRIES


def own_dict(record: Any, name: str) -> dict[str, Any]:
    """``record.<name>``, first replaced by a dict of its own if it is the shared empty one."""
    current = getattr(record, name)
    if current is NO_ENTRIES:
        current = {}
        setattr(record, name, current)
    return current


@dataclass
class Build:
    build_id: str
    commit_sha: str
    status: str                       # succeeded | failed | in-progress
    started_at: str
    finished_at: str | None = None
    logs: str = ""
    binding: str | None = None        # callable target this build runs
    binding_base: str | None = None   # folder relative file bindings resolve against
    settings: dict[str, Any] = field(default_factory=dict)   # settings as compiled
    semantic_version: str | None = None
    ready_at: float = 0.0             # time.monotonic() when an in-progress build finishes
    seq: int = 0
    final_status: str | None = None   # what an in-progress build becomes at ready_at
    finishes_at: str | None = None    # its finished_at then (ISO), fixed when compiled
    from_repository: bool = False     # built from its commit of the algorithm's git repository
    entrypoint: str | None = None     # the file calls load in that commit (None: cannot run here)
    # The binding came from the operator (start-up fixtures) or the pytest plugin: it may run
    # in the server's process. Never exported, so an imported state trusts nothing.
    binding_trusted: bool = field(default=False, metadata={"export": False})


@dataclass
class Version:
    """A published build."""
    semantic_version: str
    git_hash: str
    build_id: str
    callability: str                  # public | private
    published_at: str
    settings: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    release_notes: str | None = None
    sample_input: str | None = None
    sample_output: str | None = None
    seq: int = 0


@dataclass
class Secret:
    """An algorithm secret; its value is write-only (given to the algorithm as ``secret_key``)."""
    id: str
    short_name: str
    secret_key: str                   # the environment variable the algorithm reads
    secret_value: str
    value_id: str                     # default_secret_value_id: changes with the value
    provider_id: str
    description: str = ""
    created_at: str = ""
    modified_at: str = ""             # when its name, key, description or value last changed


@dataclass(slots=True)
class Algorithm:
    id: str
    owner: str
    name: str
    details: dict[str, Any]
    settings: dict[str, Any]
    scm_id: str = "internal"
    # The containers below start as the shared NO_ENTRIES (versions as an empty tuple):
    # add to builds and secrets through own_dict; source and version_info are only replaced.
    source: dict[str, Any] = field(default_factory=_no_entries)   # repository_* fields for external SCMs
    created_at: str = ""
    seq: int = 0
    builds: dict[str, Build] = field(default_factory=_no_entries)   # by build_id, oldest first
    versions: tuple[Version, ...] = ()    # oldest first; publishing replaces the tuple
    binding: str | None = None        # default callable for new builds (None: platform template)
    binding_base: str | None = None
    binding_trusted: bool = field(default=False, metadata={"export": False})   # as Build's
    # version_info fields given on create/update, shown until a version is published
    version_info: dict[str, Any] = field(default_factory=_no_entries)
    webhook_secret: str = ""          # SCM status of external-SCM algorithms
    secrets: dict[str, Secret] = field(default_factory=_no_entries)  # by id, oldest first

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def snapshot(self) -> "Algorithm":
        """A shallow copy, as ``copy.copy`` makes, at a sixth of its cost (every answer about an
        algorithm takes one under the store's lock)."""
        return Algorithm(*_algorithm_fields(self))


_algorithm_fields = operator.attrgetter(*(f.name for f in fields(Algorithm)))
assert all(f.init for f in fields(Algorithm)), "Algorithm.snapshot passes every field to __init__"

_Record = TypeVar("_Record")


def shallow_copy(record: _Record) -> _Record:
    """``copy.copy`` of a plain (``__dict__``) record, without copy's generic protocol; None stays None."""
    if record is None:
        return None
    new = object.__new__(type(record))
    new.__dict__ = record.__dict__.copy()
    return new


@dataclass
class ErrorEntry:
    """A failed invocation, as /v1/algorithms/.../errors lists it."""
    id: str
    algorithm: str                    # "owner/name"
    owner: str
    caller: str | None
    version: str | None
    message: str
    error_type: str
    created_at: str
    request_id: str
    seq: int = 0
    algorithm_id: str | None = None

    def is_of(self, algorithm_ids: Container[str], full_names: Container[str]) -> bool:
        """Whether it was logged for one of these algorithms: by id when the entry has one,
        else by "owner/name"."""
        return self.algorithm_id in algorithm_ids if self.algorithm_id else self.algorithm in full_names


class AlgorithmView(NamedTuple):
    """What answers about an algorithm carry, copied under the store's lock: the algorithm
    with its SCM, and the build (and published version) shown. With ``as_version`` it is
    the version object of ``build`` (settings and details as published). Immutable; a named
    tuple rather than a frozen dataclass, which costs three times as much to make (every
    answer about an algorithm makes one)."""
    algo: Algorithm
    scm: Scm
    build: Build | None = None
    version: Version | None = None
    as_version: bool = False


@dataclass(frozen=True)
class ScmConnection:
    """An algorithm's SCM status; deploy key and webhook only for an external SCM."""
    algo: Algorithm
    status: str
    deploy_key: str | None = None
    webhook_secret: str | None = None

"""The in-memory state and the one lock that guards it.

``Store.state`` is the only mutable global of a server. Domain functions run
``with store.write() as state:`` (or ``read()``) so every mutation is atomic.
``State``'s maps are written only through its ``put_*``/``drop_*`` methods, which keep
the derived indexes and the cascades of a delete right; ``rebuild_indexes()`` recomputes
the indexes from the primary maps.
``mark_baseline()``/``reset()`` implement reset; ``export()``/``load()`` the
JSON state API.
"""
from __future__ import annotations

import base64
import io
import pickle
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from sortedcontainers import SortedDict

from mockserver import codec
from mockserver.domain.algorithm_models import Algorithm, ErrorEntry
from mockserver.domain.callkeys import CallKeys
from mockserver.domain.data_models import DataStore
from mockserver.domain.models import ApiKey, Organization, Scm, User, internal_scm
from mockserver.domain.repository import Repository


@dataclass
class State:
    # Users and orgs are SortedDicts by name (still dicts): their listings page in O(log n + page).
    users: dict[str, User] = field(default_factory=SortedDict)
    keys: dict[str, ApiKey] = field(default_factory=dict)          # by api_key
    orgs: dict[str, Organization] = field(default_factory=SortedDict)
    scms: dict[str, Scm] = field(default_factory=lambda: {"internal": internal_scm()})
    algorithms: dict[str, Algorithm] = field(default_factory=dict)  # by "owner/name"
    data: DataStore = field(default_factory=DataStore)
    errors: list[ErrorEntry] = field(default_factory=list)          # failed invocations, oldest first
    # Bindings set at run time (control API / plugin): "owner/name" or "owner/name/version" -> target
    bindings: dict[str, str] = field(default_factory=dict)
    # Those of them the pytest plugin bound (they may run in the server's process). Provenance
    # is never exported: an imported state trusts nothing.
    trusted_bindings: set[str] = field(default_factory=set, metadata={"export": False})
    repos: dict[str, Repository] = field(default_factory=dict)     # git repositories by "owner/name"
    seq: int = 0
    # Derived, never exported: casefolded email -> username, so creating a user is O(1);
    # casefolded user or organization name -> its stored spelling, and casefolded "owner/name"
    # -> "owner/name", so names resolve without regard to case in O(1) (docs/behaviour.md);
    # owner -> {name: algorithm} sorted by name, so a page of an owner's algorithms costs
    # O(log n + page); algorithm id -> "owner/name" for the routes that name an algorithm by id;
    # owner -> {api_key: key} (oldest first), so listing or dropping a user's keys is O(theirs).
    emails: dict[str, str] = field(default_factory=dict, metadata={"derived": True})
    owner_names: dict[str, str] = field(default_factory=dict, metadata={"derived": True})
    algorithm_names: dict[str, str] = field(default_factory=dict, metadata={"derived": True})
    algorithms_by_owner: dict[str, SortedDict] = field(default_factory=dict, metadata={"derived": True})
    algorithm_ids: dict[str, str] = field(default_factory=dict, metadata={"derived": True})
    keys_by_owner: dict[str, dict[str, ApiKey]] = field(default_factory=dict, metadata={"derived": True})
    # username -> {org_name: organization} sorted by name: the organizations a user belongs to.
    orgs_by_member: dict[str, SortedDict] = field(default_factory=dict, metadata={"derived": True})

    def __post_init__(self) -> None:
        # codec.from_json (state import) builds plain dicts
        if not isinstance(self.users, SortedDict):
            self.users = SortedDict(self.users)
        if not isinstance(self.orgs, SortedDict):
            self.orgs = SortedDict(self.orgs)
        self.rebuild_indexes()

    def rebuild_indexes(self) -> None:
        """Recompute every derived index from the primary maps (after a state import; the
        put_/drop_ methods below keep them current one change at a time)."""
        self.emails = {u.email.casefold(): u.username for u in self.users.values()}
        self.owner_names = {name.casefold(): name for name in (*self.users, *self.orgs)}
        self.algorithm_names = {name.casefold(): name for name in self.algorithms}
        self.algorithms_by_owner = {}
        for algo in self.algorithms.values():
            _sorted_in(self.algorithms_by_owner, algo.owner)[algo.name] = algo
        self.algorithm_ids = {algo.id: name for name, algo in self.algorithms.items()}
        self.keys_by_owner = {}
        for key in sorted(self.keys.values(), key=lambda k: k.seq):
            self.keys_by_owner.setdefault(key.owner, {})[key.api_key] = key
        self.orgs_by_member = {}
        for org in self.orgs.values():
            for username in org.members:
                _sorted_in(self.orgs_by_member, username)[org.org_name] = org

    def next_seq(self) -> int:
        """A monotonic counter that orders records by creation."""
        self.seq += 1
        return self.seq

    # -- the one write API: every change to a map above goes through these methods -------

    def put_user(self, user: User) -> None:
        """Add a user (its username and email are checked free by the caller)."""
        self.users[user.username] = user
        self.emails[user.email.casefold()] = user.username
        self.owner_names[user.username.casefold()] = user.username

    def drop_user(self, username: str) -> None:
        """Forget a user with their keys, their memberships and what they own."""
        user = self.users.pop(username)
        self.emails.pop(user.email.casefold(), None)
        self.owner_names.pop(username.casefold(), None)
        for key in self.keys_of(username):
            self.drop_key(key.api_key)
        for org in list(self.orgs_of(username)):
            self.drop_member(org.org_name, username)
        self._drop_owned_by(username)

    def put_org(self, org: Organization) -> None:
        """Add an organization with the members it was made with."""
        self.orgs[org.org_name] = org
        self.owner_names[org.org_name.casefold()] = org.org_name
        for username in org.members:
            _sorted_in(self.orgs_by_member, username)[org.org_name] = org

    def drop_org(self, org_name: str) -> None:
        """Forget an organization, its memberships and what it owns."""
        org = self.orgs[org_name]
        for username in list(org.members):
            self.drop_member(org_name, username)
        del self.orgs[org_name]
        self.owner_names.pop(org_name.casefold(), None)
        self._drop_owned_by(org_name)

    def put_member(self, org_name: str, username: str, role: str) -> None:
        """Add ``username`` to an organization, or change their role there."""
        org = self.orgs[org_name]
        org.members[username] = role
        _sorted_in(self.orgs_by_member, username)[org_name] = org

    def drop_member(self, org_name: str, username: str) -> None:
        self.orgs[org_name].members.pop(username, None)
        of_member = self.orgs_by_member.get(username)
        if of_member is not None:
            of_member.pop(org_name, None)
            if not of_member:
                del self.orgs_by_member[username]

    def orgs_of(self, username: str) -> list[Organization]:
        """The organizations ``username`` belongs to, by name."""
        return list(self.orgs_by_member.get(username, {}).values())

    def put_scm(self, scm: Scm) -> None:
        self.scms[scm.id] = scm

    def drop_scm(self, scm_id: str) -> None:
        del self.scms[scm_id]

    def put_binding(self, target: str, binding: str, *, trusted: bool = False) -> None:
        """A run-time binding of "owner/name" or "owner/name/version"; ``trusted``: the plugin's."""
        self.bindings[target] = binding
        if trusted:
            self.trusted_bindings.add(target)
        else:
            self.trusted_bindings.discard(target)

    def drop_binding(self, target: str) -> bool:
        """False when there was none."""
        self.trusted_bindings.discard(target)
        return self.bindings.pop(target, None) is not None

    def put_repo(self, full_name: str, repo: Repository) -> None:
        self.repos[full_name] = repo

    def record_error(self, entry: ErrorEntry, keep: int) -> None:
        """Log a failed invocation, keeping the newest ``keep`` entries."""
        self.errors.append(entry)
        del self.errors[:-keep]

    def put_key(self, key: ApiKey) -> None:
        self.keys[key.api_key] = key
        self.keys_by_owner.setdefault(key.owner, {})[key.api_key] = key

    def drop_key(self, secret: str) -> None:
        key = self.keys.pop(secret)
        owned = self.keys_by_owner.get(key.owner)
        if owned is not None:
            owned.pop(secret, None)
            if not owned:
                del self.keys_by_owner[key.owner]

    def keys_of(self, owner: str) -> list[ApiKey]:
        """The keys an owner holds, oldest first."""
        return list(self.keys_by_owner.get(owner, {}).values())

    def put_algorithm(self, algo: Algorithm) -> None:
        full_name = algo.full_name
        self.algorithms[full_name] = algo
        self.algorithm_names[full_name.casefold()] = full_name
        _sorted_in(self.algorithms_by_owner, algo.owner)[algo.name] = algo
        self.algorithm_ids[algo.id] = full_name

    def drop_algorithm(self, full_name: str) -> None:
        """Forget an algorithm and what hangs on it (its name is free again)."""
        self._drop_algorithms([self.algorithms[full_name]])

    def _drop_owned_by(self, owner: str) -> None:
        """Drop what a deleted user or organization owned: its algorithms and its data."""
        self._drop_algorithms(list(self.algorithms_by_owner.get(owner, {}).values()))
        self.data.drop_owner(owner)

    def _drop_algorithms(self, algos: list[Algorithm]) -> None:
        """Builds and versions go with each algorithm; its run-time bindings and error log
        entries go too, so a new algorithm of the same name inherits none of them (its call
        keys stop working with it: callkeys.py)."""
        if not algos:
            return
        names = {algo.full_name for algo in algos}
        ids = {algo.id for algo in algos}
        for algo in algos:
            del self.algorithms[algo.full_name]
            self.repos.pop(algo.full_name, None)
            self.algorithm_names.pop(algo.full_name.casefold(), None)
            self.algorithm_ids.pop(algo.id, None)
            owned = self.algorithms_by_owner.get(algo.owner)
            if owned is not None:
                owned.pop(algo.name, None)
                if not owned:
                    del self.algorithms_by_owner[algo.owner]
        for target in [k for k in self.bindings if k in names or k.rsplit("/", 1)[0] in names]:
            self.drop_binding(target)
        self.errors[:] = [e for e in self.errors if not e.is_of(ids, names)]

    def algorithm_named(self, owner: str, name: str) -> Algorithm | None:
        """The algorithm whose owner and name match without regard to case."""
        full_name = self.algorithm_names.get(f"{owner}/{name}".casefold())
        return self.algorithms.get(full_name) if full_name else None

    def algorithm_by_id(self, algorithm_id: str) -> Algorithm | None:
        full_name = self.algorithm_ids.get(algorithm_id)
        return self.algorithms.get(full_name) if full_name else None

    def owner_exists(self, name: str) -> bool:
        return name in self.users or name in self.orgs

    def owner_named(self, name: str) -> str | None:
        """The stored spelling of the user or organization named ``name`` without regard to case."""
        return self.owner_names.get(name.casefold())


class _Locked:
    """``with store.write() as state``: the store's lock held for the block. A class rather than
    a generator-based context manager: every request enters it once or more."""
    __slots__ = ("store",)

    def __init__(self, store: "Store"):
        self.store = store

    def __enter__(self) -> State:
        store = self.store
        store.lock.acquire()
        try:
            state = store.state
            if state is None:                # a forked store's first use (fork())
                state = store.state = store._baseline.copy()
        except BaseException:
            store.lock.release()
            raise
        return state

    def __exit__(self, *_exc) -> None:
        self.store.lock.release()


class Store:
    def __init__(self, state: State | None = None):
        self.state = state or State()
        self.lock = threading.RLock()
        self._locked = _Locked(self)
        self._baseline = _Baseline(self.state)
        self.call_keys = CallKeys()         # the keys of running calls: never part of the state

    def write(self) -> _Locked:
        """The state, with the store's (reentrant) lock held for the ``with`` block."""
        return self._locked             # holds no state of its own: one per store serves every block

    read = write  # one lock for both: reads see a consistent state

    def mark_baseline(self) -> None:
        """Remember the current state as what reset returns to (the loaded fixtures)."""
        with self.write() as state:
            self._baseline = _Baseline(state)

    def reset(self) -> None:
        with self.lock:
            self.state = self._baseline.copy()
            self.call_keys.clear()

    def snapshot(self) -> "_Baseline":
        """A frozen copy of the current state, for :meth:`restore` (all-or-nothing changes)."""
        with self.write() as state:
            return _Baseline(state)

    def restore(self, snapshot: "_Baseline") -> None:
        with self.lock:
            self.state = snapshot.copy()

    def fork(self) -> "Store":
        """A new store at this one's baseline, sharing it (a baseline is never mutated, only
        copied). Its own copy is made on first use, so creating a sandbox costs no copy and
        one that is never used holds none."""
        store = Store.__new__(Store)
        store.lock = threading.RLock()
        store._locked = _Locked(store)
        store.call_keys = CallKeys()
        with self.lock:
            store._baseline = self._baseline
        store.state = None
        return store

    def export(self, *, large_blobs: bool = False) -> dict[str, Any]:
        """The state as JSON. Git blobs over 1 MiB appear as ``[3, null, size]`` unless
        ``large_blobs`` (their files are read after the lock is released: blobs never change)."""
        with self.write() as state:
            data = codec.to_json(state)
            large = {name: repo.large_blobs() for name, repo in state.repos.items()} if large_blobs else {}
        for name, blobs in large.items():
            objects = data["repos"][name]["objects"]
            for blob in blobs:
                objects[blob.id.decode()] = [blob.type_num, base64.b64encode(blob.read()).decode()]
        return data

    def load(self, data: dict[str, Any], prepare: Callable[[State], None] | None = None) -> None:
        """Replace the state with ``data`` (an export), fully decoded, and ``prepare``-d, before the swap."""
        state = codec.from_json(data, State)
        for secret in [s for s, key in state.keys.items() if key.algorithm]:
            state.drop_key(secret)             # per-(algorithm, caller) keys of older exports: a
                                               # call's key lives as long as the call (callkeys.py)
        if prepare is not None:
            prepare(state)
        with self.lock:
            self.state = state


def _sorted_in(index: dict[str, SortedDict], key: str) -> SortedDict:
    """``index[key]``, a new SortedDict the first time (setdefault would build one on every call)."""
    inner = index.get(key)
    if inner is None:
        inner = index[key] = SortedDict()
    return inner


class _Baseline:
    """A frozen copy of a state that hands out fresh copies (reset, a sandbox's first use).

    Kept pickled: unpickling is about three times faster than ``copy.deepcopy`` of the same
    state. What is never changed in place, strings, file contents (bytes) and git
    repositories (a push stores a new one), stays out of the pickle: the pickle protocol's
    persistent ids refer to it, so every copy shares it, as deepcopy shared strings.
    """

    def __init__(self, state: State):
        self.shared: list[Any] = []
        out = io.BytesIO()
        _SharingPickler(out, self.shared).dump(state)
        self.blob = out.getvalue()

    def copy(self) -> State:
        return _SharingUnpickler(io.BytesIO(self.blob), self.shared).load()


_SHARED_TYPES = (str, bytes, Repository)


class _SharingPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: list[Any]):
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.shared, self.index = shared, {}

    def persistent_id(self, obj: Any) -> int | None:
        if type(obj) not in _SHARED_TYPES:
            return None
        if id(obj) not in self.index:
            self.index[id(obj)] = len(self.shared)
            self.shared.append(obj)
        return self.index[id(obj)]


class _SharingUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: list[Any]):
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid: int) -> Any:
        return self.shared[pid]

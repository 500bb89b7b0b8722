"""Taking a push: the pack read within the limits, the result checked, then stored as a whole.

A push is accepted or refused as one: its pack is read (``gitpack``), every ref update is
checked, everything the new refs reach must be in the pack or the repository, every new
commit's tree must stay within the depth and path limits (each name at most 255 bytes),
the repository within its size, its large blobs within the server's storage, and the new
head must check out. Only then is the new repository stored, the algorithm's own binding
cleared (the repository now says what runs) and the new head built. A refused push stores
nothing and moves no ref. Pushes and compiles of one algorithm take turns. A push holds a slot
of the server's build pool from its first step to its build's end; with none free it is
refused at once (git prints why), before anything is read or stored.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from dulwich.objects import Commit, ShaFile, Tag, Tree

from mockserver.errors import ApiError
from mockserver.domain import builds
from mockserver.domain.blobstore import REPO_INLINE_MAX, StoredBlob
from mockserver.domain.context import Ctx
from mockserver.domain.gitaccess import GitTarget
from mockserver.domain.gitbuilds import checkout, repository_of
from mockserver.domain.gitlimits import NAME_MAX, OBJECT_OVERHEAD, GitLimits, RepositoryError
from mockserver.domain.gitpack import PackRefused, read_pack
from mockserver.domain.repository import DEFAULT_BRANCH, Repository

log = logging.getLogger("mockserver.git")

ZERO = b"0" * 40
_TREE_MODE, _GITLINK_MODE = 0o040000, 0o160000
_BAD_REF_BYTES = set(b" ~^:?*[\\\x7f") | set(range(32))


@dataclass(frozen=True)
class Command:
    """One ref update of a push: ``old`` and ``new`` are 40-hex ids (``ZERO``: none)."""
    old: bytes
    new: bytes
    ref: bytes


@dataclass
class PushReport:
    """What git is told: the pack's fate, each ref's, and lines to show the pusher."""
    unpack_error: str | None = None
    ref_errors: dict[bytes, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


class PushRefused(Exception):
    def __init__(self, message: str, *, ref: bytes | None = None):
        super().__init__(message)
        self.message, self.ref = message, ref


def push(ctx: Ctx, target: GitTarget, commands: list[Command], pack: BinaryIO | None, *,
         base_url: str | None = None) -> PushReport:
    """Apply ``commands`` with the objects of ``pack`` (a seekable file, None without objects);
    ``base_url``: the API's address, for the new head's build (its import check may call it)."""
    try:
        with builds.build_slot(ctx, "the server is busy"):
            return _push(ctx, target, commands, pack, base_url)
    except ApiError as exc:      # the build pool is full (_push answers its own): nothing read or stored
        return _refused(commands, exc.message, unpacked=False)


def _push(ctx: Ctx, target: GitTarget, commands: list[Command], pack: BinaryIO | None,
          base_url: str | None) -> PushReport:
    with ctx.algorithm_lock(target.full_name):
        try:
            _, moved = _accept(ctx, target, commands, pack)
        except (PackRefused, RepositoryError) as exc:
            return _refused(commands, exc.message, unpacked=False)
        except PushRefused as exc:
            return _refused(commands, exc.message, unpacked=exc.ref is not None, ref=exc.ref)
        except ApiError as exc:               # storage or checkout cache full
            return _refused(commands, exc.message, unpacked=False)
        report = PushReport()
        if moved:
            report.messages += _build(ctx, target, base_url)
        return report


def _accept(ctx: Ctx, target: GitTarget, commands: list[Command], pack: BinaryIO | None) -> tuple[Repository, bool]:
    limits = GitLimits.of(ctx.settings)
    with ctx.store.read() as state:
        algo = state.algorithms.get(target.full_name)
        if algo is None or algo.id != target.algorithm_id:
            raise PushRefused(f"{target.full_name} was deleted meanwhile")
        before = repository_of(state, algo)
    staging = ctx.storage.blobs.staging_dir()
    try:
        new_objects: dict[bytes, ShaFile | StoredBlob] = {}
        if pack is not None:
            new_objects = read_pack(pack, limits=limits, staging=staging, existing=_existing(before),
                                    inline_bytes=max(0, REPO_INLINE_MAX - before.inline_blob_bytes)).objects
        refs = _updated_refs(before, new_objects, commands)
        reached = _reachable(before, new_objects, [c.new for c in commands if c.new != ZERO])
        _check_trees([obj.tree for obj in reached.values() if isinstance(obj, Commit)],
                     lambda sha: reached.get(sha) or before.objects.get(sha), limits)
        size = before.size + sum(obj.raw_length() + OBJECT_OVERHEAD for obj in reached.values())
        if size > limits.repo_bytes:
            raise PackRefused(f"the repository would hold {size} bytes, over the limit of {limits.repo_bytes} "
                              "(--git-max-repo-mb)")
        staged = [obj for obj in reached.values() if isinstance(obj, StoredBlob)]
        blobs = ctx.storage.blobs
        blobs.ensure_room(sum(b.size for b in staged))
        after = Repository({**before.objects, **reached}, refs)
        head = refs.get(DEFAULT_BRANCH)
        moved = head is not None and head != before.refs.get(DEFAULT_BRANCH)
        if moved:        # the head must check out (into the cache, where its build finds it)
            checkout(ctx, target.algorithm_id, after, head.decode())
        after = Repository({**before.objects, **reached, **blobs.adopt(staged)}, refs)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with ctx.store.write() as state:
        algo = state.algorithms.get(target.full_name)
        if algo is None or algo.id != target.algorithm_id:
            raise PushRefused(f"{target.full_name} was deleted meanwhile")
        if repository_of(state, algo).refs != before.refs:
            raise PushRefused(f"{target.full_name} changed meanwhile: fetch and push again")
        state.put_repo(algo.full_name, after)
        algo.binding = algo.binding_base = None      # the repository now says what runs
    return after, moved


def _existing(repo: Repository) -> Callable[[bytes], ShaFile | StoredBlob | None]:
    def find(sha: bytes) -> ShaFile | StoredBlob | None:
        obj = repo.objects.get(sha)
        return obj if isinstance(obj, (ShaFile, StoredBlob)) else None
    return find


def _updated_refs(before: Repository, new_objects: dict, commands: list[Command]) -> dict[bytes, bytes]:
    refs = dict(before.refs)
    for command in commands:
        problem = _ref_problem(command.ref)
        current = before.refs.get(command.ref, ZERO)
        if problem is None and command.old != current:
            problem = "the ref moved meanwhile: fetch first"
        if problem is None and command.new != ZERO:
            obj = new_objects.get(command.new) or before.objects.get(command.new)
            if obj is None:
                problem = f"missing object {command.new.decode()}"
            elif command.ref.startswith(b"refs/heads/") and not isinstance(obj, Commit):
                problem = "a branch must point to a commit"
        if problem is None and command.new == ZERO and current == ZERO:
            problem = "no such ref to delete"
        if problem is not None:
            raise PushRefused(problem, ref=command.ref)
        if command.new == ZERO:
            refs.pop(command.ref, None)
        else:
            refs[command.ref] = command.new
    return refs


def _ref_problem(ref: bytes) -> str | None:
    """git check-ref-format's rules, briefly."""
    parts = ref.split(b"/")
    if not ref.startswith(b"refs/") or len(parts) < 3 or len(ref) > 1024:
        return "funny refname: only refs/heads/..., refs/tags/... and the like are taken"
    if (b".." in ref or b"@{" in ref or ref.endswith((b"/", b".")) or any(b in _BAD_REF_BYTES for b in ref)
            or any(not p or p.startswith(b".") or p.endswith(b".lock") for p in parts)):
        return "funny refname"
    return None


def _reachable(before: Repository, new_objects: dict, tips: list[bytes]) -> dict[bytes, ShaFile | StoredBlob]:
    """The pack's objects the new refs reach (the rest of the pack is dropped); everything they
    reach must be in the pack or already in the repository."""
    reached: dict[bytes, ShaFile | StoredBlob] = {}
    stack = list(tips)
    while stack:
        sha = stack.pop()
        if sha in reached or sha in before.objects:
            continue
        obj = new_objects.get(sha)
        if obj is None:
            raise PackRefused(f"the push lacks object {sha.decode()}, which it refers to")
        reached[sha] = obj
        if isinstance(obj, Commit):
            stack.append(obj.tree)
            stack.extend(obj.parents)
        elif isinstance(obj, Tree):
            stack.extend(entry.sha for entry in obj.items() if entry.mode != _GITLINK_MODE)
        elif isinstance(obj, Tag):
            stack.append(obj.object[1])
    return reached


def _check_trees(roots: list[bytes], get: Callable[[bytes], object], limits: GitLimits) -> None:
    """Each root tree's depth and longest path, without recursion, each tree measured once."""
    measured: dict[bytes, tuple[int, int]] = {}       # tree -> (folders nested below, longest path below)
    for root in roots:
        stack = [(root, False)]
        while stack:
            sha, children_done = stack.pop()
            if sha in measured:
                continue
            tree = get(sha)
            if not isinstance(tree, Tree):
                raise PackRefused(f"object {sha.decode()} should be a tree")
            if not children_done:
                stack.append((sha, True))
                for entry in tree.items():
                    _check_name(entry.path)
                    if entry.mode == _TREE_MODE and entry.sha not in measured:
                        stack.append((entry.sha, False))
                continue
            depth = longest = 0
            for entry in tree.items():
                if entry.mode == _TREE_MODE:
                    below, path = measured[entry.sha]
                    depth, longest = max(depth, below + 1), max(longest, len(entry.path) + 1 + path)
                else:
                    longest = max(longest, len(entry.path))
            if depth > limits.tree_depth:
                raise PackRefused(f"a commit nests folders more than {limits.tree_depth} levels deep "
                                  "(--git-max-tree-depth)")
            if longest > limits.path_bytes:
                raise PackRefused(f"a commit holds a path longer than {limits.path_bytes} bytes "
                                  "(--git-max-path-bytes)")
            measured[sha] = (depth, longest)


def _check_name(name: bytes) -> None:
    shown = name[:60].decode("utf-8", "replace")
    if len(name) > NAME_MAX:
        raise PackRefused(f"the name {shown!r}... is {len(name)} bytes long: a file or folder name can have at most "
                          f"{NAME_MAX}")
    if not name or b"/" in name or b"\0" in name or name in (b".", b"..") or name.lower() == b".git":
        raise PackRefused(f"a tree holds the name {shown!r}, which no checkout may write")


def _refused(commands: list[Command], message: str, *, unpacked: bool, ref: bytes | None = None) -> PushReport:
    """Nothing stored, every ref fails (the push is atomic). A refused pack says why in its
    unpack status ("error: remote unpack failed: ..."), a refused ref in its own."""
    report = PushReport(unpack_error=None if unpacked else f"push refused: {message}")
    for command in commands:
        if not unpacked:
            report.ref_errors[command.ref] = "unpacker error"
        else:
            report.ref_errors[command.ref] = message if command.ref == ref else "atomic push failed"
    return report


def _build(ctx: Ctx, target: GitTarget, base_url: str | None) -> list[str]:
    """The new head's build, as the push's last lines (read the build through the API too)."""
    try:
        build = builds.build_head(ctx, None, target.owner, target.name, "git push", base_url=base_url)
    except ApiError as err:     # e.g. deleted meanwhile: the push itself went through
        log.warning("no build after the push to %s: %s", target.full_name, err.message)
        return [f"no build: {err.message}"]
    status = "in progress" if build.status == "in-progress" else build.status
    return [f"build {build.build_id} of {build.commit_sha[:12]}: {status} (its logs: GET "
            f"/v1/algorithms/{target.full_name}/builds/{build.build_id}/logs)"]


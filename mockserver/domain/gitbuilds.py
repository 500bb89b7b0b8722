"""Building what was pushed, and running what was built: the rules.

A build checks the commit out (the server's checkout cache, ``runtime/checkouts.py``),
handles ``requirements.txt`` offline (each requirement must already be installed in the
server's environment, or install from the wheel folder the user configured:
``MOCKSERVER_WHEELHOUSE``; pip runs in ``runtime/wheels.py``), then imports the entrypoint
``src/<Name>.py`` and looks for ``apply``. The import is the runtime's one import check
(``runtime/importcheck.py``), in a child process with a time limit and the environment a
call gets (``build_env`` in builds.py): pushed code never runs inside the server process.
Invoking a version runs its build's commit from the same checkout, in the profile's worker
(runtime engine), never in the server's threads whatever the profile says.
"""
from __future__ import annotations

import functools
import importlib.metadata
import math
import os
from typing import Mapping

from mockserver.errors import CANNOT_EXECUTE, CODE_GONE, REPOSITORY_UNUSABLE, TOO_MANY_BUILDS, ApiError
from mockserver.ids import parse_iso
from mockserver.runtime import Binding
from mockserver.runtime.errors import ProcessesBusy
from mockserver.runtime.adk import ENTRYPOINT as ADK_ENTRYPOINT, entrypoint_in
from mockserver.runtime.wheels import pip_install
from mockserver.domain.store import State
from mockserver.domain.algorithm_models import Algorithm, Build
from mockserver.domain.context import Ctx
from mockserver.domain.gitlimits import GitLimits, RepositoryError
from mockserver.domain.refusals import CannotRun
from mockserver.domain.repository import (CONF_FILE, Repository, entrypoint, folder_files, initial, is_python,
                                          platform_conf, template_files)

CHECK_TIMEOUT_S = 60.0
SHOWN_PATH = "/opt/algorithm"         # the checkout's path as build logs show it


def checkout(ctx: Ctx, algorithm_id: str, repo: Repository, commit: str) -> tuple[str, bool]:
    """(the commit's folder in the server's checkout cache, True when written now). Raises
    RepositoryError when it breaks the limits, ApiError when the cache cannot hold it."""
    limits = GitLimits.of(ctx.settings)
    size = repo.checkout_size(commit, limits)
    return ctx.checkouts.place(ctx.scope, algorithm_id, commit, size,
                               lambda parent: repo.checkout(commit, os.path.join(parent, commit), limits))


# -- repositories as state ---------------------------------------------------------
# ``state.repos`` holds only repositories that differ from what an algorithm starts with
# (pushed, recompiled, or a fixture's folder). Until then an algorithm's repository is its
# language template, derived from its name, language and creation time: creating an
# algorithm writes no git objects, and the state export stays small.
def store_folder_repository(ctx: Ctx, state: State, algo: Algorithm, source_dir: str) -> Repository:
    """A fixture algorithm's repository: one commit of the files of ``source_dir``."""
    repo = initial(folder_files(source_dir), f"Initial commit of {algo.full_name} from the fixtures",
                   int(ctx.clock.now().timestamp())).with_blobs_on_disk(ctx.storage.blobs)
    state.put_repo(algo.full_name, repo)
    return repo


def blobs_on_disk(ctx: Ctx, state: State) -> None:
    """An imported state's repositories with their large blobs on disk, and the blobs its
    export left out found in this server's storage (ValueError when one is gone)."""
    for name, repo in list(state.repos.items()):
        state.put_repo(name, repo.with_blobs_on_disk(ctx.storage.blobs))


def repository_of(state: State, algo: Algorithm) -> Repository:
    """The algorithm's repository: the stored one, else its template's (see above)."""
    return state.repos.get(algo.full_name) or _template_repository(
        algo.full_name, algo.settings.get("language"), algo.created_at)


def keep_template_repository(state: State, algo: Algorithm) -> None:
    """Store the derived template repository (before a change to what it is derived from)."""
    if algo.full_name not in state.repos:
        state.put_repo(algo.full_name, repository_of(state, algo))


@functools.lru_cache(maxsize=256)
def _template_repository(full_name: str, language: str | None, created_at: str) -> Repository:
    owner, name = full_name.split("/", 1)
    message = f"Initial commit of {full_name} from the {language or 'python3-1'} template"
    created = parse_iso(created_at)       # None: a state imported from elsewhere may carry any text
    seconds = int(created.timestamp()) if created else 0
    files = {**template_files(name, language),
             CONF_FILE: platform_conf(owner, name, language, int(created.timestamp() * 1000) if created else 0)}
    return initial(files, message, seconds)


def verify(ctx: Ctx, algorithm_id: str, repo: Repository, commit: str, name: str, language: str | None,
           env: Mapping[str, str] | None = None) -> tuple[str | None, list[str], str | None]:
    """(entrypoint, log lines, problem or None) of building ``commit``; ``env``: the variables
    its import check runs with (``builds.build_env``)."""
    try:
        folder, _ = checkout(ctx, algorithm_id, repo, commit)
        files = sorted(path for path, _, _ in repo.walk(commit))
    except (RepositoryError, ApiError) as exc:      # a state imported with a tree too deep, a full cache
        problem = f"the commit cannot be checked out: {exc.message}"
        return None, [f"Step 1/3 : checkout {commit}", f"ERROR: {problem}"], problem
    steps = [f"Step 1/3 : checkout {commit} ({len(files)} files)"] + [f"  {path}" for path in files]
    steps.append("Beginning container customization")
    entry = entrypoint(name, language)
    if entry is not None:
        entry = entrypoint_in(files, entry)      # the ADK's src/Algorithm.py when the commit has it
    if entry is None:
        steps += ["Step 2/3 : dependencies: not checked for this language",
                  f"Step 3/3 : entrypoint: the mock cannot execute {language} code; the build succeeds so it can "
                  "be published, and calls answer an error unless a run-time binding is set"]
        return None, steps, None
    lines, problem = install_requirements(folder, ctx.settings.wheelhouse)
    ctx.checkouts.reseal(folder, commit)    # what pip wrote is the commit's uid's to read
    steps += ["Step 2/3 : requirements.txt"] + lines
    if problem:
        return entry, steps, problem
    steps.append(f"Step 3/3 : import entrypoint {entry} and find apply()")
    if not os.path.isfile(os.path.join(folder, *entry.split("/"))):
        problem = (f"the entrypoint {entry} is missing: the algorithm's code must be in src/{name}.py "
                   f"(or {ADK_ENTRYPOINT} for the ADK)")
        return entry, steps + [f"ERROR: {problem}"], problem
    if repo.is_template(commit, name, language):
        return entry, steps + ["  entrypoint ok (the unchanged template)"], None
    problem, trace = check_entrypoint(ctx, folder, commit, entry, env)
    if problem is None:
        return entry, steps + ["  entrypoint ok"], None
    shown = (trace or "").replace(folder, SHOWN_PATH).rstrip().splitlines()    # as the platform shows it
    last = shown[-1] if shown else problem.replace(folder, SHOWN_PATH)
    return entry, steps + [f"  {line}" for line in shown] + [f"ERROR: {last}"], last


def check_entrypoint(ctx: Ctx, folder: str, commit: str, entry: str, env: Mapping[str, str] | None = None
                     ) -> tuple[str | None, str | None]:
    """(problem, traceback) of importing the checked-out commit's entrypoint and finding
    ``apply``: the runtime's import check, as the commit's own user, with ``env``."""
    binding = ctx.checkouts.binding(folder, commit, entry)
    try:
        return ctx.engine.imports.check_traced(binding, CHECK_TIMEOUT_S, env=dict(env or {}))
    except ProcessesBusy as busy:     # every process of the server's cap is busy: not the code's fault
        raise ApiError(TOO_MANY_BUILDS, f"the build cannot check its entrypoint now: {busy.message}",
                       headers={"Retry-After": str(max(1, math.ceil(busy.retry_after)))}) from None


def install_requirements(folder: str, wheelhouse: str | None) -> tuple[list[str], str | None]:
    """Offline requirements: satisfied by what the server has installed, or installed from
    the wheel folder into ``src/`` (the entrypoint's folder, on the worker's import path)."""
    from packaging import requirements      # builds only: kept out of the server's start-up
    path = os.path.join(folder, "requirements.txt")
    if not os.path.isfile(path):
        return ["  no requirements.txt: nothing to install"], None
    with open(path, encoding="utf-8", errors="replace") as fh:
        raw_lines = fh.read().splitlines()
    lines: list[str] = []
    for raw in raw_lines:
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("-"):
            lines.append(f"  {text}: ignored (pip options do not apply offline)")
            continue
        try:
            req = requirements.Requirement(text)
        except requirements.InvalidRequirement as exc:
            problem = f"requirements.txt: cannot parse {text!r}: {exc}"
            return lines + [f"ERROR: {problem}"], problem
        if req.marker is not None and not req.marker.evaluate():
            lines.append(f"  {text}: skipped (its marker does not apply)")
            continue
        try:
            have = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have is not None and req.specifier.contains(have, prereleases=True):
            lines.append(f"  {text}: satisfied by the installed {req.name} {have}")
            continue
        found = f" (the installed version is {have})" if have else ""
        if not wheelhouse:
            problem = (f"requirement {text!r} is not installed{found} and no wheel folder is configured "
                       "(MOCKSERVER_WHEELHOUSE / --wheelhouse): the mock builds offline")
            return lines + [f"ERROR: {problem}"], problem
        ok, output = pip_install(text, os.path.join(folder, "src"), wheelhouse)
        if not ok:
            last = output.strip().splitlines()[-1] if output.strip() else "pip failed"
            problem = f"requirement {text!r} could not be installed from the wheel folder{found}: {last}"
            return lines + [f"ERROR: {problem}"], problem
        lines.append(f"  {text}: installed from the wheel folder")
    return lines, None


# -- running -------------------------------------------------------------------------
def source_of(state: State, algo: Algorithm, build: Build) -> tuple[str, str, Repository, Build, str]:
    """What a call of a repository build needs, read under the store lock."""
    repo = repository_of(state, algo)
    if not repo.has_commit(build.commit_sha):
        raise CannotRun(CODE_GONE, f"The code of {algo.full_name} at {build.commit_sha} is no longer in its repository")
    return algo.id, algo.full_name, repo, build, algo.settings.get("language") or "python3-1"


def binding_for(ctx: Ctx, algorithm_id: str, algo_name: str, repo: Repository, build: Build,
                language: str) -> Binding:
    """The built commit's entrypoint, checked out (again, after a restart, a state import or
    the cache dropping it)."""
    if not build.entrypoint or not is_python(language):
        raise CannotRun(CANNOT_EXECUTE, f"{algo_name} is written in {language}: the mock cannot execute its code. "
                        "Set a run-time binding (PUT /_mock/bindings) to give it behaviour")
    try:
        if repo.is_template(build.commit_sha, algo_name.split("/", 1)[1], language):
            return Binding.template()       # the same code, already loaded: no worker cold start per algorithm
        folder, fresh = checkout(ctx, algorithm_id, repo, build.commit_sha)
    except RepositoryError as exc:
        raise CannotRun(REPOSITORY_UNUSABLE, f"The code of {algo_name} at {build.commit_sha} cannot be checked out: "
                        f"{exc.message}") from None
    except ApiError as exc:           # the checkout cache is full, or no worker uid is free
        raise CannotRun(exc.kind, exc.message) from None
    if fresh:
        install_requirements(folder, ctx.settings.wheelhouse)
        ctx.checkouts.reseal(folder, build.commit_sha)
    return ctx.checkouts.binding(folder, build.commit_sha, build.entrypoint)


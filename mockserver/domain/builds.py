"""Compiling algorithms and reading their builds (seed 001 "Algorithm Builds").

A compile creates a build with a new 40-hex commit and a UUID build id. It is
finished when compile answers, unless the algorithm's environment profile
sets ``build_delay_s``: then the build is ``in-progress`` until that time has
passed and finishes lazily, the next time anything reads it (its logs answer
404 until then). A build fails when its bound callable cannot be imported.

A build takes time that shows: ``finished_at`` is ``started_at`` plus its duration, the
profile's ``build_delay_s`` (scaled) when set, else what the build's work took (checkout,
requirements, import check); under a frozen or step clock, where real time must not show,
``NOMINAL_BUILD_S`` instead.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import math
import time
from typing import Any

from mockserver.domain.principal import Principal
from mockserver.errors import (ALGORITHM_NOT_FOUND, BINDING_NOT_ALLOWED, BUILD_LOGS_NOT_READY, BUILD_NOT_FOUND,
                               NOTHING_TO_BUILD, TOO_MANY_BUILDS, ApiError)
from mockserver.ids import iso
from mockserver.pagination import Page, paginate, sorted_source
from mockserver.runtime import Binding
from mockserver.runtime.errors import BuildsBusy
from mockserver.domain.store import State
from mockserver.domain import callkeys, secrets
from mockserver.domain.algorithm_models import Algorithm, AlgorithmView, Build, own_dict
from mockserver.domain.algorithms import find, find_managed, view
from mockserver.domain.bindings import check_import
from mockserver.domain.context import Ctx
from mockserver.domain.environments import LANGUAGES
from mockserver.domain.profiles import profile_for
from mockserver.domain.gitbuilds import repository_of, verify
from mockserver.domain.repository import recommitted

NOMINAL_BUILD_S = 2.0        # a build's duration under a frozen or step clock (no build_delay_s)
# What each language's build step installs from (shown in the logs).
_DEPENDENCIES = {
    "python3-1": ("requirements.txt", "pip install -r requirements.txt"),
    "python2-langpack": ("requirements.txt", "pip install -r requirements.txt"),
    "java": ("pom.xml", "mvn -q package"),
    "scala": ("build.sbt", "sbt -batch compile"),
    "javascript": ("package.json", "npm install --production"),
    "r": ("packages.txt", "Rscript install_packages.R"),
    "ruby": ("Gemfile", "bundle install --deployment"),
    "rust": ("Cargo.toml", "cargo build --release"),
}


def _profile(ctx: Ctx, settings: dict[str, Any]):
    try:
        return profile_for(ctx, settings)
    except ApiError:
        return None


def _binding_of(state: State, algo: Algorithm) -> tuple[str | None, str | None, bool]:
    """What the build will run: a run-time binding of the algorithm, else its own; and whether
    the plugin or the operator bound it (trusted)."""
    if algo.full_name in state.bindings:
        return state.bindings[algo.full_name], None, algo.full_name in state.trusted_bindings
    return algo.binding, algo.binding_base, algo.binding_trusted


def check_binding(ctx: Ctx, target: str | None, base: str | None, *, refuse: bool = False,
                  trusted: bool = False) -> str | None:
    """None if the callable imports (or there is none: the platform template); else why not.
    Code outside the allowed folders / module prefixes is never imported: the build fails,
    or with ``refuse`` (fixtures) the request is refused with 403. ``trusted``: the operator's
    start-up fixtures bound it (it was checked against the allowed roots there)."""
    if not target or ctx.engine is None:
        return None
    binding = Binding(target, base_dir=base, trusted=trusted)
    denial = ctx.engine.binding_denial(binding)
    if denial and refuse:
        raise ApiError(BINDING_NOT_ALLOWED, f"Binding {target} is not allowed: {denial}")
    if denial:
        return f"the binding is not allowed: {denial}"
    return check_import(ctx, binding, f"Cannot check binding {target}")


@contextlib.contextmanager
def build_slot(ctx: Ctx, doing: str):
    """A slot of the server's build pool (this sandbox's share) for the ``with`` block: a build
    holds a request thread for up to a minute, so past the pool the answer is an immediate 429
    with ``Retry-After`` (``doing`` says what was refused), never a wait."""
    with contextlib.ExitStack() as held:
        if ctx.engine is not None:
            try:
                held.enter_context(ctx.engine.building())
            except BuildsBusy as busy:
                raise ApiError(TOO_MANY_BUILDS, f"{doing}: too many builds at once: {busy.message}",
                               headers={"Retry-After": str(max(1, math.ceil(busy.retry_after)))}) from None
        yield


def compile_algorithm(ctx: Ctx, who: Principal, owner: str, name: str, *, base_url: str | None = None
                      ) -> AlgorithmView:
    """Builds the repository's head; algorithms a fixture binds to a callable build that.
    ``base_url``: where the API is for the build's import check (the request's). Holds a slot
    of the server's build pool (429 when none is free)."""
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        owner, name = algo.owner, algo.name             # the stored spelling from here on
    with build_slot(ctx, f"Cannot compile {owner}/{name}"):
        return _compile(ctx, who, owner, name, base_url)


def _compile(ctx: Ctx, who: Principal, owner: str, name: str, base_url: str | None) -> AlgorithmView:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        target, base, trusted = _binding_of(state, algo)
        from_repository = algo.binding is None
    if from_repository:
        build = build_head(ctx, who, owner, name, f"POST /v1/algorithms/{owner}/{name}/compile", recompile=True,
                           base_url=base_url)
        with ctx.store.read() as state:
            return view(state, find_managed(ctx, state, who, owner, name), build)
    started = time.monotonic()
    problem = check_binding(ctx, target, base, trusted=trusted)      # imports code: outside the lock
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name)
        build = new_build(ctx, state, algo, problem, work_s=time.monotonic() - started)
        return view(state, algo, build)


def build_head(ctx: Ctx, who: Principal | None, owner: str, name: str, trigger: str, *,
               recompile: bool = False, base_url: str | None = None) -> Build:
    """A build of the default branch's head (``trigger``: why, for the logs). With ``recompile``
    (POST .../compile) a head that was built already gets a new commit with the same files
    first: each compile gives a new, publishable build (seed 003: "recompile your algorithm").
    ``base_url``: the API's address for the import check (None: no request, e.g. start-up fixtures).
    Builds (and pushes) of one algorithm take turns: the "head built already?" check and the
    build record are one critical section, so concurrent compiles each build their own commit."""
    with ctx.algorithm_lock(f"{owner}/{name}"):
        return _build_head(ctx, who, owner, name, trigger, recompile, base_url)


def _build_head(ctx: Ctx, who: Principal | None, owner: str, name: str, trigger: str, recompile: bool,
                base_url: str | None) -> Build:
    with ctx.store.write() as state:
        algo = find_managed(ctx, state, who, owner, name) if who else find(state, owner, name)
        owner, name = algo.owner, algo.name
        repo = repository_of(state, algo)
        head = repo.head()
        if recompile and head and any(b.commit_sha == head for b in algo.builds.values()):
            repo = recommitted(repo, "Recompile", int(ctx.clock.now().timestamp()))
            state.put_repo(algo.full_name, repo)
        algo_id, language, override = algo.id, algo.settings.get("language"), state.bindings.get(algo.full_name)
        override_trusted = algo.full_name in state.trusted_bindings
        key = callkeys.new_key(algo.owner, algo.full_name, call_permissions(algo, allow_data_write=True),
                               label=f"build of {algo.full_name}")
        env = build_env(ctx, algo, repo.head() or "", base_url, key.api_key)
    commit = repo.head()
    started = time.monotonic()
    if commit is None:
        raise ApiError(NOTHING_TO_BUILD, f"{owner}/{name} has no commit on its default branch (master) to build")
    with callkeys.live(ctx.store.call_keys, key):       # the owner's key, for the build's duration
        entry, steps, problem = verify(ctx, algo_id, repo, commit, name, language, env)   # outside the store lock
    steps.insert(0, f"Triggered by {trigger}")
    if override:
        denial = (ctx.engine.binding_denial(Binding(override, trusted=override_trusted))
                  if ctx.engine else None)
        if denial:          # e.g. planted through a state import: refused here as when it is called
            problem = problem or f"the run-time binding {override} is not allowed: {denial}"
            steps.append(f"ERROR: {problem}")
        else:
            steps.append(f"NOTE: a run-time binding (control API) is set for {owner}/{name}: calls run {override} "
                         "instead of this commit's code until it is cleared")
    with ctx.store.write() as state:
        algo = state.algorithm_named(owner, name)
        if algo is None or algo.id != algo_id:
            raise ApiError(ALGORITHM_NOT_FOUND, f"No such algorithm: {owner}/{name}")
        return new_build(ctx, state, algo, problem, commit_sha=commit, steps=steps, entrypoint=entry,
                         work_s=time.monotonic() - started)


def build_duration(ctx: Ctx, delay: float, work_s: float) -> float:
    """How long a build took, in seconds: the profile's (scaled) delay, else its real work, which
    a frozen or step clock replaces by ``NOMINAL_BUILD_S`` (answers stay reproducible)."""
    if delay > 0:
        return delay
    return NOMINAL_BUILD_S if ctx.clock.mode != "real" else max(work_s, 0.001)


def call_permissions(algo: Algorithm, *, allow_data_write: bool) -> dict[str, Any]:
    """What a key made for running ``algo`` may do: act on data for whom it runs (seed 001:
    ``.my`` is the caller), read its owner's ``algo://.my/*`` collections, call algorithms
    when ``pipeline_enabled``; never manage algorithms."""
    return {"allow_algo": bool(algo.settings.get("pipeline_enabled", True)), "allow_data": True,
            "allow_data_write": allow_data_write, "allow_algo_management": False, "allow_web_algo": False}


def build_env(ctx: Ctx, algo: Algorithm, commit: str, base_url: str | None, api_key: str) -> dict[str, str]:
    """The variables a build's import check gets: those a call gets (its profile's, the
    algorithm's secrets, ``ALGORITHMIA_API`` and a key, here of the algorithm's owner), so code
    that loads a model through the client at import time builds as it runs (the store's lock held)."""
    profile = _profile(ctx, algo.settings)
    env = {**secrets.environment(algo), "ALGORITHMIA_API_KEY": api_key, "ALGORITHMIA_ALGORITHM": algo.full_name,
           "ALGORITHMIA_VERSION": commit}
    if profile is not None:
        env.update({**profile.env, "ALGORITHMIA_PROFILE": profile.name, "ALGORITHMIA_PROCESSOR": profile.processor})
    api = base_url or ctx.settings.public_url
    if api:
        env["ALGORITHMIA_API"] = api.rstrip("/")
    return env


def new_build(ctx: Ctx, state: State, algo: Algorithm, problem: str | None, *, commit_sha: str | None = None,
              steps: list[str] | None = None, entrypoint: str | None = None, work_s: float = 0.0) -> Build:
    """Add a build of ``algo`` (the store's write lock held); with ``commit_sha`` and ``steps``
    a build of that commit of its repository (gitbuilds), else of its binding. ``work_s``: the
    real time its work took, just before this."""
    target, _, _ = _binding_of(state, algo)
    settings = {k: v for k, v in algo.settings.items()}
    profile = _profile(ctx, settings)
    delay = (getattr(profile, "build_delay_s", 0.0) or 0.0) * float(ctx.settings.profile_scale)
    duration = build_duration(ctx, delay, work_s)
    now = ctx.clock.now()
    # Under a real clock the work is over: it started ``duration`` ago. A fixed clock (and a
    # delayed build) starts now and finishes ``duration`` later.
    started = now - datetime.timedelta(seconds=duration) if ctx.clock.mode == "real" and delay <= 0 else now
    status = "failed" if problem else "succeeded"
    from_repository = commit_sha is not None
    build = Build(build_id=ctx.ids.uuid(), commit_sha=commit_sha or ctx.ids.git_hash(), status=status,
                  started_at=iso(started), binding=None if from_repository else algo.binding,
                  binding_base=None if from_repository else algo.binding_base,
                  binding_trusted=not from_repository and algo.binding_trusted,
                  settings=settings, seq=state.next_seq(), from_repository=from_repository, entrypoint=entrypoint)
    if from_repository:
        build.logs = repository_build_logs(algo, build, getattr(profile, "name", None),
                                           getattr(profile, "description", ""), steps or [], problem, duration)
    else:
        build.logs = build_logs(algo, build, target, getattr(profile, "name", None),
                                getattr(profile, "description", ""), problem, duration)
    finished = iso(started + datetime.timedelta(seconds=duration))
    if delay > 0:
        build.status, build.final_status = "in-progress", status
        build.ready_at = time.monotonic() + delay
        build.finishes_at = finished
    else:
        build.finished_at = finished
    own_dict(algo, "builds")[build.build_id] = build
    return build


def build_logs(algo: Algorithm, build: Build, target: str | None, profile: str | None, description: str, problem: str | None,
               duration: float) -> str:
    """Logs modelled on the platform's container build."""
    settings = build.settings
    language = settings.get("language") or settings.get("package_set") or "python3-1"
    environment = settings.get("environment", "cpu")
    digest = hashlib.sha256(build.commit_sha.encode()).hexdigest()
    manifest, install = _DEPENDENCIES.get(language, ("requirements.txt", "pip install -r requirements.txt"))
    image = f"algorithmia/langpack-{language}:{environment}-runtime"
    entry = target or "the platform template (src/__init__.py:apply)"
    lines = [
        f"Building algorithm {algo.full_name} at commit {build.commit_sha}",
        f"Build {build.build_id} started at {build.started_at}",
        f"Language: {language} ({LANGUAGES.get(language, language)})",
        f"Environment: {environment} (profile {profile or 'default'}{': ' + description if description else ''})",
        f"Step 1/7 : FROM {image}",
        f" ---> {digest[:12]}",
        "Step 2/7 : COPY --chown=algo:algo . /opt/algorithm",
        f" ---> {digest[12:24]}",
        "Step 3/7 : WORKDIR /opt/algorithm",
        f" ---> Running in {digest[24:36]}",
        "Beginning container customization",
        f"Step 4/7 : RUN {install}",
        f"Installing dependencies from {manifest}",
        f" ---> {digest[36:48]}",
        "Step 5/7 : RUN algorithmia-build verify-entrypoint",
        f"Checking entrypoint {entry}",
    ]
    if problem:
        lines += [f"ERROR: the algorithm entrypoint could not be loaded: {problem}",
                  "The command '/bin/sh -c algorithmia-build verify-entrypoint' returned a non-zero code: 1",
                  "Build failed"]
    else:
        lines += [" ---> entrypoint ok",
                  f"Step 6/7 : ENV ALGORITHMIA_ENVIRONMENT={environment} ALGORITHMIA_LANGUAGE={language}",
                  f" ---> {digest[48:60]}",
                  'Step 7/7 : ENTRYPOINT ["/opt/algorithmia/bin/algorithm-runner"]',
                  f"Successfully built {digest[:12]}",
                  f"Successfully tagged {algo.owner.lower()}/{algo.name.lower()}:{build.commit_sha[:12]}",
                  f"Build succeeded in {duration:.1f}s"]
    return "\n".join(lines)


def repository_build_logs(algo: Algorithm, build: Build, profile: str | None, description: str, steps: list[str],
                          problem: str | None, duration: float) -> str:
    """The real steps of building a commit (gitbuilds.verify) between the usual header and verdict."""
    settings = build.settings
    language = settings.get("language") or settings.get("package_set") or "python3-1"
    environment = settings.get("environment", "cpu")
    lines = [f"Building algorithm {algo.full_name} at commit {build.commit_sha}",
             f"Build {build.build_id} started at {build.started_at}",
             f"Language: {language} ({LANGUAGES.get(language, language)})",
             f"Environment: {environment} (profile {profile or 'default'}{': ' + description if description else ''})",
             *steps]
    if problem:
        lines += [f"Build failed in {duration:.1f}s: {problem}"]
    else:
        lines += [f"Successfully tagged {algo.owner.lower()}/{algo.name.lower()}:{build.commit_sha[:12]}",
                  f"Build succeeded in {duration:.1f}s"]
    return "\n".join(lines)


def find_build(algo: Algorithm, build_id: str) -> Build:
    build = algo.builds.get(build_id)
    if build is None:
        raise ApiError(BUILD_NOT_FOUND, f"No such build of {algo.full_name}: {build_id}")
    return build


def listing(ctx: Ctx, who: Principal, owner: str, name: str, **page: Any) -> Page:
    """A page of Builds (copies), newest first."""
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        return paginate(sorted_source(algo.builds.values(), key=lambda b: -b.seq), list_id=f"builds:{algo.id}",
                        render=copy.copy, **page)


def get(ctx: Ctx, who: Principal, owner: str, name: str, build_id: str) -> Build:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        return copy.copy(find_build(algo, build_id))


def logs(ctx: Ctx, who: Principal, owner: str, name: str, build_id: str) -> str:
    with ctx.store.read() as state:
        algo = find_managed(ctx, state, who, owner, name)
        build = find_build(algo, build_id)
        if build.status == "in-progress":
            raise ApiError(BUILD_LOGS_NOT_READY, f"The logs of build {build_id} are not available until it finishes "
                           "(status in-progress)")
        return build.logs


"""Domain rules of the algorithm lifecycle: semver bumping, breaking changes,
publish rules, build delay, version resolution for invocation, error records."""
import threading

import pytest

from mockserver.domain.principal import Principal
from mockserver.api import render
from mockserver.settings import Settings
from mockserver.domain import algorithms, builds, orgs, users, versions
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.errors import ApiError
from mockserver.ids import Clock, Ids, parse_iso
from mockserver.runtime import Profile
from mockserver.domain.store import Store
from support.algorithms import SETTINGS
from support.polling import until

BASE = "http://mock"


def who(username, admin=False):
    return Principal(ApiKey(api_key="k", id="k", owner=username,
                            key_type="PlatformAdminKey" if admin else "ManagementKey"))


DEMO, EVE, ADMIN = who("demo"), who("eve"), who(None, admin=True)


@pytest.fixture()
def ctx():
    c = Ctx(store=Store(), ids=Ids(7), clock=Clock("step"), settings=Settings(profile_scale=1.0),
            profiles={"python3-cpu": Profile(name="python3-cpu"), "python3-gpu": Profile(name="python3-gpu", processor="gpu")})
    for name in ("demo", "eve"):
        users.create(c, {"username": name, "email": f"{name}@example.com", "fullname": name})
    orgs.create(c, DEMO, {"org_name": "acme", "org_label": "Acme", "org_contact_name": "D",
                          "org_email": "ops@acme.com"})
    return c


def make(ctx, name="Hello", owner="demo", **settings):
    return render.algorithm(algorithms.create(ctx, DEMO, owner, {"name": name, "details": {"label": name},
                                                                 "settings": {**SETTINGS, **settings}}), BASE)


def compile_(ctx, name="Hello", owner="demo"):
    return render.algorithm(builds.compile_algorithm(ctx, DEMO, owner, name), BASE)


def publish(ctx, kind="minor", callability="public", name="Hello", **info):
    body = {"settings": {"algorithm_callability": callability}, "version_info": {"version_type": kind, **info}}
    return render.algorithm(versions.publish(ctx, DEMO, "demo", name, body), BASE)


def code_of(fn, *args, **kw):
    with pytest.raises(ApiError) as exc:
        fn(*args, **kw)
    return exc.value.code


@pytest.mark.parametrize("last,kind,expected", [
    (None, "patch", "0.0.1"), (None, "minor", "0.1.0"), (None, "major", "1.0.0"),
    ("0.1.0", "patch", "0.1.1"), ("0.1.1", "minor", "0.2.0"), ("0.2.7", "major", "1.0.0"),
    ("1.4.2", "patch", "1.4.3"),
])
def test_next_version(last, kind, expected):
    assert versions.next_version(last, kind) == expected


def test_minor_patch_major_and_revision(ctx):
    make(ctx)
    compile_(ctx)
    assert publish(ctx, "minor")["version_info"]["semantic_version"] == "0.1.0"
    compile_(ctx)
    assert publish(ctx, "revision")["version_info"]["semantic_version"] == "0.1.1"
    compile_(ctx)
    assert publish(ctx, "major")["version_info"]["semantic_version"] == "1.0.0"
    compile_(ctx)
    out = render.algorithm(versions.publish(ctx, DEMO, "demo", "Hello", {}), BASE)   # {} publishes a minor version
    assert out["version_info"]["semantic_version"] == "1.1.0"
    assert out["settings"]["algorithm_callability"] == "public"           # kept from the last version


def test_publish_rules(ctx):
    make(ctx)
    assert code_of(publish, ctx) == 2012                                 # nothing compiled yet
    first = compile_(ctx)["version_info"]["git_hash"]
    publish(ctx)
    assert code_of(publish, ctx) == 1007                                 # once per build
    second = compile_(ctx)["version_info"]["git_hash"]
    assert code_of(publish, ctx, git_hash=first) == 1007                 # an older, published build
    third = compile_(ctx)["version_info"]["git_hash"]
    assert code_of(publish, ctx, git_hash=second) == 2015                # only the most recent build
    assert code_of(publish, ctx, "huge") == 2015
    assert publish(ctx, git_hash=third)["version_info"]["git_hash"] == third


def test_breaking_changes_need_minor(ctx):
    make(ctx)
    compile_(ctx)
    publish(ctx, "minor", "private")
    compile_(ctx)
    with pytest.raises(ApiError) as exc:
        publish(ctx, "patch", "public")
    assert exc.value.code == 2015 and "algorithm_callability" in exc.value.message and "0.1.0" in exc.value.message
    assert publish(ctx, "minor", "public")["version_info"]["semantic_version"] == "0.2.0"
    algorithms.update(ctx, DEMO, "demo", "Hello", {"settings": {**SETTINGS, "environment": "gpu"}})
    compile_(ctx)
    with pytest.raises(ApiError) as exc:
        publish(ctx, "patch", "public")
    assert "environment" in exc.value.message
    assert publish(ctx, "major", "public")["settings"]["environment"] == "gpu"


def test_explicit_semantic_version(ctx):
    make(ctx)
    compile_(ctx)
    assert publish(ctx, semantic_version="0.3.0")["version_info"]["semantic_version"] == "0.3.0"
    compile_(ctx)
    assert code_of(publish, ctx, semantic_version="0.2.0") == 2015
    assert code_of(publish, ctx, semantic_version="banana") == 2015
    assert publish(ctx, semantic_version="0.3.1")["version_info"]["semantic_version"] == "0.3.1"


def test_concurrent_publishes_are_unique_and_gap_free(ctx):
    make(ctx)
    won, lost = [], []

    def worker():
        for _ in range(50):
            compile_(ctx)
            try:
                won.append(publish(ctx, "patch")["version_info"]["semantic_version"])
                return
            except ApiError as exc:
                assert exc.code in (1007, 2015)
                lost.append(exc.code)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won, key=lambda v: int(v.split(".")[2])) == [f"0.0.{i}" for i in range(1, 17)]


def test_same_build_published_once_under_contention(ctx):
    make(ctx)
    compile_(ctx)
    results = []
    barrier = threading.Barrier(12)

    def worker():
        barrier.wait()
        try:
            results.append(publish(ctx)["version_info"]["semantic_version"])
        except ApiError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["0.1.0"] + ["1007"] * 11


def test_build_delay_from_profile(ctx):
    # long enough that the checks of the build in progress run before it ends, however loaded the machine
    ctx.profiles["python3-cpu"] = Profile(name="python3-cpu", build_delay_s=2.0)
    make(ctx)
    out = compile_(ctx)
    assert out["build"]["status"] == "in-progress" and out["compilation"]["successful"] is False
    build_id = out["build"]["build_id"]
    assert code_of(builds.logs, ctx, DEMO, "demo", "Hello", build_id) == 1000
    assert code_of(publish, ctx) == 2012
    assert until(lambda: builds.get(ctx, DEMO, "demo", "Hello", build_id).status != "in-progress", timeout=30)
    got = builds.get(ctx, DEMO, "demo", "Hello", build_id)
    assert got.status == "succeeded" and got.finished_at > got.started_at
    assert "Beginning container customization" in builds.logs(ctx, DEMO, "demo", "Hello", build_id)
    assert publish(ctx)["version_info"]["semantic_version"] == "0.1.0"


@pytest.mark.parametrize("clock", ["frozen", "step"])
def test_builds_take_time_that_shows_under_a_fixed_clock(ctx, clock):
    """started_at before finished_at by the build's duration (issue 27 item 7): the nominal
    duration under a frozen or step clock, the profile's build_delay_s when it sets one."""
    ctx.clock = Clock(clock)
    make(ctx)
    build = compile_(ctx)["build"]
    started, finished = parse_iso(build["started_at"]), parse_iso(build["finished_at"])
    assert (finished - started).total_seconds() == builds.NOMINAL_BUILD_S
    assert f"Build succeeded in {builds.NOMINAL_BUILD_S:.1f}s" in builds.logs(ctx, DEMO, "demo", "Hello", build["build_id"])
    ctx.profiles["python3-cpu"] = Profile(name="python3-cpu", build_delay_s=30)
    delayed = compile_(ctx)["build"]
    assert delayed["status"] == "in-progress"
    got = builds.get(ctx, DEMO, "demo", "Hello", delayed["build_id"])
    assert (parse_iso(got.finishes_at) - parse_iso(got.started_at)).total_seconds() == 30


def test_builds_take_time_that_shows_under_the_real_clock(ctx):
    ctx.clock = Clock("real")
    make(ctx)
    build = compile_(ctx)["build"]
    assert parse_iso(build["started_at"]) < parse_iso(build["finished_at"])


def test_missing_profiles_mean_no_delay(ctx):
    ctx.profiles = None
    make(ctx)
    assert compile_(ctx)["build"]["status"] == "succeeded"


def test_logs_mention_language_and_environment(ctx):
    make(ctx, environment="gpu")
    build_id = compile_(ctx)["build"]["build_id"]
    logs = builds.logs(ctx, DEMO, "demo", "Hello", build_id)
    assert "python3-1" in logs and "gpu" in logs and len(logs.splitlines()) > 10


# -- resolution for invocation ------------------------------------------------------
def resolve(ctx, spec, caller=DEMO, name="Hello"):
    with ctx.store.read() as state:
        algo, build, version = versions.resolve_for_invocation(state, caller, "demo", name, spec)
        return build.commit_sha, version.semantic_version if version else None


@pytest.fixture()
def published(ctx):
    """0.1.0 public, 0.2.0 private, 1.0.0 public, 1.1.0 private, then an unpublished build."""
    make(ctx)
    hashes = {}
    for kind, callability in (("minor", "public"), ("minor", "private"), ("major", "public"), ("minor", "private")):
        compile_(ctx)
        out = publish(ctx, kind, callability)
        hashes[out["version_info"]["semantic_version"]] = out["version_info"]["git_hash"]
    hashes["unpublished"] = compile_(ctx)["version_info"]["git_hash"]
    return hashes


@pytest.mark.parametrize("spec,caller,expected", [
    (None, EVE, "1.0.0"), ("", DEMO, "1.0.0"), ("latestPrivate", DEMO, "1.1.0"),
    ("0.1.0", EVE, "0.1.0"), ("0.2.0", DEMO, "0.2.0"), ("1.*", EVE, "1.0.0"), ("0.*", DEMO, "0.1.0"),
    ("0.1.*", EVE, "0.1.0"), ("1.1.0", ADMIN, "1.1.0"),
    # partial versions without the star resolve as with it (seed 004; the clients' READMEs call ".../0.1")
    ("0.1", EVE, "0.1.0"), ("1", EVE, "1.0.0"), ("0", DEMO, "0.1.0"), ("1.0", DEMO, "1.0.0"),
])
def test_resolution(ctx, published, spec, caller, expected):
    assert resolve(ctx, spec, caller) == (published[expected], expected)


@pytest.mark.parametrize("spec,caller,code", [
    ("latestPrivate", EVE, 1001), ("0.2.0", EVE, 1001), ("1.1.0", EVE, 1001), ("2.*", DEMO, 1001),
    ("0.2.*", DEMO, 1001), ("9.9.9", DEMO, 1001), ("not-a-version", DEMO, 1001),
    # under the same callability rules: public versions only, the owner included
    ("0.2", DEMO, 1001), ("1.1", EVE, 1001), ("2", DEMO, 1001), ("1.", DEMO, 1001), ("1.2.3.4", DEMO, 1001),
])
def test_resolution_refusals(ctx, published, spec, caller, code):
    with pytest.raises(ApiError) as exc:
        resolve(ctx, spec, caller)
    assert exc.value.code == code and spec in exc.value.message


def test_latest_private_is_the_latest_version_published_privately(ctx, published):
    """Seed 001: "Resolves to the latest version you have published privately": a newer public
    version is not it (issue 27 item 8, docs/behaviour.md)."""
    compile_(ctx)
    assert publish(ctx, "minor", "public")["version_info"]["semantic_version"] == "1.2.0"
    assert resolve(ctx, "latestPrivate") == (published["1.1.0"], "1.1.0")


def test_latest_private_without_a_private_version_is_1001(ctx):
    make(ctx)
    compile_(ctx)
    publish(ctx, "minor", "public")
    with pytest.raises(ApiError) as exc:
        resolve(ctx, "latestPrivate")
    assert exc.value.code == 1001 and "privately" in exc.value.message


def test_resolution_by_hash(ctx, published):
    assert resolve(ctx, published["unpublished"]) == (published["unpublished"], None)
    assert resolve(ctx, published["0.2.0"]) == (published["0.2.0"], "0.2.0")
    assert resolve(ctx, published["1.0.0"], EVE) == (published["1.0.0"], "1.0.0")
    for private in ("unpublished", "0.2.0"):
        with pytest.raises(ApiError) as exc:
            resolve(ctx, published[private], EVE)
        assert exc.value.code == 1001


def test_resolution_of_hidden_and_unpublished_algorithms(ctx):
    make(ctx)
    compile_(ctx)
    with pytest.raises(ApiError) as exc:
        resolve(ctx, None, EVE)
    assert exc.value.code == 1000 and "demo/Hello" in exc.value.message       # private: invisible
    with pytest.raises(ApiError) as exc:
        resolve(ctx, None, DEMO)
    assert exc.value.code == 1001 and "git hash" in exc.value.message
    with pytest.raises(ApiError) as exc:
        resolve(ctx, None, DEMO, name="Nope")
    assert exc.value.code == 1000 and "Nope" in exc.value.message


def test_org_members_resolve_private_versions(ctx):
    make(ctx, owner="acme")
    builds.compile_algorithm(ctx, DEMO, "acme", "Hello")
    versions.publish(ctx, DEMO, "acme", "Hello", {"settings": {"algorithm_callability": "private"}})
    with ctx.store.read() as state:
        _, _, version = versions.resolve_for_invocation(state, DEMO, "acme", "Hello", "latestPrivate")
        assert version.semantic_version == "0.1.0"
        with pytest.raises(ApiError):
            versions.resolve_for_invocation(state, EVE, "acme", "Hello", "0.1.0")


def test_record_error_feeds_the_error_lists(ctx):
    make(ctx)
    with ctx.store.write() as state:
        algo = state.algorithms["demo/Hello"]
        versions.record_error(state, ctx, algo, "eve", "0.1.0", "boom", "AlgorithmError", "req-1")
        versions.record_error(state, ctx, algo, "eve", "0.1.0", "bang", "AlgorithmError", "req-2")
        algo_id = algo.id
    listed = algorithms.errors_of_algorithm(ctx, DEMO, "demo", "Hello")
    assert [e.message for e in listed] == ["bang", "boom"]
    assert algorithms.errors_of_algorithm_id(ctx, DEMO, algo_id, 1)[0].request_id == "req-2"
    assert len(algorithms.errors_of_user(ctx, DEMO, "demo")) == 2
    assert algorithms.errors_of_org(ctx, DEMO, "acme") == []
    assert code_of(algorithms.errors_of_user, ctx, EVE, "demo") == 2001
    algorithms.delete(ctx, DEMO, "demo", "Hello")
    assert algorithms.errors_of_user(ctx, DEMO, "demo") == []


# -- the fixtures' algorithms section ---------------------------------------------------
def test_fixture_section(ctx, tmp_path):
    from mockserver.fixtures import FixtureError, load_file
    (tmp_path / "algos").mkdir()
    (tmp_path / "algos" / "shout.py").write_text("def apply(input):\n    return str(input).upper()\n")
    (tmp_path / "f.yaml").write_text(
        "algorithms:\n"
        "  - owner: demo\n    name: Shout\n    binding: algos/shout.py:apply\n"
        "    versions:\n      - {version_type: minor, callability: private, release_notes: one}\n"
        "      - {semantic_version: 2.0.0, callability: public}\n"
        "    compiled: true\n")
    load_file(ctx, tmp_path / "f.yaml")
    with ctx.store.read() as state:
        algo = state.algorithms["demo/Shout"]
        assert [v.semantic_version for v in algo.versions] == ["0.1.0", "2.0.0"]
        assert len(algo.builds) == 3 and algo.binding == "algos/shout.py:apply"
        assert all(b.binding_base == str(tmp_path) for b in algo.builds.values())
        assert algo.settings["algorithm_callability"] == "public"
    (tmp_path / "bad.yaml").write_text("algorithms:\n  - {owner: demo, name: Bad, colour: red}\n")
    with pytest.raises(FixtureError, match="algorithms/0.*colour"):
        load_file(ctx, tmp_path / "bad.yaml")
    (tmp_path / "dup.yaml").write_text("algorithms:\n  - {owner: demo, name: shout}\n")
    with pytest.raises(FixtureError, match="already exists"):
        load_file(ctx, tmp_path / "dup.yaml")


def _held_elsewhere(lock) -> bool:
    """Whether another thread finds ``lock`` taken."""
    taken = []

    def probe():
        got = lock.acquire(blocking=False)
        taken.append(not got)
        if got:
            lock.release()
    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return taken == [True]


def test_create_and_get_present_the_stored_algorithm_under_the_lock(ctx):
    def present(view):
        return view.algo, _held_elsewhere(ctx.store.lock), render.algorithm(view, BASE)
    body = {"name": "Shown", "details": {"label": "Shown"}, "settings": SETTINGS}
    algo, held, created = algorithms.create(ctx, DEMO, "demo", body, present=present)
    assert held and algo is ctx.store.state.algorithms["demo/Shown"]
    algo, held, found = algorithms.get(ctx, DEMO, "demo", "shown", present=present)
    assert held and algo is ctx.store.state.algorithms["demo/Shown"]
    copied = algorithms.get(ctx, DEMO, "demo", "Shown")          # without present: copies, after the lock
    assert copied.algo is not algo and render.algorithm(copied, BASE) == found == created
    assert not _held_elsewhere(ctx.store.lock)

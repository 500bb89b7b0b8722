"""Many threads on shared objects: no lost updates, no duplicates, consistent listings, no 5xx.

The logic tests use the Flask test client from many threads (one client per thread,
one shared app); one test goes through a live threaded server, and a short soak runs
against the mockserver command (``SOAK_SECONDS``, default 5; the 30 s soak is
``python benchmarks/run.py --soak``). Every loop is bounded in count and time.
"""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mockserver.app import create_app
from mockserver.settings import Settings
from support.algorithms import SETTINGS as ALGORITHM_SETTINGS
from support.api import ADMIN, DEMO, error_of

THREADS = 8
SERVED_ENV = {"MOCKSERVER_THREADS": "8"}                # served_server's
SETTINGS = {**ALGORITHM_SETTINGS, "pipeline_enabled": False}


@pytest.fixture(scope="module")
def builds_app():
    """An app whose build pool admits every compile the races below start at once: they test
    what concurrent compiles do to builds and versions, not the pool, which would refuse most
    of them with 429 (tests/ways/test_admission_live.py tests it). 128 threads leave room for it."""
    return create_app(Settings(profile_scale=0.0, seed=1234, threads=128, builds_max=24, builds_per_sandbox=24))


def hdr(key, ctype="application/json"):
    return {"Authorization": f"Simple {key}", "Content-Type": ctype}


def hammer(app, jobs, threads=THREADS):
    """Run ``jobs`` (callables taking a test client) on ``threads`` threads; return their results."""
    local = threading.local()

    def run(job):
        if not hasattr(local, "client"):
            local.client = app.test_client()
        return job(local.client)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, jobs, timeout=120))


def no_5xx(responses):
    bad = [(r.status_code, r.data[:200]) for r in responses if r.status_code >= 500]
    assert not bad, bad


def all_pages(client, path, key=ADMIN, limit=7):
    """Follow the marker through every page (bounded)."""
    out, marker = [], None
    for _ in range(10_000):
        q = {"limit": limit, **({"marker": marker} if marker else {})}
        r = client.get(path, headers=hdr(key), query_string=q)
        assert r.status_code == 200, r.data
        body = r.get_json()
        out += body["results"]
        marker = body["marker"]
        if not marker:
            return out
    raise AssertionError("pagination did not end")


def test_concurrent_user_creation_no_duplicates(app, server):
    """8 threads race to create the same 30 usernames, 4 times each: exactly one wins per name."""
    names = [f"race{i:02d}" for i in range(30)]
    jobs = [lambda c, n=n, k=k: c.post("/v1/users", headers=hdr(ADMIN), data=json.dumps(
        {"username": n, "email": f"{n}.{k}@example.com", "fullname": n})) for n in names for k in range(4)]
    responses = hammer(app, jobs)
    no_5xx(responses)
    wins = [json.loads(r.data)["username"] for r in responses if r.status_code == 200]
    assert sorted(wins) == names                                         # one per name, none lost
    for r in responses:
        if r.status_code != 200:
            error_of(r, 409, 3003)                                       # the username is taken
    listed = [u["username"] for u in all_pages(app.test_client(), "/v1/users")]
    assert len(listed) == len(set(listed))                               # no duplicates in the listing
    assert set(names) <= set(listed)


def test_concurrent_updates_are_not_lost(app, server):
    """Each thread updates its own user many times while others read the listing: last write wins per user."""
    users = [f"upd{i}" for i in range(THREADS)]
    client = app.test_client()
    for u in users:
        assert client.post("/v1/users", headers=hdr(ADMIN), data=json.dumps(
            {"username": u, "email": f"{u}@example.com", "fullname": "v0"})).status_code == 200
    rounds = 25
    jobs = []
    for i in range(rounds):
        for u in users:
            jobs.append(lambda c, u=u, i=i: c.put(f"/v1/users/{u}", headers=hdr(ADMIN), data=json.dumps(
                {"username": u, "email": f"{u}@example.com", "fullname": f"v{i}", "company_name": f"c{i}"})))
            jobs.append(lambda c: c.get("/v1/users", headers=hdr(ADMIN), query_string={"limit": 5}))
    # Order per user is preserved only within one thread; so check the final value is one written value.
    responses = hammer(app, jobs)
    no_5xx(responses)
    assert all(r.status_code == 200 for r in responses)
    for u in users:
        got = client.get(f"/v1/users/{u}", headers=hdr(ADMIN)).get_json()
        assert got["fullname"].startswith("v") and got["company_name"] == "c" + got["fullname"][1:]   # not torn


def test_concurrent_org_members_no_lost_updates(app, server):
    """Threads add 40 members to one org at once, and remove 20 of them: exactly 20 + the fixtures' remain."""
    client = app.test_client()
    members = [f"mem{i:02d}" for i in range(40)]
    for u in members:
        assert client.post("/v1/users", headers=hdr(ADMIN), data=json.dumps(
            {"username": u, "email": f"{u}@example.com", "fullname": u})).status_code == 200
    adds = [lambda c, u=u: c.put(f"/v1/organizations/acme/members/{u}", headers=hdr(ADMIN)) for u in members]
    no_5xx(hammer(app, adds))
    removes = [lambda c, u=u: c.delete(f"/v1/organizations/acme/members/{u}", headers=hdr(ADMIN))
               for u in members[::2]]
    roles = [lambda c, u=u: c.put(f"/v1/organizations/acme/members/{u}", headers=hdr(ADMIN),
                                  data=json.dumps({"role": "member"})) for u in members[1::2]]
    responses = hammer(app, removes + roles)
    no_5xx(responses)
    statuses = [r.status_code for r in responses]
    assert statuses == [204] * len(removes) + [200] * len(roles), [(r.status_code, r.data[:100]) for r in responses]
    listed = [m["username"] for m in all_pages(client, "/v1/organizations/acme/members", key=ADMIN)]
    assert len(listed) == len(set(listed))
    assert set(listed) == {"alice", "demo", *members[1::2]}


def test_concurrent_key_creation_unique(app, server):
    """60 keys minted concurrently for one user: 60 distinct secrets and ids, all listed, all usable."""
    body = json.dumps({"key_label": "par", "key_type": "ManagementKey"})
    client = app.test_client()
    before = len(client.get("/v1/users/demo/keys", headers=hdr(DEMO)).get_json())
    responses = hammer(app, [lambda c: c.post("/v1/users/demo/keys", headers=hdr(DEMO), data=body)] * 60)
    no_5xx(responses)
    assert all(r.status_code == 200 for r in responses), responses[0].data
    keys = [r.get_json() for r in responses]
    assert len({k["api_key"] for k in keys}) == 60
    listed = client.get("/v1/users/demo/keys", headers=hdr(DEMO)).get_json()
    assert len(listed) == before + 60
    sample = keys[::10]
    assert all(client.get("/v1/users/demo/algorithms", headers=hdr(k["api_key"])).status_code == 200 for k in sample)


def test_concurrent_create_delete_same_user_consistent(app, server):
    """Create/delete/get races on the same few names: only 200/204/404/409-class answers, state consistent."""
    names = ["flip0", "flip1", "flip2"]

    def job(i):
        n = names[i % 3]
        op = i % 3
        if op == 0:
            return lambda c: c.post("/v1/users", headers=hdr(ADMIN), data=json.dumps(
                {"username": n, "email": f"{n}@example.com", "fullname": n}))
        if op == 1:
            return lambda c: c.delete(f"/v1/users/{n}", headers=hdr(ADMIN))
        return lambda c: c.get(f"/v1/users/{n}", headers=hdr(ADMIN))

    responses = hammer(app, [job(i + j) for i in range(60) for j in range(3)])
    no_5xx(responses)
    client = app.test_client()
    listed = {u["username"] for u in all_pages(client, "/v1/users")}
    for n in names:
        exists = client.get(f"/v1/users/{n}", headers=hdr(ADMIN)).status_code == 200
        assert exists == (n in listed)


def test_concurrent_publish_no_duplicate_versions(builds_app):
    """Threads compile+publish one algorithm at once: every semantic version is distinct and listed once."""
    app = builds_app
    client = app.test_client()
    r = client.post("/v1/algorithms/demo", headers=hdr(DEMO), data=json.dumps(
        {"name": "Racy", "details": {"label": "Racy"}, "settings": SETTINGS}))
    assert r.status_code == 200, r.data

    def publish(c):
        c.post("/v1/algorithms/demo/Racy/compile", headers=hdr(DEMO))
        return c.post("/v1/algorithms/demo/Racy/versions", headers=hdr(DEMO), data=json.dumps(
            {"settings": {"algorithm_callability": "private"}, "version_info": {"version_type": "patch"}}))

    responses = hammer(app, [publish] * 24)
    no_5xx(responses)
    published = [r.get_json()["version_info"]["semantic_version"] for r in responses if r.status_code == 200]
    assert published, [r.data[:200] for r in responses[:3]]
    assert len(published) == len(set(published)), sorted(published)
    # Failures, if any, are the documented "this build is published already" kind (1007).
    assert all(r.status_code == 200 or error_of(r, 400, 1007) for r in responses)
    listed = all_pages(client, "/v1/algorithms/demo/Racy/versions", key=DEMO)
    # unpublished builds are listed too, without a semantic version
    versions = [v["version_info"].get("semantic_version") for v in listed]
    versions = [v for v in versions if v]
    assert len(versions) == len(set(versions))
    assert set(published) <= set(versions)


def test_concurrent_uploads_not_torn(app, server):
    """Threads overwrite one file with distinct 64 KiB bodies: the result is exactly one of them."""
    client = app.test_client()
    r = client.post("/v1/data/.my", headers=hdr(DEMO), data=json.dumps({"name": "race"}))
    assert r.status_code == 200, r.data
    bodies = [bytes([65 + i]) * (64 * 1024) for i in range(THREADS)]
    jobs = [lambda c, b=b: c.put("/v1/data/.my/race/file.bin", headers=hdr(DEMO, "application/octet-stream"), data=b)
            for b in bodies for _ in range(4)]
    jobs += [lambda c, i=i: c.put(f"/v1/data/.my/race/f{i}.bin", headers=hdr(DEMO, "application/octet-stream"),
                                  data=b"x" * 100) for i in range(40)]
    responses = hammer(app, jobs)
    no_5xx(responses)
    assert all(r.status_code == 200 for r in responses), responses[0].data[:200]
    got = client.get("/v1/data/.my/race/file.bin", headers=hdr(DEMO))
    assert got.status_code == 200
    assert got.data in bodies
    listing = client.get("/v1/data/.my/race", headers=hdr(DEMO), query_string={"limit": 1000}).get_json()
    names = [f["filename"] for f in listing.get("files", [])]
    assert len(names) == len(set(names)) == 41


# ------------------------------------------------------------------------------ live servers

def test_live_threaded_server_parallel_clients(live_server):
    """The same races through real sockets (werkzeug threaded server)."""
    url = live_server.url
    names = [f"live{i:02d}" for i in range(20)]

    def create(n):
        with requests.Session() as s:
            return [s.post(f"{url}/v1/users", headers=hdr(ADMIN), timeout=30,
                           json={"username": n, "email": f"{n}.{k}@example.com", "fullname": n}).status_code
                    for k in range(3)]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for batch in pool.map(create, names, timeout=120) for s in batch]
    assert all(s < 500 for s in statuses)
    assert statuses.count(200) == len(names)
    listed, marker = [], None
    for _ in range(1000):
        r = requests.get(f"{url}/v1/users", headers=hdr(ADMIN), timeout=30,
                         params={"limit": 9, **({"marker": marker} if marker else {})}).json()
        listed += [u["username"] for u in r["results"]]
        marker = r["marker"]
        if not marker:
            break
    assert len(listed) == len(set(listed)) and set(names) <= set(listed)


def test_served_soak_zero_errors(served_server):
    """8 client threads for SOAK_SECONDS (default 5) of mixed reads and writes: zero errors."""
    url = served_server[0]
    seconds = float(os.environ.get("SOAK_SECONDS", "5"))
    routes = [("GET", "/v1/users/demo", None, ADMIN), ("GET", "/v1/users", None, ADMIN),
              ("GET", "/v1/organizations/acme/members", None, ADMIN), ("GET", "/v1/scms", None, DEMO),
              ("PUT", "/v1/users/demo", {"username": "demo", "email": "demo@example.com", "fullname": "Soak"}, ADMIN),
              ("POST", "/v1/users/demo/keys", {"key_label": "soak", "key_type": "ManagementKey"}, DEMO)]
    stop_at = time.monotonic() + seconds
    errors, counts = [], []
    lock = threading.Lock()

    def client(i):
        n = 0
        with requests.Session() as s:
            while time.monotonic() < stop_at and n < 50_000:
                method, path, body, key = routes[(i + n) % len(routes)]
                n += 1
                try:
                    r = s.request(method, url + path, json=body, headers={"Authorization": f"Simple {key}"}, timeout=15)
                    if r.status_code >= 400:
                        with lock:
                            errors.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
                except requests.RequestException as exc:
                    with lock:
                        errors.append(f"{method} {path}: {exc}")
        with lock:
            counts.append(n)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    assert not errors, errors[:5]
    assert sum(counts) > 8 * seconds       # it did run (>1 req/s per thread even on a busy CI box)
    health = requests.get(f"{url}/_mock/health", timeout=5)
    assert health.status_code == 200


def test_concurrent_compiles_each_build_their_own_commit(builds_app):
    """21 compiles of one algorithm at once: 21 builds on 21 commits (issue 26: they shared 6).
    The "head built already?" check and the build record are one critical section."""
    app = builds_app
    client = app.test_client()
    r = client.post("/v1/algorithms/demo", headers=hdr(DEMO),
                    data=json.dumps({"name": "Racer", "details": {"label": "Racer"}, "settings": SETTINGS}))
    assert r.status_code == 200, r.data
    responses = hammer(app, [lambda c: c.post("/v1/algorithms/demo/Racer/compile", headers=hdr(DEMO))] * 21,
                       threads=21)
    no_5xx(responses)
    assert all(r.status_code == 200 for r in responses), [r.data[:200] for r in responses if r.status_code != 200]
    commits = [r.get_json()["build"]["commit_sha"] for r in responses]
    assert len(set(commits)) == 21
    listed = client.get("/v1/algorithms/demo/Racer/builds", query_string={"limit": 100}, headers=hdr(DEMO))
    assert sorted(b["commit_sha"] for b in listed.get_json()["results"]) == sorted(commits)

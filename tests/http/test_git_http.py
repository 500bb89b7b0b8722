"""The git smart-HTTP server through Flask's test client: who gets what, and repositories as state."""
import base64

import pytest
from dulwich.objects import Blob, Commit, Tree

from support import gitpacks
from support.algorithms import SETTINGS
from support.api import ALICE, BOB, DEMO, error_of

REFS = "/git/demo/Repo.git/info/refs"


def basic(key, user="demo"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


@pytest.fixture()
def repo(api):
    r = api.post("/v1/algorithms/demo", {"name": "Repo", "details": {"label": "Repo"}, "settings": SETTINGS})
    assert r.status_code == 200, r.data
    return api.client


def advertise(client, service="git-upload-pack", **headers):
    return client.get(REFS, query_string={"service": service}, headers=headers)


def head_sha(response):
    """The first ref line of a smart-HTTP advertisement (after the service header and flush)."""
    lines = response.data.split(b"\n")
    first = next(line for line in lines if b"refs/heads/master" in line or b"HEAD" in line)
    return first[first.index(b"0000") + 8 if first.startswith(b"0000") else 4:][:40].decode()


def test_the_owner_reads_and_may_push(repo):
    r = advertise(repo, **basic(DEMO))
    assert r.status_code == 200 and r.content_type == "application/x-git-upload-pack-advertisement"
    assert b"refs/heads/master" in r.data
    r = advertise(repo, "git-receive-pack", **basic(DEMO))
    assert r.status_code == 200 and r.content_type == "application/x-git-receive-pack-advertisement"


def test_the_key_may_be_the_user_name_or_an_api_header(repo):
    assert advertise(repo, **basic("", user=DEMO)).status_code == 200
    assert advertise(repo, Authorization=f"Simple {DEMO}").status_code == 200


@pytest.mark.parametrize("headers", [{}, basic("simNotAKey"), {"Authorization": "Basic !!!"},
                                     {"Authorization": b"Basic \xff\xfe\xe9".decode("latin-1")},
                                     {"Authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()}],
                         ids=["none", "unknown key", "not base64", "non-ASCII bytes", "not UTF-8"])
def test_without_valid_credentials_git_is_asked_for_them(repo, headers, caplog):
    r = advertise(repo, **headers)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
    assert r.content_type.startswith("text/plain") and b"Traceback" not in r.data
    assert not [rec for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL") or rec.exc_info]


def test_others_do_not_see_a_private_algorithm(repo):
    r = advertise(repo, **basic(ALICE))
    assert r.status_code == 404 and b"not found" in r.data


def test_closed_source_is_cloned_by_its_owner_only(api, repo):
    api.post("/v1/algorithms/demo/Repo/compile")
    api.post("/v1/algorithms/demo/Repo/versions", {"settings": {"algorithm_callability": "public"},
                                                   "version_info": {"version_type": "minor"}})
    r = advertise(repo, **basic(ALICE))
    assert r.status_code == 403 and b"closed" in r.data
    r = api.put("/v1/algorithms/demo/Repo", {"details": {"label": "Repo"},
                                             "settings": {**SETTINGS, "source_visibility": "open", "license": "mit"}})
    assert r.status_code == 200
    assert advertise(repo, **basic(ALICE)).status_code == 200
    r = advertise(repo, "git-receive-pack", **basic(ALICE))
    assert r.status_code == 403 and b"owner" in r.data


def test_a_key_without_management_rights_cannot_push(api, repo):
    api.post("/v1/algorithms/demo/Repo/compile")
    api.post("/v1/algorithms/demo/Repo/versions", {"settings": {"algorithm_callability": "public"},
                                                   "version_info": {"version_type": "minor"}})
    r = advertise(repo, "git-receive-pack", **basic(BOB))
    assert r.status_code == 403


@pytest.mark.parametrize("method,path,query,status,says", [
    ("GET", "/git/demo/Repo.git/info/refs", None, 403, b"unknown git service"),          # the dumb protocol
    ("GET", "/git/demo/Repo.git/HEAD", None, 404, b"only git's smart HTTP protocol"),
    ("GET", "/git/demo/Repo.git/info/refs", {"service": "git-upload-archive"}, 403, b"unknown git service"),
    ("GET", "/git/demo", None, 404, b"not a repository address"),
    ("GET", "/git/demo/Missing.git/info/refs", {"service": "git-upload-pack"}, 404, b"repository not found"),
    ("POST", "/git/demo/Repo.git/git-upload-pack", None, 403, b"Invalid Content-Type"),   # no body, wrong type
    ("POST", "/git/demo/Repo.git/git-receive-pack", None, 403, b"Invalid Content-Type"),
    ("PUT", "/git/demo/Repo.git/git-receive-pack", None, 404, b"only git's smart HTTP protocol"),
])
def test_odd_requests_get_a_plain_answer_never_a_500(repo, method, path, query, status, says):
    r = repo.open(path, method=method, query_string=query, headers=basic(DEMO))
    assert r.status_code == status and r.data.startswith(says), (r.status_code, r.data)
    assert b"Traceback" not in r.data


def test_the_repository_head_is_what_compile_builds(api, repo):
    head = head_sha(advertise(repo, **basic(DEMO)))
    r = api.post("/v1/algorithms/demo/Repo/compile")
    assert r.status_code == 200 and r.get_json()["build"]["commit_sha"] == head
    build_id = r.get_json()["build"]["build_id"]
    logs = api.get(f"/v1/algorithms/demo/Repo/builds/{build_id}/logs").get_json()["logs"]
    assert f"checkout {head}" in logs and "src/Repo.py" in logs and "entrypoint ok" in logs
    assert api.post("/v1/algo/demo/Repo/" + head, raw=b"Ann", headers={"Content-Type": "text/plain"}
                    ).get_json()["result"] == "hello Ann"


def test_a_run_time_binding_overrides_the_repository_and_the_logs_say_so(api, repo):
    r = api.put("/_mock/algorithms/demo/Repo/binding", {"target": "mockserver.runtime.template:apply"})
    assert r.status_code == 200, r.data
    build = api.post("/v1/algorithms/demo/Repo/compile").get_json()["build"]
    logs = api.get(f"/v1/algorithms/demo/Repo/builds/{build['build_id']}/logs").get_json()["logs"]
    assert "run-time binding" in logs and "mockserver.runtime.template:apply" in logs


def test_deleting_an_algorithm_deletes_its_repository(api, repo):
    before = head_sha(advertise(repo, **basic(DEMO)))
    assert api.delete("/v1/algorithms/demo/Repo").status_code == 204
    assert advertise(repo, **basic(DEMO)).status_code == 404
    assert "demo/Repo" not in api.get("/_mock/state").get_json()["repos"]
    api.post("/v1/algorithms/demo", {"name": "Repo", "details": {"label": "Again"}, "settings": SETTINGS})
    assert advertise(repo, **basic(DEMO)).status_code == 200      # the name is free: a new repository


def test_an_untouched_repository_is_its_template_derived_not_stored(api, repo):
    head = head_sha(advertise(repo, **basic(DEMO)))
    exported = api.get("/_mock/state").get_json()
    assert "demo/Repo" not in exported["repos"]
    assert head_sha(advertise(repo, **basic(DEMO))) == head       # derived the same way each time
    api.post("/_mock/reset")
    assert api.put("/_mock/state", exported).status_code == 200
    assert head_sha(advertise(repo, **basic(DEMO))) == head


def test_a_language_change_keeps_the_template_the_algorithm_started_with(api, repo):
    head = head_sha(advertise(repo, **basic(DEMO)))
    r = api.put("/v1/algorithms/demo/Repo", {"details": {"label": "Repo"}, "settings": {**SETTINGS, "language": "java"}})
    assert r.status_code == 200, r.data
    assert head_sha(advertise(repo, **basic(DEMO))) == head


def test_export_import_and_reset_carry_repositories(api, repo):
    for _ in range(2):      # the second compile of a built head commits again: the repository is stored
        assert api.post("/v1/algorithms/demo/Repo/compile").status_code == 200
    exported = api.get("/_mock/state").get_json()
    head = head_sha(advertise(repo, **basic(DEMO)))
    assert exported["repos"]["demo/Repo"]["refs"]["refs/heads/master"] == head
    api.post("/_mock/reset")
    assert advertise(repo, **basic(DEMO)).status_code == 404     # not in the fixtures
    assert api.put("/_mock/state", exported).status_code == 200
    assert head_sha(advertise(repo, **basic(DEMO))) == head
    assert api.get("/_mock/state").get_json() == exported


def test_an_imported_object_must_match_its_id(api, repo):
    for _ in range(2):
        assert api.post("/v1/algorithms/demo/Repo/compile").status_code == 200
    exported = api.get("/_mock/state").get_json()
    objects = exported["repos"]["demo/Repo"]["objects"]
    sha = next(iter(objects))
    objects[sha] = [3, base64.b64encode(b"tampered").decode()]
    error_of(api.put("/_mock/state", exported), 400)


def test_git_refuses_rebound_hosts_and_other_origins(repo):
    error = advertise(repo, **basic(DEMO), Host="attacker.example")
    assert error.status_code == 403 and b"Host" in error.data
    error = advertise(repo, "git-receive-pack", **basic(DEMO), Origin="https://evil.example")
    assert error.status_code == 403
    assert advertise(repo, **basic(DEMO), Host="localhost:8080").status_code == 200


def test_with_a_control_key_a_push_needs_it_too():
    """A push builds and runs the pushed code: off loopback (or with a key set) only the operator may."""
    from mockserver.app import create_app
    from mockserver.settings import Settings
    app = create_app(Settings(profile_scale=0.0, host="0.0.0.0"))
    key = app.extensions["mockserver"].control_key
    c = app.test_client()
    r = c.post("/v1/algorithms/demo", json={"name": "Repo", "details": {"label": "Repo"}, "settings": SETTINGS},
               headers={"Authorization": f"Simple {DEMO}"})
    assert r.status_code == 200, r.data
    assert advertise(c, **basic(DEMO)).status_code == 200                       # clone: the API key is enough
    refused = advertise(c, "git-receive-pack", **basic(DEMO))
    assert refused.status_code == 403 and b"http.extraHeader" in refused.data
    allowed = advertise(c, "git-receive-pack", **basic(DEMO), **{"X-Mock-Control-Key": key})
    assert allowed.status_code == 200


# -- pushes through the protocol (a real git client pushes in tests/e2e/test_git_clients.py) --------
ZERO = "0" * 40


def push_body(old: str, new: str, pack: bytes | None, ref: str = "refs/heads/master",
              caps: str = "report-status side-band-64k agent=test") -> bytes:
    line = f"{old} {new} {ref}\0{caps}\n".encode()
    return b"%04x" % (len(line) + 4) + line + b"0000" + (pack or b"")


def post_push(client, body: bytes, key=DEMO):
    return client.post("/git/demo/Repo.git/git-receive-pack", data=body,
                       headers={**basic(key), "Content-Type": "application/x-git-receive-pack-request"})


def pkt_lines(data: bytes) -> list[bytes]:
    """The pkt-lines of an answer, side-band frames unwrapped into their bands' data."""
    out, at = [], 0
    while at < len(data):
        size = int(data[at:at + 4], 16)
        out.append(data[at + 4:at + size] if size else b"")
        at += size or 4
    return out


def report_of(response) -> tuple[list[bytes], bytes]:
    """(the report-status lines, the band-2 text) of a side-band answer."""
    status, messages = b"", b""
    for frame in pkt_lines(response.data):
        if frame[:1] == b"\x01":
            status += frame[1:]
        elif frame[:1] == b"\x02":
            messages += frame[1:]
    return [line for line in pkt_lines(status) if line], messages


def one_commit(parent: str, files: dict[bytes, bytes]) -> tuple[str, bytes]:
    """A commit of ``files`` on ``parent`` and a pack holding its new objects."""
    blobs = {name: Blob.from_string(data) for name, data in files.items()}
    tree = Tree()
    for name, blob in blobs.items():
        tree.add(name, 0o100644, blob.id)
    commit = Commit()
    commit.tree, commit.parents, commit.author = tree.id, [parent.encode()], b"x <x@example.com>"
    commit.committer, commit.author_time, commit.commit_time = commit.author, 0, 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"pushed\n"
    entries = [gitpacks.whole(o.type_num, o.as_raw_string()) for o in (*blobs.values(), tree, commit)]
    return commit.id.decode(), gitpacks.pack(entries)


def test_a_push_is_taken_and_built_and_says_so(api, repo):
    head = head_sha(advertise(repo, **basic(DEMO)))
    commit, pack = one_commit(head, {b"README.md": b"pushed by hand\n"})
    r = post_push(repo, push_body(head, commit, pack))
    assert r.status_code == 200 and r.content_type == "application/x-git-receive-pack-result"
    lines, messages = report_of(r)
    assert lines == [b"unpack ok\n", b"ok refs/heads/master\n"]
    assert b"build " in messages and b": failed" in messages         # no src/Repo.py: the build says why
    assert head_sha(advertise(repo, **basic(DEMO))) == commit


def test_a_zip_bomb_push_is_refused_in_the_report_and_stores_nothing(api, repo, server):
    head = head_sha(advertise(repo, **basic(DEMO)))
    bomb = gitpacks.pack([gitpacks.zeros_entry(300 * 1024 * 1024)])
    r = post_push(repo, push_body(head, "1" * 40, bomb))
    lines, _ = report_of(r)
    assert r.status_code == 200 and lines[0].startswith(b"unpack push refused: a blob of 314572800 bytes")
    assert lines[1] == b"ng refs/heads/master unpacker error\n"
    assert head_sha(advertise(repo, **basic(DEMO))) == head
    with server.ctx.store.read() as state:
        assert "demo/Repo" not in state.repos and not state.algorithms["demo/Repo"].builds


@pytest.mark.parametrize("old,ref,says", [
    ("0" * 40, "refs/heads/master", b"the ref moved meanwhile: fetch first"),
    (None, "refs/heads/../evil", b"funny refname"),
    (None, "HEAD", b"funny refname"),
])
def test_a_refused_ref_update_moves_nothing(repo, old, ref, says):
    head = head_sha(advertise(repo, **basic(DEMO)))
    commit, pack = one_commit(head, {b"a.txt": b"a\n"})
    lines, _ = report_of(post_push(repo, push_body(old or head, commit, pack, ref=ref)))
    assert lines[0] == b"unpack ok\n" and lines[1].startswith(b"ng " + ref.encode() + b" " + says), lines
    assert head_sha(advertise(repo, **basic(DEMO))) == head


def test_a_push_missing_an_object_it_needs_is_refused(repo):
    head = head_sha(advertise(repo, **basic(DEMO)))
    # The pack without the blob: the tree refers to an object neither pushed nor stored.
    blob = Blob.from_string(b"a\n")
    tree = Tree()
    tree.add(b"a.txt", 0o100644, blob.id)
    commit_obj = Commit()
    commit_obj.tree, commit_obj.parents, commit_obj.author = tree.id, [head.encode()], b"x <x@example.com>"
    commit_obj.committer, commit_obj.author_time, commit_obj.commit_time = commit_obj.author, 0, 0
    commit_obj.author_timezone = commit_obj.commit_timezone = 0
    commit_obj.message = b"m\n"
    pack = gitpacks.pack([gitpacks.whole(2, tree.as_raw_string()), gitpacks.whole(1, commit_obj.as_raw_string())])
    lines, _ = report_of(post_push(repo, push_body(head, commit_obj.id.decode(), pack)))
    assert lines[0] == b"unpack push refused: the push lacks object " + blob.id + b", which it refers to\n"
    assert head_sha(advertise(repo, **basic(DEMO))) == head


def test_a_probe_or_an_empty_push_answers_nothing(repo):
    r = post_push(repo, b"0000")
    assert r.status_code == 200 and r.data == b""


def test_a_push_of_odd_commands_is_a_plain_400(repo):
    r = post_push(repo, b"0010not a command0000")
    assert r.status_code == 400 and r.data.startswith(b"not a ref update"), r.data


def test_a_fetch_over_the_body_limit_is_a_plain_413(repo):
    r = repo.post("/git/demo/Repo.git/git-upload-pack", headers=basic(DEMO),
                  environ_overrides={"CONTENT_LENGTH": str(10 ** 12)})
    assert r.status_code == 413 and r.content_type.startswith("text/plain"), (r.status_code, r.data)
    assert r.data.startswith(b"the request is too large: the limit is ")


def test_a_failing_git_backend_is_a_plain_400(repo, monkeypatch, caplog):
    """dulwich answering 5xx, or failing outright: git gets a plain 400, the log gets the why."""
    from mockserver.edge import git_http

    def answers_500(*_args, **_kwargs):
        def app(environ, start_response):
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"boom"]
        return app
    monkeypatch.setattr(git_http, "make_wsgi_chain", answers_500)
    r = advertise(repo, **basic(DEMO))
    assert (r.status_code, r.data) == (400, b"the git request failed\n")

    def fails(*_args, **_kwargs):
        raise RuntimeError("dulwich broke")
    monkeypatch.setattr(git_http, "make_wsgi_chain", fails)
    r = advertise(repo, **basic(DEMO))
    assert (r.status_code, r.data) == (400, b"the git request failed; see the server log\n")
    assert any("dulwich broke" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records
               if rec.name == "mockserver.git")


def test_past_the_memory_budget_a_push_is_refused_before_its_pack_is_read():
    from mockserver.app import create_app
    from mockserver.settings import Settings
    app = create_app(Settings(profile_scale=0.0, state_memory_mb=1))     # every process is past 1 MB
    try:
        client = app.test_client()
        refs = "/git/demo/Hello.git/info/refs"
        head = head_sha(client.get(refs, query_string={"service": "git-receive-pack"}, headers=basic(DEMO)))
        commit, pack = one_commit(head, {b"README.md": b"one more record\n"})
        r = client.post("/git/demo/Hello.git/git-receive-pack", data=push_body(head, commit, pack),
                        headers={**basic(DEMO), "Content-Type": "application/x-git-receive-pack-request"})
        lines, _ = report_of(r)
        assert r.status_code == 200 and lines[0].startswith(b"unpack push refused: The server is out of memory")
        assert b"MOCKSERVER_STATE_MEMORY_MB" in lines[0] and lines[1] == b"ng refs/heads/master unpacker error\n"
        assert head_sha(client.get(refs, query_string={"service": "git-receive-pack"}, headers=basic(DEMO))) == head
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()

"""Requests only a live server sees as the clients send them (issue 28 items 5 and 8): the Go
client's duplicated Content-Type header, and git pushing through an address spelled otherwise."""
import http.client
import io
from urllib.parse import urlsplit

import requests
from dulwich import porcelain

from support.algorithms import SETTINGS
from support.api import DEMO
from support.deploy import wait_build


def test_go_pipe_nil_sends_content_type_twice(live_server):
    """algorithmia-go client.go postJsonHelper: a nil input adds "Content-Type: application/json",
    then its type switch adds it again; the body is json.Marshal(nil), "null"."""
    where = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.putrequest("POST", "/v1/algo/demo/Hello", skip_accept_encoding=True)
        for name, value in (("Host", where.netloc), ("User-Agent", "Go-http-client/1.1"), ("Content-Length", "4"),
                            ("Authorization", DEMO), ("Content-Type", "application/json"),
                            ("Content-Type", "application/json"), ("Accept-Encoding", "gzip")):
            conn.putheader(name, value)
        conn.endheaders(b"null")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body
    assert b'"result":"Hello null"' in body and b'"content_type":"text"' in body


def test_git_push_to_an_address_spelled_otherwise_builds_the_algorithm(live_server, tmp_path):
    url, auth = live_server.url, {"Authorization": f"Simple {DEMO}"}
    r = requests.post(f"{url}/v1/algorithms/demo", json={"name": "CaseRepo", "details": {"label": "C"},
                                                         "settings": SETTINGS}, headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    where = urlsplit(url)
    remote = f"{where.scheme}://demo:{DEMO}@{where.netloc}/git/DEMO/caserepo.git"
    quiet = {"errstream": io.BytesIO()}
    repo = porcelain.clone(remote, str(tmp_path / "clone"), **quiet)
    source = tmp_path / "clone" / "src" / "CaseRepo.py"
    assert source.exists(), sorted(p.name for p in (tmp_path / "clone").rglob("*"))
    source.write_text("def apply(input):\n    return 'pushed ' + str(input)\n")
    porcelain.add(repo, [str(source)])
    commit = porcelain.commit(repo, message=b"pushed through another spelling",
                              author=b"Dev <dev@example.com>", committer=b"Dev <dev@example.com>").decode()
    porcelain.push(repo, remote, b"refs/heads/master:refs/heads/master", **quiet)
    build = wait_build(url, "demo", "CaseRepo", commit, DEMO)          # a push builds its head
    assert build["status"] == "succeeded", build
    called = requests.post(f"{url}/v1/algo/demo/caserepo/{commit}", json="Neo", headers=auth, timeout=60)
    assert called.json()["result"] == "pushed Neo", called.text

"""A scoped key lives as long as its call (issue 26 item 5), through live calls.

The issue's case: the ALGORITHMIA_API_KEY an algorithm receives while alice calls it kept
working afterwards, so its author read, wrote and deleted alice's data, listed her keys and
called algorithms as her. Each call now gets a key of its own that works while the call (and
the calls it makes) runs and answers 401 afterwards like any unknown key, however the call
ends: an answer, a timeout, a crash.
"""
from __future__ import annotations

import shutil

import pytest
import requests

from support.api import ALICE, DEMO
from mockserver.errors import INVALID_API_KEY
from support.deploy import auth, call, deploy

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

LEAKER = r'''
import json, os, time, urllib.error, urllib.request

def _request(method, path, key, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(os.environ["ALGORITHMIA_API"] + path, data=data, method=method,
                                 headers={"Authorization": "Simple " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None

def apply(input):
    key = os.environ["ALGORITHMIA_API_KEY"]
    out = {"key": key, "during": _request("GET", "/v1/data/.my", key)[0]}
    if input.get("stash"):               # leak it where its author can read it later
        out["stashed"] = _request("PUT", "/v1/data/.my/leak/key.txt", key, key)[0]
    if input.get("inner"):               # a call it makes, with its own key
        status, answer = _request("POST", "/v1/algo/" + input["inner"], key, {"outer": key})
        out["inner_status"], out["inner"] = status, (answer or {}).get("result")
    if input.get("outer"):               # the caller's key still works while this inner call runs
        out["outer_during"] = _request("GET", "/v1/data/.my", input["outer"])[0]
    if input.get("then") == "sleep":
        time.sleep(60)
    if input.get("then") == "crash":
        os._exit(3)
    return out
'''


@pytest.fixture(scope="module")
def algorithms(live, tmp_path_factory):
    live.mock.reset()
    workdir = tmp_path_factory.mktemp("git")
    for name in ("Leaker", "Inner"):
        deploy(live.url, "demo", name, DEMO, {f"src/{name}.py": LEAKER}, workdir)
    r = requests.post(f"{live.url}/v1/data/.my", json={"name": "leak"}, headers=auth(ALICE), timeout=30)
    assert r.status_code in (200, 201), r.text
    yield live.url
    live.mock.reset()


def _dead(url: str, key: str) -> None:
    """What the issue did with a leaked key, from outside: every one answers 401."""
    for method, path, body in (("GET", "/v1/users/alice", None), ("GET", "/v1/users/alice/keys", None),
                               ("GET", "/v1/data/.my", None), ("GET", "/v1/data/alice/leak", None),
                               ("PUT", "/v1/data/alice/leak/x.txt", "pwned"), ("DELETE", "/v1/data/alice/leak", None),
                               ("POST", "/v1/algo/demo/Inner", {})):
        r = requests.request(method, url + path, json=body, headers=auth(key), timeout=30)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == INVALID_API_KEY.code, r.text          # as for any unknown key


def _stashed(url: str) -> str:
    r = requests.get(f"{url}/v1/data/alice/leak/key.txt", headers=auth(ALICE), timeout=30)
    assert r.status_code == 200, r.text
    return r.content.decode().strip('"')


def test_the_key_works_during_the_call_and_answers_401_after_it(algorithms):
    url = algorithms
    first = call(url, "demo/Leaker", ALICE, {})["result"]
    second = call(url, "demo/Leaker", ALICE, {})["result"]
    assert first["during"] == second["during"] == 200 and first["key"] != second["key"]
    for leaked in (first["key"], second["key"]):
        _dead(url, leaked)


def test_a_nested_call_has_its_own_key_and_the_outer_one_lives_through_it(algorithms):
    url = algorithms
    out = call(url, "demo/Leaker", ALICE, {"inner": "demo/Inner"})["result"]
    assert out["inner_status"] == 200 and out["inner"]["outer_during"] == 200
    assert out["inner"]["key"] != out["key"]
    _dead(url, out["key"])
    _dead(url, out["inner"]["key"])


@pytest.mark.parametrize("ending", ["sleep", "crash"])
def test_a_call_that_times_out_or_crashes_takes_its_key_with_it(algorithms, ending):
    url = algorithms
    answer = call(url, "demo/Leaker", ALICE, {"stash": True, "then": ending}, timeout=3)
    assert "error" in answer, answer
    _dead(url, _stashed(url))

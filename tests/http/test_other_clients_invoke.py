"""Calls as the R, Ruby, Go, Python and Node.js clients send them (issue 28 items 1, 5, 6, 8).

Each request replays what the named client's source sends: method, path, query string exactly as
it encodes it, headers and body (algorithmia-r R/Client.r postJsonHelper and R/Algorithm.r,
algorithmia-ruby lib/algorithmia/requester.rb, algorithmia-go client.go and algorithm.go,
algorithmia 2.0.5 Algorithmia/algorithm.py, algorithmia-nodejs src/AlgorithmExecutable.ts).
"""
import base64
import json

import pytest

from support.algorithms import SETTINGS
from support.api import ADMIN, ALICE, DEMO, error_of
from support.code import write_algorithm

R_QUERY = "timeout=300&stdout=FALSE&output=default"      # R's getAlgorithm defaults, as httr encodes them


def r_pipe(api, path, value, query=R_QUERY):
    """R's postJsonHelper: rjson::toJSON(input) as application/json, the bare key as Authorization."""
    return api.call("POST", f"{path}?{query}", raw=json.dumps(value).encode(), key=None,
                    headers={"Authorization": DEMO, "Content-Type": "application/json",
                             "Accept": "application/json, text/xml, application/xml, */*"})


def ruby_pipe(api, path, text, query=""):
    """Ruby's Requester#post of a String: text/plain, the bare key, its User-Agent, HTTParty's query."""
    return api.call("POST", f"{path}?{query}" if query else path, raw=text.encode(), key=None,
                    headers={"Authorization": DEMO, "Content-Type": "text/plain",
                             "User-Agent": "Algorithmia Ruby Client"})


def go_pipe(api, path, text, query=""):
    """Go's postJsonHelper for a string: text/plain; url.Values.Encode() sorts the keys."""
    return api.call("POST", f"{path}?{query}" if query else path, raw=text.encode(), key=None,
                    headers={"Authorization": DEMO, "Content-Type": "text/plain"})


# -- item 1: output=default and every query the clients send --------------------------------------
def test_r_default_output_is_the_json_wrapper(api):
    r = r_pipe(api, "/v1/algo/demo/Hello", "Neo")
    assert r.status_code == 200, r.data
    body = r.get_json()
    assert body["result"] == "Hello Neo"
    # R's test.hasResultAndMetadata: exactly these metadata names with stdout=FALSE
    assert sorted(body["metadata"]) == ["content_type", "duration"] and body["metadata"]["content_type"] == "text"
    assert r_pipe(api, "/v1/algo/demo/Hello", "Neo", "timeout=300&stdout=TRUE&output=default") \
        .get_json()["metadata"]["stdout"] == ""                 # the owner asked for stdout: greeter prints nothing


def test_r_raw_and_void_outputs(api):
    raw = r_pipe(api, "/v1/algo/demo/Hello", "Neo", "timeout=300&stdout=FALSE&output=raw")
    assert raw.status_code == 200 and raw.data == b"Hello Neo"
    void = r_pipe(api, "/v1/algo/demo/Hello", "Neo", "timeout=300&stdout=FALSE&output=void")
    assert void.status_code == 200 and sorted(void.get_json()) == ["async", "request_id"]   # R's test.runAsync


@pytest.mark.parametrize("query", [
    "timeout=300&stdout=False",                        # algorithmia 2.0.5: Python's str(False)
    "timeout=300&stdout=false&output=raw",             # Node.js 1.0 (its default output is raw)
    "output=raw&stdout=false&timeout=300",             # Go: SetOptions, then Pipe adds output=raw
    "output=raw&output=raw&stdout=false&timeout=300",  # Go: a second Pipe adds output=raw again
    "timeout=2",                                       # Ruby: algo.set(timeout: 2)
    "timeout=300&stdout=TRUE&output=default",          # R: setOptions(stdout=TRUE)
    "timeout=2.5&stdout=0",
])
def test_every_clients_query_string_is_accepted(api, query):
    r = api.call("POST", f"/v1/algo/demo/Hello/?{query}", raw=b'"Neo"', headers={"Content-Type": "application/json"})
    assert r.status_code == 200, (query, r.data)
    assert (r.data if "output=raw" in query else r.get_json()["result"]) in (b"Hello Neo", "Hello Neo")


@pytest.mark.parametrize("query, says", [("output=DEFAULT", "output"), ("output=json", "output"),
                                         ("stdout=maybe", "stdout"), ("timeout=0", "timeout"),
                                         ("timeout=soon", "timeout")])
def test_values_no_client_sends_are_still_refused(api, query, says):
    err = error_of(api.call("POST", f"/v1/algo/demo/Hello?{query}", raw=b'"Neo"',
                            headers={"Content-Type": "application/json"}), 400, 6001)
    assert says in err["message"]


# -- item 5: names without regard to case ----------------------------------------------------------
def test_ruby_and_r_call_demo_hello_for_demo_Hello(api):
    r = ruby_pipe(api, "/v1/algo/demo/hello", "foo")                     # Ruby's 'can make text api call'
    assert r.status_code == 200 and r.get_json()["result"] == "Hello foo"
    assert r.get_json()["metadata"]["content_type"] == "text"
    r = r_pipe(api, "/v1/algo/demo/hello", 1)                           # R's test.runHelloWorld
    assert r.get_json()["result"] == "Hello 1"
    assert r_pipe(api, "/v1/algo/DEMO/HELLO/0.1.1", "x").get_json()["result"] == "Hello x"


def test_algorithm_reads_answer_the_stored_spelling(api):
    """Ruby's get_algo / get_algo_versions / get_algo_builds / get_scm_status, R's listAlgoBuilds."""
    got = api.get("/v1/algorithms/demo/hello")
    assert got.status_code == 200 and got.get_json()["name"] == "Hello"
    versions = api.get("/v1/algorithms/Demo/HELLO/versions").get_json()["results"]
    assert {v["name"] for v in versions} == {"Hello"} and len(versions) == 2
    assert all(v["self_link"].endswith(f"/v1/algorithms/demo/Hello/versions/{v['version_info']['git_hash']}")
               for v in versions)
    builds = api.get("/v1/algorithms/demo/hello/builds").get_json()["results"]
    logs = api.get(f"/v1/algorithms/demo/hello/builds/{builds[0]['build_id']}/logs")
    assert logs.status_code == 200 and "demo/Hello" in logs.get_json()["logs"]
    one = api.get(f"/v1/algorithms/demo/hello/versions/{versions[0]['version_info']['git_hash']}")
    assert one.status_code == 200 and one.get_json()["name"] == "Hello"
    assert api.get("/v1/algorithms/demo/hello/scm/status").get_json()["scm_connection_status"] == "active"
    listed = api.get("/v1/users/DEMO/algorithms").get_json()["results"]  # the owner too
    assert "Hello" in {a["name"] for a in listed}


def test_compile_publish_and_update_by_another_spelling(api):
    created = api.post("/v1/algorithms/Demo", {"name": "Mixed", "details": {"label": "M"}, "settings": SETTINGS})
    assert created.status_code == 200 and api.get("/v1/algorithms/demo/Mixed").status_code == 200
    compiled = api.call("POST", "/v1/algorithms/demo/mixed/compile", raw=b"null", key=None,   # R's compileAlgorithm
                        headers={"Authorization": DEMO, "Content-Type": "application/json"})
    assert compiled.status_code == 200 and compiled.get_json()["name"] == "Mixed"
    published = api.post("/v1/algorithms/DEMO/MIXED/versions", {"settings": {"algorithm_callability": "public"},
                                                              "version_info": {"version_type": "minor"}})
    assert published.status_code == 200 and published.get_json()["name"] == "Mixed"
    assert api.call("POST", "/v1/algo/demo/mixed/0.1.0", raw=b"Neo", headers={"Content-Type": "text/plain"}
                    ).get_json()["result"] == "hello Neo"
    fetched = api.get("/v1/algorithms/demo/mixed").get_json()              # sent back whole, as clients do
    updated = api.put("/v1/algorithms/demo/MIXED", {**fetched, "details": {"label": "Renamed label"},
                                                   "settings": {**SETTINGS, **fetched["settings"]}})
    assert updated.status_code == 200 and updated.get_json()["details"]["label"] == "Renamed label"
    err = error_of(api.put("/v1/algorithms/demo/mixed", {"name": "Other", "settings": SETTINGS}), 400, 2015)
    assert "renamed" in err["message"]
    assert api.delete("/v1/algorithms/DEMO/mixed").status_code == 204
    assert api.get("/v1/algorithms/demo/Mixed").status_code == 404


def test_names_are_unique_without_regard_to_case(api):
    admin = api.as_(ADMIN)
    err = error_of(admin.post("/v1/users", {"username": "DEMO", "email": "other@example.com", "fullname": "D"}),
                   409, 3003)
    assert "demo" in err["message"]
    error_of(admin.post("/v1/organizations", {"org_name": "ACME", "org_label": "A", "org_contact_name": "C",
                                              "org_email": "a@example.com"}), 409, 3101)
    error_of(admin.post("/v1/organizations", {"org_name": "Demo", "org_label": "A", "org_contact_name": "C",
                                              "org_email": "a@example.com"}), 409, 3104)
    err = error_of(api.post("/v1/algorithms/demo", {"name": "HELLO", "details": {"label": "H"},
                                                    "settings": SETTINGS}), 409, 1002)
    assert "demo/Hello" in err["message"]


def test_private_algorithms_stay_hidden_whatever_the_spelling(api):
    """demo/Sandbox is compiled, never published: its owner reads it by any spelling, nobody else."""
    assert api.get("/v1/algorithms/DEMO/sandbox").get_json()["name"] == "Sandbox"
    error_of(api.as_(ALICE).call("POST", "/v1/algo/demo/SANDBOX", raw=b'"x"',
                                 headers={"Content-Type": "application/json"}), 404, 1000)
    assert api.as_(ALICE).get("/v1/algorithms/demo/sandbox").status_code == 404
    error_of(api.as_(ALICE).put("/v1/algorithms/DEMO/Hello", {"settings": SETTINGS}), 403, 2001)


def test_a_binding_set_by_another_spelling_binds_the_stored_name(api, tmp_path):
    target = write_algorithm(tmp_path, "shout.py", "def apply(input):\n    return str(input).upper()\n")
    assert api.put("/_mock/algorithms/demo/hello/binding", {"target": target}).status_code == 200
    assert "demo/Hello" in api.get("/_mock/algorithms/bindings").get_json()
    assert ruby_pipe(api, "/v1/algo/demo/Hello", "neo").get_json()["result"] == "NEO"
    assert api.delete("/_mock/algorithms/DEMO/HELLO/binding").status_code == 200
    assert api.get("/_mock/algorithms/bindings").get_json() == {}
    assert ruby_pipe(api, "/v1/algo/demo/Hello", "neo").get_json()["result"] == "Hello neo"


def test_git_urls_resolve_without_regard_to_case(api):
    auth = {"Authorization": "Basic " + base64.b64encode(f"demo:{DEMO}".encode()).decode()}
    exact = api.client.get("/git/demo/Hello.git/info/refs", query_string={"service": "git-upload-pack"}, headers=auth)
    other = api.client.get("/git/DEMO/hello.git/info/refs", query_string={"service": "git-upload-pack"}, headers=auth)
    assert exact.status_code == other.status_code == 200 and exact.data == other.data
    push = api.client.get("/git/demo/HELLO.git/info/refs", query_string={"service": "git-receive-pack"}, headers=auth)
    assert push.status_code == 200


# -- item 6: partial versions ----------------------------------------------------------------------
def test_go_and_python_readmes_call_a_partial_version(api):
    """demo/Hello has public 0.1.0 and 0.1.1: "0.1" and "0" are "0.1.*" and "0.*", the latest 0.1.1."""
    hashes = {v["version_info"]["semantic_version"]: v["version_info"]["git_hash"]
              for v in api.get("/v1/algorithms/demo/Hello/versions").get_json()["results"]}
    assert set(hashes) == {"0.1.0", "0.1.1"}
    for spec in ("0.1", "0", "0.1.*", "0.*"):
        r = go_pipe(api, f"/v1/algo/demo/Hello/{spec}", "Author")
        assert r.status_code == 200 and r.get_json()["result"] == "Hello Author", (spec, r.data)
    for spec in ("0.2", "1", "0.1.", "0.1.1.1", "1.0.0.*"):
        error_of(go_pipe(api, f"/v1/algo/demo/Hello/{spec}", "Author"), 404, 1001)


def test_partial_versions_keep_the_callability_rules(api):
    """acme/Thumbnailer: 0.1.0 private, 0.2.0 public. A partial version matches public versions only,
    for the owner too (seed 004: private versions need a full version or a hash)."""
    alice = api.as_(ALICE)
    body = {"raw": b'{"size": 8}', "headers": {"Content-Type": "application/json"}}
    assert alice.call("POST", "/v1/algo/acme/Thumbnailer/0.1.0", **body).status_code == 200
    error_of(alice.call("POST", "/v1/algo/acme/Thumbnailer/0.1", **body), 404, 1001)
    assert alice.call("POST", "/v1/algo/acme/Thumbnailer/0.2", **body).status_code == 200
    assert alice.call("POST", "/v1/algo/acme/Thumbnailer/0", **body).status_code == 200


# -- item 8: the bundled demo/Hello greets JSON as JSON ------------------------------------------
@pytest.mark.parametrize("value, greeting", [
    (None, "Hello null"), (1, "Hello 1"), (2.5, "Hello 2.5"), (True, "Hello true"), ("Neo", "Hello Neo"),
    ([1, "a"], 'Hello [1,"a"]'), ({"a": None}, 'Hello {"a":null}'), ("", "Hello "),
])
def test_r_pipes_json_to_demo_hello(api, value, greeting):
    """R's test.runHelloWorld: pipe(NULL) is the JSON body null, answered "Hello null"."""
    r = r_pipe(api, "/v1/algo/demo/hello", value)
    assert r.status_code == 200 and r.get_json()["result"] == greeting
    assert r.get_json()["metadata"]["content_type"] == "text"


def test_text_and_binary_inputs_keep_their_greetings(api):
    assert ruby_pipe(api, "/v1/algo/demo/Hello", "null").get_json()["result"] == "Hello null"   # the text "null"
    assert ruby_pipe(api, "/v1/algo/demo/Hello", "Neo").get_json()["result"] == "Hello Neo"
    binary = api.call("POST", "/v1/algo/demo/Hello", raw=b"\x00\x01", headers={"Content-Type": "application/octet-stream"})
    assert binary.get_json()["result"] == "Hello b'\\x00\\x01'"



"""Issue 18: where the official clients and the seeds meet the mock's edges (algorithmia 2.0.5, live server)."""
import pytest
import requests

from support.algorithms import SETTINGS, algo_file
from support.api import ALICE, DEMO


def test_missing_algorithm_body_is_the_services_string(client, live_server):
    from Algorithmia.errors import AlgorithmException
    algo = client.algo("demo/Vanishing")
    assert not algo.exists()
    algo.create(details={"label": "Vanishing"}, settings=SETTINGS)
    assert algo.exists()
    client.deleteHelper("/v1/algorithms/demo/Vanishing")
    r = requests.get(f"{live_server.url}/v1/algorithms/demo/Vanishing", headers={"Authorization": DEMO})
    assert (r.status_code, r.content) == (404, b'{"error":"No such algorithm"}')
    with pytest.raises(AlgorithmException) as raised:
        algo.get_algorithm_id()
    assert raised.value.message == "No such algorithm"
    assert not algo.exists()


def test_fractional_timeout(client):
    algo = client.algo("demo/Hello")
    assert algo.set_options(timeout=2.5).pipe("Neo").result == "Hello Neo"


def test_invalid_utf8_in_a_data_path_is_refused(client, live_server):
    """%FF%FE and %C0%C1 are not UTF-8: 400, never the same (replacement-character) file."""
    auth = {"Authorization": DEMO}
    client.dir("data://.my/utf8").create()
    base = f"{live_server.url}/v1/data/demo/utf8"
    for bad in ("%FF%FE", "%C0%C1", "ok%80", "%ED%A0%80"):           # the last: a UTF-16 surrogate
        for method in ("PUT", "GET", "DELETE", "HEAD"):
            r = requests.request(method, f"{base}/{bad}", data=b"x" if method == "PUT" else None, headers=auth)
            assert r.status_code == 400, (bad, method, r.status_code)
            if method != "HEAD":
                assert "UTF-8" in r.json()["error"]["message"]
    assert list(client.dir("data://.my/utf8").list()) == [] and list(client.dir("data://.my/utf8").files()) == []
    good = requests.put(f"{base}/%C3%A9t%C3%A9", data=b"summer", headers=auth)          # été
    assert good.status_code == 200
    assert client.file("data://.my/utf8/été").getBytes() == b"summer"


def test_set_secret_and_the_algorithm_reads_it(client, live_server):
    """algorithmia 2.0.5's set_secret/get_secrets; the call sees the secret as an environment variable."""
    algo = client.algo("demo/SecretReader")
    algo.create(details={"label": "SecretReader"}, settings=SETTINGS)
    target = algo_file("env_report")
    assert requests.put(f"{live_server.url}/_mock/algorithms/demo/SecretReader/binding",
                        json={"target": target}).status_code == 200
    made = algo.set_secret("db", "DB_PASSWORD", "hunter2", description="the database")
    assert made["short_name"] == "db" and "hunter2" not in str(made)
    listed = algo.get_secrets()
    assert [s["id"] for s in listed["results"]] == [made["id"]] and "hunter2" not in str(listed)
    sha = algo.compile()["version_info"]["git_hash"]
    seen = client.algo(f"demo/SecretReader/{sha}").pipe({"env": ["DB_PASSWORD", "ALGORITHMIA_API"]}).result
    assert seen["DB_PASSWORD"] == "hunter2" and seen["ALGORITHMIA_API"] == live_server.url
    other = client.algo("demo/Hello").pipe("x")                       # another algorithm does not get it
    assert other.result == "Hello x"


def test_an_algorithm_acts_for_its_caller_plus_the_owner_grant(client, live_server):
    """Seed 001: .my is the calling user; ["algo://.my/*"] lets the owner's algorithms read,
    [] only the owner. Checked with a second caller (alice) of demo's algorithm."""
    import Algorithmia
    from Algorithmia.acl import ReadAcl
    from Algorithmia.errors import AlgorithmException
    algo = client.algo("demo/DataReader")
    algo.create(details={"label": "DataReader"}, settings=SETTINGS)
    target = algo_file("data_reader")
    assert requests.put(f"{live_server.url}/_mock/algorithms/demo/DataReader/binding",
                        json={"target": target}).status_code == 200
    algo.compile()
    algo.publish(settings={"algorithm_callability": "public"}, version_info={"version_type": "minor"})
    client.dir("data://.my/for_algos").create(ReadAcl.my_algos)
    client.file("data://.my/for_algos/f.txt").put("for demo's algorithms")
    client.dir("data://.my/only_me").create(ReadAcl.private)
    client.file("data://.my/only_me/p.txt").put("demo's private")
    alice = Algorithmia.client(ALICE, live_server.url)
    alice.dir("data://.my/mine").create(ReadAcl.private)
    alice.file("data://.my/mine/m.txt").put("alice's own")

    def read(caller, uri):
        return caller.algo("demo/DataReader").pipe(uri).result

    assert read(alice, "data://demo/for_algos/f.txt") == "for demo's algorithms"       # the owner grant
    assert read(alice, "data://.my/mine/m.txt") == "alice's own"                       # .my is the caller
    with pytest.raises(AlgorithmException):
        read(alice, "data://demo/only_me/p.txt")                                       # [] : only demo
    with pytest.raises(AlgorithmException):
        read(client, "data://alice/mine/m.txt")                                        # demo cannot read alice's
    assert read(client, "data://demo/only_me/p.txt") == "demo's private"               # demo calling: demo's
    assert read(client, "data://.my/for_algos/f.txt") == "for demo's algorithms"
    assert not alice.file("data://demo/for_algos/f.txt").exists()                      # alice herself: no

"""The official Python client (algorithmia 2.0.5) against a live server: the Data API."""
import json
from datetime import datetime

import pytest
import requests
from Algorithmia.acl import Acl, AclType, ReadAcl
from Algorithmia.errors import DataApiError

from support.api import ALICE, BOB, DEMO
from mockserver.settings import Settings
from mockserver.serving.live import LiveServer

PAGE = 4
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def live_data():
    server = LiveServer(Settings(profile_scale=0.0, page_default=PAGE, max_upload_bytes=LIMIT)).start()
    yield server
    server.stop()


@pytest.fixture()
def url(live_data):
    live_data.mock.reset()
    return live_data.url


def client(url, key=DEMO):
    import Algorithmia
    return Algorithmia.client(key, url)


def test_username_and_root(url):
    assert client(url).username() == "demo"
    assert client(url, ALICE).username() == "alice"
    assert [d.path for d in client(url).dir("").dirs()][:2] == ["demo", "acme"]


@pytest.mark.parametrize("acl,expected", [(None, AclType.my_algos), (ReadAcl.public, AclType.public),
                                          (ReadAcl.private, AclType.private), (ReadAcl.my_algos, AclType.my_algos)])
def test_create_with_acl_variants(url, acl, expected):
    c = client(url)
    d = c.dir("data://.my/created")
    assert not d.exists()
    d.create(acl) if acl is not None else d.create()
    assert d.exists()
    assert c.dir("data://demo/created").get_permissions().read_acl is expected
    with pytest.raises(Exception):           # postJsonHelper raises a plain Exception on non-2xx
        d.create()                           # already exists


def test_put_and_get_text_json_bytes_file(url, tmp_path):
    c = client(url)
    c.dir("data://.my/e2e").create(ReadAcl.private)
    f = c.file("data://.my/e2e/hello.txt")
    assert not f.exists()
    f.put("Hello ✓ world")
    assert f.exists() and f.getString() == "Hello ✓ world"
    c.file("data://.my/e2e/obj.json").putJson({"a": [1, 2, {"b": None}], "é": "ü"})
    assert c.file("data://demo/e2e/obj.json").getJson() == {"a": [1, 2, {"b": None}], "é": "ü"}
    blob = bytes(range(256)) * 40
    c.file("data://.my/e2e/blob.bin").put(blob)
    assert c.file("data://.my/e2e/blob.bin").getBytes() == blob
    local = tmp_path / "local file.dat"
    local.write_bytes(b"\x00\x01\x02 file body \xff")
    c.file("data://.my/e2e/from file.dat").putFile(str(local))
    assert c.file("data://.my/e2e/from file.dat").getBytes() == local.read_bytes()
    path = c.file("data://.my/e2e/hello.txt").getFile(as_path=True)
    assert open(path, encoding="utf-8").read() == "Hello ✓ world"
    sizes = {x.getName(): x.size for x in c.dir("data://.my/e2e").files()}
    assert sizes["blob.bin"] == len(blob) and sizes["hello.txt"] == len("Hello ✓ world".encode())
    with pytest.raises(DataApiError):
        c.file("data://.my/e2e/missing.txt").getString()


def test_listing_across_pages(url):
    c = client(url)
    c.dir("data://.my/paged").create()
    names = [f"file {i:02d} ✓.txt" for i in range(PAGE * 3 + 1)]
    for name in names:
        c.file(f"data://.my/paged/{name}").put(name)
    listed = [f.getName() for f in c.dir("data://.my/paged").files()]
    assert listed == sorted(names)
    stamps = [f.last_modified for f in c.dir("data://.my/paged").files()]
    # parsed by the client from the mock's timestamp; written in name order, so never decreasing
    assert all(isinstance(s, datetime) for s in stamps) and stamps == sorted(stamps), stamps
    assert len(list(c.dir("data://.my/paged").list())) == len(names)
    assert list(c.dir("data://.my/paged").dirs()) == []
    home = [d.getName() for d in c.dir("data://.my").dirs()]
    assert "paged" in home and "example_collection" in home
    # a raw page answers the marker the client follows
    page = requests.get(f"{url}/v1/data/demo/paged", headers={"Authorization": DEMO}).json()
    assert len(page["files"]) == PAGE and page["marker"]


def test_update_permissions_and_cross_user(url):
    demo, alice = client(url), client(url, ALICE)
    d = demo.dir("data://demo/shared_later")
    d.create(ReadAcl.private)
    d.file("note.txt").put("for alice")
    assert not alice.file("data://demo/shared_later/note.txt").exists()
    with pytest.raises(DataApiError):
        alice.dir("data://demo/shared_later").get_permissions()
    assert d.update_permissions(ReadAcl.public)
    assert d.get_permissions().read_acl is AclType.public
    assert alice.file("data://demo/shared_later/note.txt").getString() == "for alice"
    assert [x.getName() for x in alice.dir("data://demo").dirs()] == ["example_collection", "shared_later"]
    with pytest.raises(Exception):
        alice.file("data://demo/shared_later/note.txt").put("overwrite")
    assert demo.file("data://demo/shared_later/note.txt").getString() == "for alice"
    with pytest.raises(DataApiError):
        alice.dir("data://demo/shared_later").update_permissions(ReadAcl.private)
    with pytest.raises(DataApiError):
        alice.dir("data://demo/shared_later").delete(force=True)
    assert d.exists()
    d.update_permissions(ReadAcl.private)
    assert not alice.file("data://demo/shared_later/note.txt").exists()
    # a read-only key reads public data but cannot write its own
    bob = client(url, BOB)
    assert bob.file("data://demo/example_collection/example.txt").getString() == "Leader of the Autobots"
    with pytest.raises(Exception):
        bob.dir("data://.my/nope").create()


def test_org_collection_by_members(url):
    demo, alice = client(url), client(url, ALICE)
    demo.file("data://acme/shared/by-demo.txt").put("hi")
    assert alice.file("data://acme/shared/by-demo.txt").getString() == "hi"
    assert not client(url, BOB).file("data://acme/shared/by-demo.txt").exists()


def test_delete_file_and_forced_directory(url):
    c = client(url)
    d = c.dir("data://.my/doomed")
    d.create()
    for i in range(3):
        d.file(f"f{i}").put(str(i))
    assert d.file("f0").delete() is True and not d.file("f0").exists()
    with pytest.raises(DataApiError) as info:
        d.delete()
    assert "force" in str(info.value)
    assert d.exists()
    r = requests.delete(f"{url}/v1/data/demo/doomed?force=true", headers={"Authorization": DEMO})
    assert r.text == '{"result":{"deleted":3}}'
    assert not d.exists()
    c.dir("data://.my/doomed2").create()
    c.file("data://.my/doomed2/x").put("x")
    assert c.dir("data://.my/doomed2").delete(force=True) is True
    assert not c.dir("data://.my/doomed2").exists()


def test_nested_directories_are_refused_in_hosted_data(url):
    c = client(url)
    r = requests.post(f"{url}/v1/data/demo/example_collection", json={"name": "sub"}, headers={"Authorization": DEMO})
    assert r.status_code == 400 and "no sub-directories" in r.json()["error"]["message"]
    with pytest.raises(Exception):           # postJsonHelper raises a plain Exception on non-2xx
        c.dir("data://demo/example_collection/sub").create()
    assert [d for d in c.dir("data://demo/example_collection").dirs()] == []


def test_s3_connector_over_http(url):
    h = {"Authorization": DEMO}
    r = requests.put(f"{url}/v1/connector/s3+test/my_bucket/a/b/c.txt", data=b"s3 bytes", headers=h)
    assert r.json() == {"result": "s3+test://my_bucket/a/b/c.txt"}
    assert requests.get(f"{url}/v1/connector/s3/my_bucket/a/b/c.txt", headers=h).content == b"s3 bytes"
    assert requests.head(f"{url}/v1/connector/s3/my_bucket/a/b", headers=h).status_code == 200
    r = requests.get(f"{url}/v1/connector/dropbox/x", headers=h)
    assert r.status_code == 404 and "not configured" in r.json()["error"]["message"]


def test_the_python_client_reaches_connectors_by_uri(url):
    """algorithmia 2.0.5 sends /v1/data/<uri> for every URI that is not data://."""
    c = client(url)
    assert c.file("s3://my_bucket/example/test.txt").getString() == "Hello from simulated S3"
    c.file("s3+test://my_bucket/made/by/client.txt").put("from the client")
    assert c.file("s3://my_bucket/made/by/client.txt").exists()
    assert c.file("s3://my_bucket/made/by/client.txt").getString() == "from the client"
    assert [f.getName() for f in c.dir("s3://my_bucket/made/by").files()] == ["client.txt"]
    assert requests.get(f"{url}/v1/connector/s3/my_bucket/made/by/client.txt",
                        headers={"Authorization": DEMO}).content == b"from the client"
    c.file("s3://my_bucket/made/by/client.txt").delete()
    assert not c.file("s3://my_bucket/made/by/client.txt").exists()
    with pytest.raises(DataApiError, match="not configured"):
        c.file("dropbox://x.txt").getString()


def test_upload_limit_on_the_wire(url):
    h = {"Authorization": DEMO}
    target = f"{url}/v1/data/demo/example_collection/big.bin"
    r = requests.put(target, data=b"z" * (LIMIT + 1), headers=h)
    assert r.status_code == 413 and r.json()["error"]["message"]
    r = requests.put(target, data=(b"z" * 1024 for _ in range(LIMIT // 1024 + 8)), headers=h)   # chunked
    assert r.status_code == 413
    assert requests.head(target, headers=h).status_code == 404
    r = requests.put(target, data=(b"z" * 1024 for _ in range(LIMIT // 1024)), headers=h)
    assert r.status_code == 200
    assert len(requests.get(target, headers=h).content) == LIMIT


def test_trailing_slashes_and_node_style_create(url):
    h = {"Authorization": f"Simple {DEMO}"}
    r = requests.post(f"{url}/v1/data/demo/", data="node_style", headers={**h, "Content-Type": "text/plain"})
    assert r.json() == {"result": "data://demo/node_style"}
    assert requests.head(f"{url}/v1/data/demo/", headers=h).status_code == 200
    r = requests.put(f"{url}/v1/data/demo/node_style/x.json", data=json.dumps({"k": 1}),
                     headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 200
    assert client(url).file("data://demo/node_style/x.json").getJson() == {"k": 1}
    assert Acl.from_acl_response({"read": []}).read_acl is AclType.private

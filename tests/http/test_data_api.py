"""Data API over HTTP (Flask test client): /v1/data/... and /v1/connector/..."""
import base64
import io
import json

import pytest

from support.api import ADMIN, ALICE, BOB, DEMO, Api, error_of
from mockserver.app import create_app
from mockserver.settings import Settings

COLL = "/v1/data/demo/example_collection"


def state_of(api):
    """The whole data store, to prove a refused request changed nothing."""
    mock = api.client.application.extensions["mockserver"]
    return json.dumps(mock.ctx.store.export()["data"], sort_keys=True)


def put_raw(api, path, raw, content_type=None, key=...):
    headers = {"Content-Type": content_type} if content_type else {}
    return api.call("PUT", path, raw=raw, headers=headers, key=key)


# -- reading ---------------------------------------------------------------------------
def test_root_lists_callers_home_first(api):
    r = api.get("/v1/data/")
    assert r.status_code == 200 and r.headers["X-Data-Type"] == "directory"
    assert r.get_json()["folders"][0] == {"name": "demo"}
    assert api.as_(ALICE).get("/v1/data").get_json()["folders"][0] == {"name": "alice"}


def test_get_file_bytes_and_headers(api):
    r = api.get(f"{COLL}/example.txt", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.data == b"Leader of the Autobots"
    assert r.headers["X-Data-Type"] == "file" and r.headers["Content-Type"].startswith("text/plain")
    png = api.get(f"{COLL}/pixel.png")
    assert png.headers["Content-Type"] == "image/png" and png.data.startswith(b"\x89PNG")


def test_directory_listing_shape(api):
    r = api.get(COLL, acl="true")
    body = r.get_json()
    assert r.headers["X-Data-Type"] == "directory"
    # no "marker": this is the last page (the R client pages on the key's presence)
    assert set(body) == {"folders", "files", "acl"} and body["acl"] == {"read": ["user://*"]}
    assert [f["filename"] for f in body["files"]] == ["example.json", "example.txt", "pixel.png"]
    f = body["files"][1]
    assert set(f) == {"filename", "last_modified", "size"} and f["size"] == 22
    assert f["last_modified"].endswith("Z") and "." in f["last_modified"]
    assert "acl" not in api.get(COLL).get_json()
    home = api.get("/v1/data/demo/").get_json()
    assert {"name": "example_collection", "acl": {"read": ["user://*"]}} in home["folders"]


def test_head(api):
    r = api.head(f"{COLL}/example.txt")
    assert r.status_code == 200 and r.headers["Content-Length"] == "22" and r.headers["X-Data-Type"] == "file"
    for path in (COLL, "/v1/data/demo", "/v1/data/demo/", "/v1/data/acme", "/v1/data/.my", "/v1/data"):
        r = api.head(path)
        assert r.status_code == 200 and r.headers["X-Data-Type"] == "directory", path
    for path in (f"{COLL}/nope.txt", "/v1/data/nobody", "/v1/data/demo/nope", "/v1/data/alice/datasets"):
        r = api.head(path)
        assert r.status_code == 404 and r.headers.get("X-Error-Message"), path


def test_connector_routes(api):
    r = api.get("/v1/connector/s3+test/my_bucket/example/test.txt")
    assert r.data == b"Hello from simulated S3" and r.headers["X-Data-Type"] == "file"
    assert api.get("/v1/connector/s3").get_json()["folders"] == [{"name": "my_bucket"}]
    assert api.head("/v1/connector/s3/my_bucket/example").status_code == 200
    assert api.get("/v1/connector/data/demo/example_collection/example.txt").data == b"Leader of the Autobots"
    before = state_of(api)
    err = error_of(api.get("/v1/connector/azureblob/x"), 404)
    assert "not configured" in err["message"]
    error_of(api.put("/v1/connector/gs/b/x.txt", raw=b"x"), 404)
    error_of(api.get("/v1/connector/ftp/x"), 404)
    assert state_of(api) == before


# -- writing ------------------------------------------------------------------------------
def test_create_collection_json_and_text(api):
    r = api.post("/v1/data/demo/", {"name": "photos", "acl": {"read": ["user://*"]}})
    assert r.status_code == 200 and r.data == b'{"result":"data://demo/photos"}'
    r = api.call("POST", "/v1/data/.my", raw=b"node dir", headers={"Content-Type": "text/plain"})
    assert r.get_json() == {"result": "data://demo/node dir"}
    # Content-Type lies both ways
    r = api.call("POST", "/v1/data/demo", raw=b"labelled json", headers={"Content-Type": "application/json"})
    assert r.get_json() == {"result": "data://demo/labelled json"}
    r = api.call("POST", "/v1/data/demo", raw=b'{"name":"as text"}', headers={"Content-Type": "text/plain"})
    assert r.get_json() == {"result": "data://demo/as text"}
    acl = api.get("/v1/data/demo/node dir", acl="true").get_json()["acl"]
    assert acl == {"read": ["algo://.my/*"]}


def test_upload_byte_exact_whatever_the_content_type(api):
    blob = bytes(range(256)) * 10 + b"\r\n\x00end"
    for ctype in (None, "application/json", "text/plain", "application/x-www-form-urlencoded"):
        r = put_raw(api, f"{COLL}/blob.bin", blob, ctype)
        assert r.status_code == 200 and r.get_json() == {"result": "data://demo/example_collection/blob.bin"}
        assert api.get(f"{COLL}/blob.bin").data == blob
    text = "unicode ✓ — ünïcödé\n".encode()
    assert put_raw(api, "/v1/data/.my/example_collection/résumé 2024.txt", text).status_code == 200
    assert api.get("/v1/data/demo/example_collection/résumé 2024.txt").data == text
    names = [f["filename"] for f in api.get(COLL).get_json()["files"]]
    assert "résumé 2024.txt" in names
    assert put_raw(api, f"{COLL}/empty", b"").status_code == 200
    assert api.get(f"{COLL}/empty").data == b""


def test_delete_file_and_directories(api):
    assert api.delete(f"{COLL}/example.txt").data == b'{"result":{"deleted":1}}'
    error_of(api.get(f"{COLL}/example.txt"), 404)
    api.post("/v1/data/demo", {"name": "empty"})
    assert api.delete("/v1/data/demo/empty", force="true").get_json() == {"result": {"deleted": 1}}
    before = state_of(api)
    err = error_of(api.delete(COLL), 409)
    assert err["deleted"] == 0 and "force" in err["message"]
    assert state_of(api) == before
    assert api.delete(COLL, force="true").get_json() == {"result": {"deleted": 3}}
    error_of(api.get(COLL), 404)


def test_patch_acl(api):
    r = api.patch("/v1/data/demo/private_notes", {"acl": {"read": ["user://*"]}})
    assert r.status_code == 200 and r.data == b""
    assert api.as_(ALICE).get("/v1/data/demo/private_notes/todo.md").status_code == 200
    before = state_of(api)
    error_of(api.patch("/v1/data/demo/private_notes", {"acl": {"read": ["everyone"]}}), 400)
    error_of(api.patch("/v1/data/demo/private_notes", {"read": []}), 400)
    error_of(api.patch("/v1/data/demo/nope", {"acl": {"read": []}}), 404)
    assert state_of(api) == before


# -- errors change nothing -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/data/demo/example_collection/../private_notes/x",
                                  "/v1/data/demo/example_collection/%2E%2E/x",
                                  "/v1/data/demo//example_collection/x",
                                  "/v1/data/demo/example_collection/a%00b",
                                  "/v1/data/demo/example_collection/" + "n" * 256,
                                  "/v1/data/demo/example_collection/sub/x.txt"])
def test_bad_paths_refused_and_nothing_changes(api, path):
    before = state_of(api)
    error_of(put_raw(api, path, b"payload"), 400)
    error_of(api.post(path.rsplit("/", 1)[0], {"name": "x"}), 400)
    assert state_of(api) == before


def test_bad_create_bodies(api):
    before = state_of(api)
    error_of(api.call("POST", "/v1/data/demo", raw=b"{not json", headers={"Content-Type": "application/json"}), 400, 2013)
    error_of(api.post("/v1/data/demo", {"acl": {"read": []}}), 400, 6001)
    error_of(api.post("/v1/data/demo", {"name": "example_collection"}), 409)
    error_of(api.post("/v1/data/demo", {"name": "x", "acl": {"read": ["user://someone"]}}), 400)
    error_of(api.post("/v1/data/demo/example_collection", {"name": "sub"}), 400)
    error_of(api.call("POST", "/v1/data/demo", raw=b"", headers={"Content-Type": "text/plain"}), 400)
    assert state_of(api) == before


def test_upload_errors(api):
    before = state_of(api)
    error_of(put_raw(api, "/v1/data/demo/no_such_collection/f.txt", b"x"), 404)
    error_of(put_raw(api, COLL, b"x"), 400)
    error_of(put_raw(api, "/v1/data/nobody/c/f.txt", b"x"), 404)
    error_of(api.delete("/v1/data/demo"), 400)
    error_of(api.delete(f"{COLL}/nope"), 404)
    assert state_of(api) == before


# -- ACLs and permissions -----------------------------------------------------------------------
def test_cross_user_acl(api):
    alice = api.as_(ALICE)
    before = state_of(api)
    error_of(alice.get("/v1/data/demo/private_notes"), 404)
    error_of(alice.get("/v1/data/demo/private_notes/todo.md"), 404)
    assert [f["name"] for f in alice.get("/v1/data/demo").get_json()["folders"]] == ["example_collection"]
    assert alice.get(f"{COLL}/example.txt").status_code == 200
    error_of(put_raw(alice, f"{COLL}/mine.txt", b"x"), 403, 2001)
    error_of(alice.delete(f"{COLL}/example.txt"), 403, 2001)
    error_of(alice.patch(COLL, {"acl": {"read": []}}), 403, 2001)
    error_of(alice.post("/v1/data/demo", {"name": "intruder"}), 403, 2001)
    error_of(put_raw(alice, "/v1/data/demo/private_notes/x", b"x"), 404)
    assert state_of(api) == before


def test_org_collections(api):
    assert put_raw(api, "/v1/data/acme/shared/demo.txt", b"member write").status_code == 200
    assert api.as_(ALICE).get("/v1/data/acme/shared/demo.txt").data == b"member write"
    assert api.post("/v1/data/acme", {"name": "team"}).get_json() == {"result": "data://acme/team"}
    before = state_of(api)
    error_of(api.as_(BOB).get("/v1/data/acme/shared"), 404)
    assert state_of(api) == before


def test_read_only_key_refused_2001(api):
    bob = api.as_(BOB)
    assert bob.get(f"{COLL}/example.txt").status_code == 200
    before = state_of(api)
    error_of(put_raw(bob, "/v1/data/bob/x/y", b"x"), 403, 2001)
    error_of(bob.post("/v1/data/bob", {"name": "c"}), 403, 2001)
    error_of(bob.delete(f"{COLL}/example.txt"), 403, 2001)
    error_of(bob.patch(COLL, {"acl": {"read": []}}), 403, 2001)
    error_of(api.get(COLL, key=None), 401, 2001)
    assert state_of(api) == before


def test_admin_reads_everything(api):
    assert api.as_(ADMIN).get("/v1/data/alice/datasets/iris.csv").status_code == 200


def test_listing_pagination_over_http(api):
    api.post("/v1/data/demo", {"name": "many"})
    for i in range(12):
        put_raw(api, f"/v1/data/demo/many/f{i:02d}.txt", str(i).encode())
    seen, marker, pages = [], None, 0
    while True:
        q = {"limit": "5", **({"marker": marker} if marker else {})}
        body = api.get("/v1/data/demo/many", **q).get_json()
        seen += [f["filename"] for f in body["files"]]
        pages += 1
        if "marker" not in body:          # the last page leaves the key out (the R client's test)
            break
        marker = body["marker"]
        assert isinstance(marker, str) and marker
    assert pages == 3 and seen == sorted(seen) and len(seen) == 12
    error_of(api.get("/v1/data/demo/many", marker="garbage!"), 400, 5002)
    error_of(api.get("/v1/data/demo/many", limit="0"), 400, 5003)
    error_of(api.get("/v1/data/demo/many", limit="100000"), 400, 5003)


# -- upload limit ----------------------------------------------------------------------------------
@pytest.fixture()
def small():
    app = create_app(Settings(profile_scale=0.0, max_upload_bytes=1000))
    return Api(app.test_client(), DEMO)


def test_upload_limit_with_content_length(small):
    before = state_of(small)
    err = error_of(put_raw(small, f"{COLL}/big.bin", b"x" * 1001), 413)
    assert "1000" in err["message"]
    assert state_of(small) == before
    assert put_raw(small, f"{COLL}/ok.bin", b"x" * 1000).status_code == 200


def test_upload_limit_chunked(small):
    def chunked(size):
        return small.client.put(f"{COLL}/chunked.bin", input_stream=io.BytesIO(b"y" * size),
                                headers={"Authorization": DEMO, "Transfer-Encoding": "chunked"},
                                environ_overrides={"wsgi.input_terminated": True})
    before = state_of(small)
    error_of(chunked(5000), 413)
    assert state_of(small) == before
    r = chunked(999)
    assert r.status_code == 200
    assert small.get(f"{COLL}/chunked.bin").data == b"y" * 999


def test_state_export_carries_file_bytes(api):
    put_raw(api, f"{COLL}/b.bin", b"\xff\x00\xfe")
    exported = api.client.application.extensions["mockserver"].ctx.store.export()["data"]
    entry = exported["homes"]["demo"]["folder"]["example_collection"]["folder"]["b.bin"]
    assert base64.b64decode(entry["file"]) == b"\xff\x00\xfe"

"""Domain rules of the Data API (mockserver.domain.data), without HTTP."""
import dataclasses
import json

import pytest

from mockserver import codec
from mockserver.domain.principal import Principal
from mockserver.settings import Settings
from mockserver.domain import data, data_paths
from mockserver.domain.context import Ctx
from mockserver.domain.data_models import DataStore
from mockserver.errors import ApiError
from mockserver.fixtures import FixtureError, default_fixture, load_into
from mockserver.ids import Clock, Ids
from mockserver.domain.store import State, Store

DEMO = "simDemoSandboxKey0000000000"
ALICE = "simAliceSandboxKey000000000"
BOB = "simBobReadOnlyKey000000000"
ADMIN = "simAdminSandboxKey000000000"
PAGE = {"limit": None, "marker": None, "max_limit": 1000, "default_limit": 50}


@pytest.fixture()
def ctx():
    c = Ctx(store=Store(), ids=Ids(1), clock=Clock("frozen"), settings=Settings())
    load_into(c, [str(default_fixture())])
    return c


def who(ctx, key, algorithm=None):
    with ctx.store.read() as state:
        k = state.keys[key]
    if algorithm:
        k = dataclasses.replace(k, algorithm=algorithm)
    return Principal(k)


def err(fn, *args, **kw) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args, **kw)
    return info.value


def snapshot(ctx):
    return json.dumps(codec.to_json(ctx.store.state.data), sort_keys=True)


# -- paths -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["a/../b", "..", "a/./b", "a//b", "/a", "a/\x00b", "a/" + "x" * 256,
                                 "a/" + "é" * 128, "a/b\x07"])
def test_bad_paths_refused(bad):
    e = err(data_paths.split_path, bad)
    assert e.status == 400 and e.code == 6001


def test_paths_accept_trailing_slash_spaces_unicode_and_255_bytes():
    assert data_paths.split_path("demo/c/") == ["demo", "c"]
    assert data_paths.split_path("demo/my coll/résumé 📄.txt") == ["demo", "my coll", "résumé 📄.txt"]
    assert data_paths.split_path("a/" + "x" * 255)[1] == "x" * 255
    assert data_paths.split_path("..a/b..") == ["..a", "b.."]


# -- collections and files -----------------------------------------------------------
def test_create_upload_get_list_delete(ctx):
    demo = who(ctx, DEMO)
    assert data.create_directory(ctx, demo, "data", ".my", b'{"name":"c1","acl":{"read":["user://*"]}}') == \
        "data://demo/c1"
    blob = bytes(range(256)) * 3
    assert data.upload(ctx, demo, "data", "demo/c1/b.bin", blob) == "data://demo/c1/b.bin"
    got = data.get(ctx, demo, "data", ".my/c1/b.bin")
    assert got.data == blob and got.content_type == "application/octet-stream"
    listing = data.get(ctx, demo, "data", "demo/c1", acl=True, page=PAGE)
    assert listing.files == [data.ListedFile("b.bin", listing.files[0].last_modified, 768)]
    assert listing.acl == ["user://*"] and listing.marker is None
    assert data.delete(ctx, demo, "data", "demo/c1/b.bin") == 1
    assert data.delete(ctx, demo, "data", "demo/c1") == 1
    assert err(data.get, ctx, demo, "data", "demo/c1").status == 404


def test_text_body_names_a_collection_and_default_acl_is_my_algos(ctx):
    demo = who(ctx, DEMO)
    assert data.create_directory(ctx, demo, "data", "demo", b"plain name") == "data://demo/plain name"
    assert data.create_directory(ctx, demo, "data", "demo", b'"quoted"') == "data://demo/quoted"
    assert ctx.store.state.data.homes["demo"].entries["plain name"].acl == ["algo://.my/*"]


@pytest.mark.parametrize("body,code", [(b"", 6001), (b"{bad", 2013), (b'{"acl":{"read":[]}}', 6001),
                                       (b'{"name":"x","acl":{"read":["everyone"]}}', 6001), (b"[1]", 6001),
                                       (b'{"name":".."}', 6001), (b"\xff\xfe", 6001), (b'{"name":"a/b"}', 6001)])
def test_bad_directory_bodies_change_nothing(ctx, body, code):
    before = snapshot(ctx)
    assert err(data.create_directory, ctx, who(ctx, DEMO), "data", "demo", body).code == code
    assert snapshot(ctx) == before


def test_no_directories_inside_collections(ctx):
    demo = who(ctx, DEMO)
    before = snapshot(ctx)
    e = err(data.create_directory, ctx, demo, "data", "demo/example_collection", b'{"name":"sub"}')
    assert e.status == 400 and "no sub-directories" in e.message
    assert err(data.upload, ctx, demo, "data", "demo/example_collection/sub/f.txt", b"x").status == 400
    assert err(data.get, ctx, demo, "data", "demo/example_collection/sub/f.txt").status == 404
    assert snapshot(ctx) == before


def test_conflicts_and_missing(ctx):
    demo = who(ctx, DEMO)
    before = snapshot(ctx)
    assert err(data.create_directory, ctx, demo, "data", "demo", b"example_collection").status == 409
    assert err(data.upload, ctx, demo, "data", "demo/nope/f.txt", b"x").status == 404
    assert err(data.upload, ctx, demo, "data", "demo/example_collection", b"x").status == 400
    assert err(data.get, ctx, demo, "data", "nobody/c").status == 404
    assert err(data.delete, ctx, demo, "data", "demo").status == 400
    e = err(data.delete, ctx, demo, "data", "demo/example_collection")
    assert e.status == 409 and e.extra == {"deleted": 0}
    assert snapshot(ctx) == before


def test_forced_delete_counts_files_and_the_directory(ctx):
    demo = who(ctx, DEMO)
    assert data.delete(ctx, demo, "data", "demo/example_collection", force=True) == 4
    assert "example_collection" not in ctx.store.state.data.homes["demo"].entries


# -- ACLs ----------------------------------------------------------------------------
def test_private_is_invisible_public_is_read_only(ctx):
    alice, demo = who(ctx, ALICE), who(ctx, DEMO)
    before = snapshot(ctx)
    assert err(data.get, ctx, alice, "data", "demo/private_notes").status == 404
    assert err(data.head, ctx, alice, "data", "demo/private_notes/todo.md").status == 404
    assert err(data.upload, ctx, alice, "data", "demo/private_notes/x", b"x").status == 404
    assert [f.name for f in data.get(ctx, alice, "data", "demo", page=PAGE).folders] == ["example_collection"]
    assert data.get(ctx, alice, "data", "demo/example_collection/example.txt").data == b"Leader of the Autobots"
    e = err(data.upload, ctx, alice, "data", "demo/example_collection/x.txt", b"x")
    assert e.status == 403 and e.code == 2001
    assert err(data.delete, ctx, alice, "data", "demo/example_collection/example.txt").code == 2001
    assert err(data.update_acl, ctx, alice, "data", "demo/example_collection", {"acl": {"read": []}}).code == 2001
    assert err(data.create_directory, ctx, alice, "data", "demo", b"mine").code == 2001
    assert snapshot(ctx) == before
    # demo may read their own private collection
    assert data.head(ctx, demo, "data", "demo/private_notes/todo.md").data_type == "file"


def test_org_members_write_org_collections(ctx):
    demo, bob = who(ctx, DEMO), who(ctx, BOB)
    data.upload(ctx, demo, "data", "acme/shared/new.txt", b"from demo")
    assert data.get(ctx, who(ctx, ALICE), "data", "acme/shared/new.txt").data == b"from demo"
    assert err(data.get, ctx, bob, "data", "acme/shared").status == 404


def test_algo_acl_reads_for_the_owners_algorithms_only(ctx):
    # alice/datasets is algo://.my/*: alice's algorithms read it, demo's do not, nor demo itself
    assert err(data.get, ctx, who(ctx, DEMO), "data", "alice/datasets/iris.csv").status == 404
    assert err(data.get, ctx, who(ctx, DEMO, "demo/Hello"), "data", "alice/datasets/iris.csv").status == 404
    running = who(ctx, DEMO, "alice/Classifier")
    assert data.get(ctx, running, "data", "alice/datasets/iris.csv").data.startswith(b"sepal_length")
    assert data.get(ctx, who(ctx, DEMO, "algo://alice/X"), "data", "alice/datasets", page=PAGE).files
    assert err(data.upload, ctx, running, "data", "alice/datasets/x.csv", b"x").code == 2001


def test_update_acl(ctx):
    demo, alice = who(ctx, DEMO), who(ctx, ALICE)
    data.update_acl(ctx, demo, "data", "demo/private_notes", {"acl": {"read": ["user://*"]}})
    assert data.get(ctx, alice, "data", "demo/private_notes/todo.md").data.startswith(b"# TODO")
    before = snapshot(ctx)
    assert err(data.update_acl, ctx, demo, "data", "demo", {"acl": {"read": []}}).status == 400
    assert err(data.update_acl, ctx, demo, "data", "demo/private_notes/todo.md", {"acl": {"read": []}}).status == 400
    assert err(data.update_acl, ctx, demo, "data", "demo/nope", {"acl": {"read": []}}).status == 404
    assert err(data.update_acl, ctx, demo, "s3", "my_bucket", {"acl": {"read": []}}).status == 400
    assert snapshot(ctx) == before


# -- connectors ------------------------------------------------------------------------
def test_s3_bucket_first_and_nested_dirs(ctx):
    demo = who(ctx, DEMO)
    assert data.upload(ctx, demo, "s3", "my_bucket/a/b/c.txt", b"deep") == "s3://my_bucket/a/b/c.txt"
    assert data.get(ctx, demo, "s3+test", "my_bucket/a/b/c.txt").data == b"deep"
    root = data.get(ctx, demo, "s3", None, page=PAGE)
    assert root.folders == [data.ListedFolder("my_bucket")]
    before = snapshot(ctx)
    assert err(data.upload, ctx, demo, "s3", "nobucket/f.txt", b"x").status == 404
    assert err(data.upload, ctx, demo, "s3", "top.txt", b"x").status == 400
    assert err(data.upload, ctx, demo, "s3", "my_bucket/a/b/c.txt/d", b"x").status == 409
    assert err(data.upload, ctx, demo, "s3", "my_bucket/a", b"x").status == 409
    assert snapshot(ctx) == before
    assert data.delete(ctx, demo, "s3", "my_bucket/a", force=True) == 3


def test_unconfigured_connectors(ctx):
    demo = who(ctx, DEMO)
    for cid in ("azureblob", "s3+nolabel", "gs", "ftp", "data+x"):
        e = err(data.get, ctx, demo, cid, "x", page=PAGE)
        assert e.status == 404 and cid in e.message


def test_connector_fixture_and_owner(tmp_path, ctx):
    (tmp_path / "local.bin").write_bytes(b"\x00\x01local")
    (tmp_path / "f.yaml").write_text(
        "connectors:\n"
        "  - {type: azureblob, owner: alice, container: c, files: [{name: a/b.bin, path: local.bin}]}\n"
        "  - {type: dropbox, label: mine, files: [{name: x.txt, base64: aGk=}]}\n")
    load_into(ctx, [str(tmp_path / "f.yaml")])
    assert data.get(ctx, who(ctx, ALICE), "azureblob", "a/b.bin").data == b"\x00\x01local"
    assert err(data.get, ctx, who(ctx, DEMO), "azureblob", "a/b.bin").status == 404
    assert data.get(ctx, who(ctx, DEMO), "dropbox", "x.txt").data == b"hi"          # only one: it is the default
    assert data.get(ctx, who(ctx, DEMO), "dropbox+mine", "x.txt").data == b"hi"


def test_bad_fixture_is_named(tmp_path, ctx):
    (tmp_path / "f.yaml").write_text("data:\n  collections:\n    - {path: ghost/c, files: []}\n")
    with pytest.raises(FixtureError) as info:
        load_into(ctx, [str(tmp_path / "f.yaml")])
    assert info.value.where == "data/0" and "ghost" in info.value.reason


# -- pagination, state ---------------------------------------------------------------------
def test_listing_pages_with_marker(ctx):
    demo = who(ctx, DEMO)
    data.create_directory(ctx, demo, "data", "demo", b"many")
    for i in range(23):
        data.upload(ctx, demo, "data", f"demo/many/f{i:03d}", b"x" * i)
    names, marker = [], None
    while True:
        page = data.get(ctx, demo, "data", "demo/many", page={**PAGE, "limit": 10, "marker": marker})
        names += [f.name for f in page.files]
        marker = page.marker
        if marker is None:
            break
    assert names == [f"f{i:03d}" for i in range(23)]
    other = data.get(ctx, demo, "data", "demo/example_collection", page={**PAGE, "limit": 1}).marker
    assert err(data.get, ctx, demo, "data", "demo/many", page={**PAGE, "marker": other}).code == 5002


def test_root_lists_caller_first_then_orgs(ctx):
    assert data.get(ctx, who(ctx, DEMO), "data", None, page=PAGE).folders == [data.ListedFolder("demo"), data.ListedFolder("acme")]
    assert data.get(ctx, who(ctx, BOB), "data", None, page=PAGE).folders == [data.ListedFolder("bob")]


def test_admin_root_pages_through_every_user_and_org_in_name_order(ctx):
    state = ctx.store.state
    for i in range(120):   # interleave with the fixture names: users and orgs share one order
        state.put_user(dataclasses.replace(state.users["demo"], username=f"u{i:03d}", email=f"u{i:03d}@example.com"))
        state.put_org(dataclasses.replace(state.orgs["acme"], org_name=f"o{i:03d}", members=dict(state.orgs["acme"].members)))
    admin, names, marker = who(ctx, ADMIN), [], None
    while True:
        page = data.get(ctx, admin, "data", None, page={**PAGE, "limit": 7, "marker": marker})
        names += [f.name for f in page.folders]
        marker = page.marker
        if marker is None:
            break
    assert names == sorted([*state.users, *state.orgs])
    forged = data.get(ctx, admin, "data", "demo/example_collection", page={**PAGE, "limit": 1}).marker
    assert err(data.get, ctx, admin, "data", None, page={**PAGE, "marker": forged}).code == 5002


def test_state_round_trips_and_resets_to_an_independent_copy(ctx):
    state = ctx.store.state
    exported = codec.to_json(state)
    json.dumps(exported)
    back = codec.from_json(exported, State)
    assert isinstance(back.data, DataStore)
    assert codec.to_json(back.data) == exported["data"]
    ctx.store.mark_baseline()
    ctx.store.reset()
    clone = ctx.store.state
    assert clone is not state and codec.to_json(clone) == exported
    clone.data.homes["demo"].entries.clear()
    assert state.data.homes["demo"].entries
    ctx.store.reset()
    assert ctx.store.state.data.homes["demo"].entries


def test_drop_owner(ctx):
    ctx.store.state.data.drop_owner("demo")
    assert "demo" not in ctx.store.state.data.homes

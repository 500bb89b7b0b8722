"""Fixture files stay in their folder, expand to a bounded size, and store no file past the upload limit."""
import os
import resource
import textwrap

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.fixtures import FixtureError, default_fixture

from support.api import DEMO, error_of

YAML = {"Content-Type": "application/x-yaml"}
AUTH = {"Authorization": f"Simple {DEMO}"}


def _collection(path_line: str) -> str:
    return textwrap.dedent(f"""\
        data:
          collections:
            - path: demo/leak
              files:
                - name: f.txt
                  {path_line}
        """)


def _write(tmp_path, name, text):
    target = tmp_path / name
    target.write_text(text)
    return target


def _load(folder, text, **settings):
    """The sandbox (it has the user demo) plus one fixture file written into ``folder``."""
    fixture = _write(folder, "fixture.yaml", text)
    return create_app(Settings(profile_scale=0.0, fixtures=[str(default_fixture()), str(fixture)], **settings))


def test_a_file_beside_the_fixture_is_loaded(tmp_path):
    _write(tmp_path, "hello.txt", "hi")
    app = _load(tmp_path, _collection("path: hello.txt"))
    assert app.test_client().get("/v1/data/demo/leak/f.txt", headers=AUTH).data == b"hi"


@pytest.mark.parametrize("path_line", ["path: /etc/hostname", "path: ../../etc/hostname",
                                       "path: sub/../../outside.txt"])
def test_absolute_and_dotdot_paths_are_refused(tmp_path, path_line):
    with pytest.raises(FixtureError) as err:
        _load(tmp_path, _collection(path_line))
    assert "stay in its folder" in err.value.reason


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "inner").mkdir()
    secret = _write(tmp_path, "secret.txt", "host secret")
    os.symlink(secret, tmp_path / "inner" / "link.txt")
    with pytest.raises(FixtureError) as err:
        _load(tmp_path / "inner", _collection("path: link.txt"))
    assert "leads out of" in err.value.reason


def test_fixtures_over_http_may_not_reference_files(app, server):
    c = app.test_client()
    for path_line in ("path: /etc/hostname", "path: ../../etc/hostname", "path: hostname"):
        err = error_of(c.post("/_mock/fixtures", data=_collection(path_line), headers=YAML), 400, 6001)
        assert "may not reference files" in err["message"]
    error_of(c.get("/v1/data/demo/leak/f.txt", headers=AUTH), 404)


def test_fixtures_over_http_in_their_media_type_are_applied(app, server):
    r = app.test_client().post("/_mock/fixtures", data=_collection("text: inline"), headers=YAML)
    assert r.status_code == 200, r.data
    assert app.test_client().get("/v1/data/demo/leak/f.txt", headers=AUTH).data == b"inline"


BILLION_LAUGHS = textwrap.dedent("""\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    data:
      collections:
        - path: demo/bomb
          files:
            - name: boom.json
              json: *h
    """)


def test_alias_bomb_is_refused_with_state_intact(app, server):
    before = app.test_client().get("/_mock/state").get_json()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = error_of(app.test_client().post("/_mock/fixtures", data=BILLION_LAUGHS, headers=YAML), 400, 6001)
    assert "expands to more than" in err["message"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50 * 1024     # KiB: no 80 MB file
    assert app.test_client().get("/_mock/state").get_json() == before


def test_recursive_alias_is_refused(app, server):
    err = error_of(app.test_client().post("/_mock/fixtures", data="a: &a [*a]\n", headers=YAML), 400, 6001)
    assert "recursive" in err["message"]


def test_moderate_anchors_still_work(app, server):
    doc = _collection("text: &t shared") + "  # a comment\n"
    assert app.test_client().post("/_mock/fixtures", data=doc, headers=YAML).status_code == 200


def test_stored_fixture_files_obey_the_upload_limit(tmp_path):
    _write(tmp_path, "big.bin", "x" * 2048)
    with pytest.raises(FixtureError) as err:
        _load(tmp_path, _collection("path: big.bin"), max_upload_bytes=1024)
    assert "over the upload limit" in err.value.reason
    with pytest.raises(FixtureError) as err:
        _load(tmp_path, _collection("text: " + "y" * 2048), max_upload_bytes=1024)
    assert "over the upload limit" in err.value.reason


def test_undecodable_fixture_is_a_clear_fixture_error(tmp_path, app, server):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("users: [{username: j\xf6rg}]\n".encode("latin-1"))
    with pytest.raises(FixtureError) as err:
        create_app(Settings(profile_scale=0.0, fixtures=[str(bad)]))
    assert err.value.where == "(encoding)" and "not UTF-8" in err.value.reason
    r = app.test_client().post("/_mock/fixtures", data=bad.read_bytes(), headers=YAML)
    assert "not UTF-8" in error_of(r, 400, 6001)["message"]


def test_deeply_nested_yaml_is_a_fixture_error(app, server):
    r = app.test_client().post("/_mock/fixtures", data="a: " + "[" * 5000 + "]" * 5000, headers=YAML)
    error_of(r, 400, 6001)

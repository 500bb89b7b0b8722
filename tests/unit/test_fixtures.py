import dataclasses
from pathlib import Path

import pytest
import yaml

import mockserver

from mockserver.settings import Settings
from mockserver.domain.context import Ctx
from mockserver.fixtures import FixtureError, default_fixture, load_into
from mockserver.ids import Clock, Ids
from mockserver.runtime import Profile
from mockserver.domain.store import Store


def ctx():
    return Ctx(store=Store(), ids=Ids(1), clock=Clock("frozen"), settings=Settings())


def load_text(tmp_path, text):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    c = ctx()
    load_into(c, [str(path)])
    return c


def test_default_fixture_loads():
    c = ctx()
    load_into(c, [str(default_fixture())])
    with c.store.read() as state:
        assert {"demo", "alice", "bob"} <= set(state.users)
        assert state.orgs["acme"].members["alice"] == "owner"
        assert "internal" in state.scms and "github" in state.scms


def test_schema_error_names_file_path_and_reason(tmp_path):
    with pytest.raises(FixtureError) as err:
        load_text(tmp_path, "users:\n  - username: x\n    email: 5\n    fullname: X\n")
    assert err.value.file.endswith("f.yaml") and err.value.where == "users/0/email"
    assert "string" in err.value.reason


def test_rule_error_names_the_item(tmp_path):
    text = ("users:\n  - {username: a1, email: a@aa.com, fullname: A}\n"
            "  - {username: a1, email: b@bb.com, fullname: B}\n")
    with pytest.raises(FixtureError) as err:
        load_text(tmp_path, text)
    assert err.value.where == "users/1" and "taken" in err.value.reason


def test_unknown_section_refused(tmp_path):
    with pytest.raises(FixtureError) as err:
        load_text(tmp_path, "gadgets: []\n")
    assert "gadgets" in err.value.reason


def test_not_yaml(tmp_path):
    with pytest.raises(FixtureError) as err:
        load_text(tmp_path, "users: [\n")
    assert err.value.where == "(yaml)"


def test_missing_file():
    with pytest.raises(FixtureError) as err:
        load_into(ctx(), ["/nonexistent/x.yaml"])
    assert "cannot read" in err.value.reason


def test_admin_key_setting_adds_admin(tmp_path):
    c = ctx()
    load_into(c, [str(default_fixture())], admin_key="simExtraAdmin123")
    with c.store.read() as state:
        assert state.keys["simExtraAdmin123"].is_admin


@pytest.mark.parametrize("section, item, where, named", [
    ("algorithms", "{owner: demo, name: A, colour: red}", "algorithms/0", "colour"),
    ("algorithms", "{owner: demo}", "algorithms/0", "name"),
    ("algorithms", "{owner: demo, name: A, versions: [{version_type: minor, flavour: x}]}", "algorithms/0/versions/0",
     "flavour"),
    ("algorithms", "{owner: demo, name: A, versions: [minor]}", "algorithms/0/versions/0", "object"),
    ("profiles", "{name: p1, colour: red}", "profiles/0", "colour"),
    ("profiles", "{processor: cpu}", "profiles/0", "name"),
    ("profiles", "{name: p1, warm_slots: two}", "profiles/0/warm_slots", "integer"),
])
def test_algorithm_and_profile_keys_are_checked_by_the_schema(tmp_path, section, item, where, named):
    with pytest.raises(FixtureError) as err:
        load_text(tmp_path, f"{section}:\n  - {item}\n")
    assert err.value.where == where and named in err.value.reason


def test_profile_schema_names_every_profile_field():
    """The schema's profile keys and the Profile dataclass stay one list."""
    schema = yaml.safe_load((Path(mockserver.__file__).parent / "fixture_schema.yaml").read_text())
    assert set(schema["$defs"]["profile"]["properties"]) == {f.name for f in dataclasses.fields(Profile)}


ATOMIC = """
profiles:
  - {name: atomic-profile, description: from the refused document}
users:
  - {username: zed, email: zed@example.com, fullname: Zed}
algorithms:
  - {owner: zed, name: Refused, binding: "os:system"}
"""


def test_a_refused_document_leaves_nothing_behind(tmp_path):
    """algorithms/0 is refused (403, code outside the allowed roots): its users and profiles
    sections, applied before it, are undone too (issue 26)."""
    from mockserver.app import create_app
    from mockserver.fixtures import load_file
    server = create_app(Settings(profile_scale=0.0)).extensions["mockserver"]
    (tmp_path / "f.yaml").write_text(ATOMIC)
    before = server.ctx.store.export()
    with pytest.raises(FixtureError) as caught:
        load_file(server.ctx, tmp_path / "f.yaml")
    assert caught.value.status == 403 and caught.value.where == "algorithms/0"
    assert server.ctx.store.export() == before and "atomic-profile" not in server.ctx.profiles
    server.ctx.engine.shutdown()

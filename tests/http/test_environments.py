"""Languages, their environments, and the environment template archive (issue 18 item 5)."""
import io
import tarfile

from support.api import error_of
from mockserver.domain.repository import template_files

BASE = "/v1/algorithm-environments/edge"


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_languages_are_a_bare_list(api):
    r = api.get(f"{BASE}/languages")
    assert r.status_code == 200
    names = {lang["name"]: lang["display_name"] for lang in r.get_json()}
    assert names["python3-1"] == "Python 3.x" and names["java"] == "Java"


def test_each_environment_hands_out_its_languages_template(api):
    envs = api.get(f"{BASE}/languages/python3-1/environments").get_json()["environments"]
    assert {e["display_name"] for e in envs} == {"python3-cpu", "python3-gpu"}
    assert len({e["id"] for e in envs}) == 2
    for env in envs:
        r = api.get(f"{BASE}/environment-specifications/{env['environment_specification_id']}/template")
        assert r.status_code == 200, r.data[:200]
        assert r.headers["Content-Type"] == "application/gzip"
        assert 'filename="template.tar.gz"' in r.headers["Content-Disposition"]
        files = _members(r.data)
        assert files == template_files("__ALGO__", "python3-1")
        assert b"def apply(input)" in files["src/__ALGO__.py"]


def test_a_profile_serving_two_languages_has_one_environment_per_language(api, server, monkeypatch):
    from mockserver.runtime.profiles import Profile
    monkeypatch.setattr(server.ctx, "profiles", {**server.ctx.profiles,      # restored after the test
                                                 "polyglot": Profile(name="polyglot", languages=("java", "ruby"))})
    java = api.get(f"{BASE}/languages/java/environments").get_json()["environments"]
    ruby = api.get(f"{BASE}/languages/ruby/environments").get_json()["environments"]
    assert [e["display_name"] for e in java] == [e["display_name"] for e in ruby] == ["polyglot"]
    assert java[0]["id"] != ruby[0]["id"]
    java_files = _members(api.get(f"{BASE}/environment-specifications/{java[0]['id']}/template").data)
    ruby_files = _members(api.get(f"{BASE}/environment-specifications/{ruby[0]['id']}/template").data)
    assert "pom.xml" in java_files and "src/main/java/algorithmia/__ALGO__/__ALGO__.java" in java_files
    assert "Gemfile" in ruby_files and "src/__ALGO__.rb" in ruby_files


def test_unknown_environment_is_a_404_error_object(api):
    for bad in ("00000000-0000-0000-0000-000000000000", "python3-cpu", "nope"):
        err = error_of(api.get(f"{BASE}/environment-specifications/{bad}/template"), 404, 5004)
        assert "environment" in err["message"]


def test_template_needs_a_key(api):
    r = api.get(f"{BASE}/environment-specifications/x/template", key=None)
    error_of(r, 401)

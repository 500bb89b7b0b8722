"""Environment languages, their environments (one per runtime profile and language), the
environment template archive, and settings.algorithm_environment (issue 18 item 5, issue 27 items 1-2)."""
import io
import json
import tarfile

import pytest

from support.api import error_of
from mockserver.domain.repository import template_files
from mockserver.runtime.profiles import Profile

BASE = "/v1/algorithm-environments/edge"
SETTINGS = {"license": "apl", "network_access": "full", "pipeline_enabled": True, "source_visibility": "closed"}


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _environments(api, language):
    r = api.get(f"{BASE}/languages/{language}/environments")
    assert r.status_code == 200, r.data[:300]
    return r.get_json()["environments"]


def test_languages_are_the_platforms_environment_languages(api):
    r = api.get(f"{BASE}/languages")
    assert r.status_code == 200
    listed = r.get_json()
    assert [lang["name"] for lang in listed] == ["anaconda3", "csharp-dotnet-core2", "java11", "python2", "python3",
                                                 "r36", "scala-2"]
    python3 = next(lang for lang in listed if lang["name"] == "python3")
    assert python3["display_name"] == "Python 3.x (Environments)"
    assert json.loads(python3["configuration"])["req_files"] == ["requirements.txt"]


def test_python_environments_are_the_cpu_and_gpu_profiles(api):
    envs = _environments(api, "python3")
    assert [(e["display_name"], e["machine_type"]) for e in envs] == [("Python 3.x", "CPU"),
                                                                      ("Python 3.x + GPU support", "GPU")]
    for env in envs:
        assert env["language"]["name"] == "python3" and env["language"]["display_name"] == "Python 3.x (Environments)"
        assert env["id"] != env["environment_specification_id"] and env["created_at"].endswith("Z")
    assert "runtime profile python3-cpu" in envs[0]["description"]
    assert "runtime profile python3-gpu" in envs[1]["description"]
    assert [e["machine_type"] for e in _environments(api, "python2")] == ["CPU", "GPU"]
    assert _environments(api, "java11") == [] and _environments(api, "anaconda3") == []


def test_a_settings_language_is_not_an_environment_language(api):
    err = error_of(api.get(f"{BASE}/languages/python3-1/environments"), 400, 4001)
    assert "'python3'" in err["message"]           # where its environments are
    error_of(api.get(f"{BASE}/languages/cobol/environments"), 400, 4001)


def test_each_environment_hands_out_its_languages_template(api):
    for env in _environments(api, "python3"):
        for ident in (env["environment_specification_id"], env["id"]):
            r = api.get(f"{BASE}/environment-specifications/{ident}/template")
            assert r.status_code == 200, r.data[:200]
            assert r.headers["Content-Type"] == "application/gzip"
            assert 'filename="template.tar.gz"' in r.headers["Content-Disposition"]
            files = _members(r.data)
            assert files == template_files("__ALGO__", "python3-1")
            assert b"def apply(input)" in files["src/__ALGO__.py"]


def test_a_profile_serving_two_languages_has_one_environment_per_language(api, server, monkeypatch):
    monkeypatch.setattr(server.ctx, "profiles", {**server.ctx.profiles,      # restored after the test
                                                 "polyglot": Profile(name="polyglot", languages=("java", "r36"))})
    java = _environments(api, "java11")
    r36 = _environments(api, "r36")
    assert [e["display_name"] for e in java] == ["Java OpenJDK 11.0"] and [e["display_name"] for e in r36] == ["R 3.6.x"]
    assert java[0]["id"] != r36[0]["id"]
    java_files = _members(api.get(f"{BASE}/environment-specifications/{java[0]['id']}/template").data)
    r_files = _members(api.get(f"{BASE}/environment-specifications/{r36[0]['id']}/template").data)
    assert "pom.xml" in java_files and "src/main/java/algorithmia/__ALGO__/__ALGO__.java" in java_files
    assert "packages.txt" in r_files and "src/__ALGO__.r" in r_files


def test_two_profiles_of_one_kind_are_told_apart_by_name(api, server, monkeypatch):
    monkeypatch.setattr(server.ctx, "profiles", {**server.ctx.profiles,
                                                 "python3-big": Profile(name="python3-big", memory_mb=65536)})
    names = [e["display_name"] for e in _environments(api, "python3")]
    assert names == ["Python 3.x (python3-big)", "Python 3.x (python3-cpu)", "Python 3.x + GPU support"]


def test_unknown_environment_is_a_404_error_object(api):
    for bad in ("00000000-0000-0000-0000-000000000000", "python3-cpu", "nope"):
        err = error_of(api.get(f"{BASE}/environment-specifications/{bad}/template"), 404, 5004)
        assert "environment" in err["message"]


def test_template_needs_a_key(api):
    r = api.get(f"{BASE}/environment-specifications/x/template", key=None)
    error_of(r, 401)


# -- settings.algorithm_environment ---------------------------------------------------------
def _gpu_id(api):
    return next(e["id"] for e in _environments(api, "python3") if e["machine_type"] == "GPU")


@pytest.mark.parametrize("extra", [{}, {"language": "python3-1"}, {"language": "python3-1", "environment": "gpu"}])
def test_create_by_environment_id_with_or_without_language(api, extra):
    env_id = _gpu_id(api)
    r = api.post("/v1/algorithms/demo", {"name": "ByEnv", "details": {"label": "By env"},
                                             "settings": {**SETTINGS, "algorithm_environment": env_id, **extra}})
    assert r.status_code == 200, r.data[:300]
    settings = r.get_json()["settings"]
    assert settings["algorithm_environment"] == env_id
    assert settings["language"] == "python3-1" and settings["environment"] == "gpu"


def test_an_environment_picks_the_profile_calls_run_in(api, admin):
    env_id = _gpu_id(api)
    assert api.post("/v1/algorithms/demo", {"name": "OnGpu", "details": {"label": "On GPU"},
                                                "settings": {**SETTINGS, "algorithm_environment": env_id}}).status_code == 200
    built = api.post("/v1/algorithms/demo/OnGpu/compile").get_json()
    assert "python3-gpu" in api.get(f"/v1/algorithms/demo/OnGpu/builds/{built['build']['build_id']}/logs").get_json()["logs"]


def test_unknown_environment_id_is_refused_naming_it(api):
    for bad in ("00000000-0000-4000-8000-00000000dead", ""):
        r = api.post("/v1/algorithms/demo", {"name": "Nowhere", "details": {"label": "x"},
                                                 "settings": {**SETTINGS, "algorithm_environment": bad}})
        err = error_of(r, 400, 2015)
        assert repr(bad) in err["message"]
    assert api.get("/v1/algorithms/demo/Nowhere").status_code == 404


@pytest.mark.parametrize("extra", [{"language": "java", "environment": "gpu"}, {"environment": "cpu"}])
def test_an_environment_that_disagrees_with_language_or_processor_is_refused(api, extra):
    r = api.post("/v1/algorithms/demo", {"name": "Mixed", "details": {"label": "x"},
                                             "settings": {**SETTINGS, "algorithm_environment": _gpu_id(api), **extra}})
    assert "does not match settings.algorithm_environment" in error_of(r, 400, 2015)["message"]


def test_update_moves_an_algorithm_between_environments(api):
    cpu, gpu = (e["id"] for e in _environments(api, "python3"))
    body = {"name": "Mover", "details": {"label": "Mover"}, "settings": {**SETTINGS, "algorithm_environment": cpu}}
    assert api.post("/v1/algorithms/demo", body).status_code == 200
    r = api.put("/v1/algorithms/demo/Mover", {"details": {"label": "Mover"},
                                                  "settings": {**SETTINGS, "algorithm_environment": gpu}})
    assert r.status_code == 200, r.data[:300]
    assert (r.get_json()["settings"]["algorithm_environment"], r.get_json()["settings"]["environment"]) == (gpu, "gpu")
    # A processor given without an environment id drops the stored id it no longer matches.
    r = api.put("/v1/algorithms/demo/Mover", {"details": {"label": "Mover"},
                                                  "settings": {**SETTINGS, "language": "python3-1", "environment": "cpu"}})
    assert r.status_code == 200 and "algorithm_environment" not in r.get_json()["settings"]
    r = api.put("/v1/algorithms/demo/Mover", {"details": {"label": "Mover"},
                                                  "settings": {**SETTINGS, "algorithm_environment": "nope"}})
    error_of(r, 400, 2015)
    assert api.get("/v1/algorithms/demo/Mover").get_json()["settings"]["environment"] == "cpu"


def test_secret_providers_speak_the_generated_clients_names(api, admin):
    providers = api.get("/v1/secret-provider").get_json()
    assert set(providers[0]) == {"id", "name", "description", "moduleName", "factoryClassName", "interfaceVersion",
                                 "isEnabled", "isDefault", "created", "modified"}
    assert admin.get("/v1/admin/secret-provider").get_json() == providers
    error_of(api.get("/v1/admin/secret-provider"), 403, 2001)

"""The platform its clients were written for (issue 27), each through the client that makes
the call: algorithmia 2.0.5 (environments, create by environment, secrets, latestPrivate), the
generated client 1.5.5 (invocation results, secret providers), requests (multipart input)."""
import json
from pathlib import Path

import Algorithmia
import pytest
import requests

from support.api import ADMIN, DEMO
from support.code import open_to_workers
from support.clients import install_generated_client, run_generated

HERE = Path(__file__).parent
AUTH = {"Authorization": f"Simple {DEMO}"}
SETTINGS = {"license": "apl", "network_access": "full", "pipeline_enabled": True, "source_visibility": "closed"}
ECHO_PARTS = '''import base64


def apply(input):
    """What each part became: its Python type and value (bytes as base64)."""
    return {name: [type(value).__name__, base64.b64encode(value).decode() if isinstance(value, bytes) else value]
            for name, value in input.items()}
'''


def _bind(url, name, path):
    r = requests.put(f"{url}/_mock/algorithms/demo/{name}/binding", json={"target": f"{path}:apply"}, timeout=30)
    assert r.status_code == 200, r.text


def test_languages_and_environments_through_the_python_client(client):
    languages = client.get_supported_languages()
    assert {"anaconda3", "python2", "python3", "java11", "r36", "scala-2", "csharp-dotnet-core2"} == \
        {lang["name"] for lang in languages}
    assert all(json.loads(lang["configuration"])["display_name"] == lang["display_name"] for lang in languages)
    envs = client.get_environment("python3")["environments"]
    assert [e["display_name"] for e in envs] == ["Python 3.x", "Python 3.x + GPU support"]
    for env in envs:
        assert set(env) >= {"id", "environment_specification_id", "display_name", "description", "created_at",
                            "language", "machine_type"}
        assert env["language"]["name"] == "python3" and set(env["language"]) == {"name", "display_name", "configuration"}
    assert client.get_environment("python3-1")["error"]["code"] == 4001     # a settings.language, not an environment's


def test_create_with_an_environment_id_through_the_python_client(client, live_server):
    gpu = next(e for e in client.get_environment("python3")["environments"] if e["machine_type"] == "GPU")
    made = client.algo("demo/OnGpu").create(details={"label": "On GPU"},
                                            settings={**SETTINGS, "algorithm_environment": gpu["id"]})
    assert made["settings"]["algorithm_environment"] == gpu["id"]
    assert (made["settings"]["language"], made["settings"]["environment"]) == ("python3-1", "gpu")
    client.algo("demo/OnGpu").compile()
    version = client.algo("demo/OnGpu").publish(settings={"algorithm_callability": "private"},
                                                version_info={"version_type": "minor"})
    assert client.algo("demo/OnGpu/0.1.0").pipe("Neo").result == "hello Neo"
    assert version["settings"]["algorithm_environment"] == gpu["id"]
    bad = {"details": {"label": "x"}, "settings": {**SETTINGS, "algorithm_environment": "no-such-environment"}}
    with pytest.raises(Exception, match="400"):        # the client raises on any 4xx, without the body
        client.algo("demo/Nowhere").create(**bad)
    r = requests.post(f"{live_server.url}/v1/algorithms/demo", headers=AUTH, json={"name": "Nowhere", **bad}, timeout=30)
    assert r.status_code == 400 and "'no-such-environment'" in r.json()["error"]["message"], r.text


def test_secrets_through_the_python_client(client):
    algo = client.algo("demo/Hello")
    made = algo.set_secret("db", "DB_PASSWORD", "hunter2", description="the database")
    assert made["secret_key"] == "DB_PASSWORD" and made["created"] and made["modified"] and "hunter2" not in json.dumps(made)
    listed = algo.get_secrets()
    assert [s["secret_key"] for s in listed["secrets"]] == ["DB_PASSWORD"] == [s["secret_key"] for s in listed["results"]]
    assert all(s["created"] and s["modified"] for s in listed["secrets"]) and "hunter2" not in json.dumps(listed)
    provider = client.get_secret_providers()[0]
    assert provider["moduleName"] and provider["factoryClassName"] and provider["isDefault"] is True


def test_generated_client_calls_algorithms_and_reads_providers(live_server):
    """1.5.5, whose AlgorithmInvocationResult requires `async` (1.5.1 has no secrets API)."""
    done = run_generated(install_generated_client("1.5.5"), HERE / "generated_client_platform.py", live_server.url,
                         ADMIN, DEMO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "platform calls ok" in done.stdout


def test_latest_private_is_the_latest_private_version(client, live_server, tmp_path):
    """Seed 001: "Resolves to the latest version you have published privately"."""
    algo = client.algo("demo/Versions")
    algo.create(details={"label": "Versions"}, settings={**SETTINGS, "language": "python3-1", "environment": "cpu"})
    for version, text, callability in (("0.1.0", "private one", "private"), ("0.2.0", "public two", "public")):
        algo.compile()
        algo.publish(settings={"algorithm_callability": callability}, version_info={"version_type": "minor"})
        source = open_to_workers(tmp_path) / f"{callability}.py"       # bound over HTTP
        source.write_text(f"def apply(input):\n    return {text!r}\n")
        r = requests.put(f"{live_server.url}/_mock/algorithms/demo/Versions/versions/{version}/binding",
                         json={"target": f"{source}:apply"}, timeout=30)
        assert r.status_code == 200, r.text
    assert client.algo("demo/Versions/latestPrivate").pipe("x").result == "private one"
    assert client.algo("demo/Versions").pipe("x").result == "public two"


def _multipart_algorithm(live_server, tmp_path):
    source = open_to_workers(tmp_path) / "parts.py"                     # bound over HTTP
    source.write_text(ECHO_PARTS)
    r = requests.post(f"{live_server.url}/v1/algorithms/demo", headers=AUTH, timeout=30, json={
        "name": "Parts", "details": {"label": "Parts"}, "settings": {**SETTINGS, "language": "python3-1",
                                                                     "environment": "cpu"}})
    assert r.status_code == 200, r.text
    _bind(live_server.url, "Parts", source)
    sha = requests.post(f"{live_server.url}/v1/algorithms/demo/Parts/compile", headers=AUTH, timeout=60).json()
    return f"{live_server.url}/v1/algo/demo/Parts/{sha['version_info']['git_hash']}"


def test_multipart_parts_reach_apply_decoded_by_name(live_server, tmp_path):
    url = _multipart_algorithm(live_server, tmp_path)
    r = requests.post(url, headers=AUTH, timeout=60, files={
        "a": (None, '{"x": 1}', "application/json"),
        "b": (None, "hi", "text/plain; charset=utf-8"),
        "c": ("c.bin", b"\x00\x01\xff", "application/octet-stream")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == {"a": ["dict", {"x": 1}], "b": ["str", "hi"], "c": ["bytes", "AAH/"]}, body
    assert body["metadata"]["content_type"] == "json" and body["async"] is False


@pytest.mark.parametrize("files,data,why", [
    ({"a": (None, "1", "application/json")}, {"plain": "no type"}, "no Content-Type"),
    ({"img": ("x.png", b"\x89PNG", "image/png")}, None, "unsupported Content-Type 'image/png'"),
    ({"a": (None, "{not json", "application/json")}, None, "'a'"),
])
def test_multipart_parts_without_a_valid_content_type_are_refused(live_server, tmp_path, files, data, why):
    url = _multipart_algorithm(live_server, tmp_path)
    r = requests.post(url, headers=AUTH, timeout=60, files=files, data=data)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == 2015 and why in error["message"], error


def test_multipart_bounds(live_server, tmp_path):
    url = _multipart_algorithm(live_server, tmp_path)
    many = {f"p{i}": (None, "x", "text/plain") for i in range(101)}
    r = requests.post(url, headers=AUTH, timeout=60, files=many)
    assert r.status_code == 400 and "more than 100 parts" in r.json()["error"]["message"], r.text
    cut = b'--B\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: text/plain\r\n\r\nhi'
    r = requests.post(url, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=B"}, data=cut, timeout=60)
    assert r.status_code == 400 and "closing boundary" in r.json()["error"]["message"], r.text
    r = requests.post(url, headers={**AUTH, "Content-Type": "multipart/form-data"}, data=b"x", timeout=60)
    assert r.status_code == 400 and "boundary" in r.json()["error"]["message"], r.text


def test_a_cold_call_is_told_from_a_warm_one(live_server, client):
    """X-Mock-Cold-Start (mock-only header): the first call of a version starts a worker."""
    first = requests.post(f"{live_server.url}/v1/algo/demo/Hello/0.1.1", headers=AUTH, json="Neo", timeout=60)
    second = requests.post(f"{live_server.url}/v1/algo/demo/Hello/0.1.1", headers=AUTH, json="Neo", timeout=60)
    assert (first.headers["X-Mock-Cold-Start"], second.headers["X-Mock-Cold-Start"]) == ("true", "false")
    assert set(first.json()) == set(second.json()) == {"async", "result", "metadata", "request_id"}

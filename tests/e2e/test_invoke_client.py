"""The official Python client's algo(...).pipe(...) against a live server."""
import pytest
import requests
from Algorithmia.algorithm import OutputType
from Algorithmia.errors import AlgorithmException

from support.algorithms import SETTINGS, algo_file


def deploy(client, url, name, binding=None, publish=True, settings=None):
    algo = client.algo(f"demo/{name}")
    algo.create(details={"label": name}, settings={**SETTINGS, **(settings or {})})
    if binding:
        r = requests.put(f"{url}/_mock/algorithms/demo/{name}/binding", json={"target": algo_file(binding)})
        assert r.status_code == 200, r.text
    algo.compile()
    if publish:
        algo.publish(settings={"algorithm_callability": "public"},
                     version_info={"version_type": "minor", "release_notes": "first"})
    return algo


def test_pipe_text_json_bytes(client, live_server):
    deploy(client, live_server.url, "Greeter", "greeter")
    res = client.algo("demo/Greeter").pipe("Neo")
    assert res.result == "Hello Neo" and res.metadata.content_type == "text"
    deploy(client, live_server.url, "Jt", "json_transform")
    assert client.algo("demo/Jt").pipe({"a": 1}).metadata.content_type == "json"
    deploy(client, live_server.url, "Thumb", "thumbnail")
    out = client.algo("demo/Thumb").pipe(bytearray(b"\x00\x01\x02\x03" * 10))
    assert out.metadata.content_type == "binary" and out.result.startswith(b"THUMB")


def test_options_raw_void_stdout_timeout(client, live_server):
    deploy(client, live_server.url, "Greeter", "greeter")
    algo = client.algo("demo/Greeter/0.1.0")
    assert algo.set_options(output=OutputType.raw).pipe("Neo") == "Hello Neo"
    ack = client.algo("demo/Greeter").set_options(output=OutputType.void).pipe("Neo")
    assert ack.request_id and ack.async_protocol
    res = client.algo("demo/Greeter").set_options(stdout=True, timeout=10).pipe("Neo")
    assert res.result == "Hello Neo" and res.metadata.stdout == ""      # the owner sees stdout: it printed nothing


def test_algorithm_error_raises_with_stacktrace_for_owner(client, live_server):
    deploy(client, live_server.url, "Fails", "failing")
    with pytest.raises(AlgorithmException) as err:
        client.algo("demo/Fails").pipe("x")
    assert "always fails" in err.value.message and err.value.stack_trace


def test_unpublished_hash_call(client, live_server):
    algo = deploy(client, live_server.url, "Draft", publish=False)
    sha = algo.versions()["results"][0]["version_info"]["git_hash"] if algo.versions()["results"] else None
    builds = algo.get_builds()["results"]
    sha = builds[0]["commit_sha"]
    assert client.algo(f"demo/Draft/{sha}").pipe("there").result == "hello there"


def test_pipeline_calls_another_algorithm(client, live_server):
    deploy(client, live_server.url, "Greeter", "greeter")
    deploy(client, live_server.url, "Pipeline", "pipeline")
    res = client.algo("demo/Pipeline").pipe("Neo")
    assert "Hello Neo" in str(res.result)


def test_pipeline_disabled_cannot_call_others(client, live_server):
    deploy(client, live_server.url, "Greeter", "greeter")
    deploy(client, live_server.url, "Lonely", "pipeline", settings={"pipeline_enabled": False})
    with pytest.raises(AlgorithmException):
        client.algo("demo/Lonely").pipe("Neo")

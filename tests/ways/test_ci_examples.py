"""The CI examples of docs/ways-in.md: the GitHub Actions jobs agree with the image (parsed as
YAML against the Dockerfile and the settings), and the docker-compose file runs, healthcheck and
all. CI's Docker step (.ci/docker_image.py) runs the compose test against the image it builds
(ALGORITHMIA_MOCK_IMAGE; ALGORITHMIA_MOCK_HOST_NETWORK=1 on its engine without a bridge);
without that variable it skips, saying so."""
from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess

import pytest
import yaml

from mockserver.settings import OPTIONS, PLUGIN_OPTIONS
from support.api import DEMO
from support.docs import ROOT, blocks, the_block
from support.processes import free_port

GUIDE = "docs/ways-in.md"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IMAGE = os.environ.get("ALGORITHMIA_MOCK_IMAGE")
HOST_NETWORK = os.environ.get("ALGORITHMIA_MOCK_HOST_NETWORK") == "1"
# Every variable the server reads (the one Settings table), and the pytest plugin's own.
PLUGIN_VARIABLES = {name for option in PLUGIN_OPTIONS for name in option.env_names}
KNOWN_VARIABLES = {name for option in OPTIONS for name in option.env_names} | PLUGIN_VARIABLES
HEALTH_TIMING = {"--health-interval", "--health-timeout", "--health-retries", "--health-start-period"}


def actions_jobs() -> list[dict]:
    found = [yaml.safe_load(b) for b in blocks((ROOT / GUIDE).read_text(), "yaml") if b.startswith("jobs:")]
    assert len(found) == 2, "the guide has two GitHub Actions jobs (one mock; sandboxes for shards)"
    return [doc["jobs"]["test"] for doc in found]


def compose_file() -> dict:
    return yaml.safe_load(the_block(GUIDE, "yaml", "depends_on:"))


def dockerfile_port() -> str:
    (exposed,) = re.findall(r"^EXPOSE\s+(\d+)", DOCKERFILE, re.M)
    assert re.search(rf"MOCKSERVER_PORT={exposed}\b", DOCKERFILE)
    return exposed


def variables_in(value) -> set[str]:
    return set(re.findall(r"\bMOCKSERVER_[A-Z_]*[A-Z]", json.dumps(value)))


def test_the_plugin_variables_are_found():
    assert PLUGIN_VARIABLES >= {"MOCKSERVER_URL"}


@pytest.mark.parametrize("job", range(2))
def test_actions_jobs_use_the_images_healthcheck_port_and_real_variables(job):
    spec = actions_jobs()[job]
    (service,) = spec["services"].values()
    assert service["image"].startswith("algorithmia-mock")
    # the runner waits for the image's HEALTHCHECK; options may only retime it, never replace it
    flags = [word.split("=")[0] for word in shlex.split(service.get("options", "")) if word.startswith("--")]
    assert set(flags) <= HEALTH_TIMING, f"options other than the HEALTHCHECK's timing: {set(flags) - HEALTH_TIMING}"
    assert "HEALTHCHECK" in DOCKERFILE and "/_mock/health" in DOCKERFILE.split("HEALTHCHECK", 1)[1]
    # the container port is the image's; the job calls the mapped host port
    (mapping,) = service["ports"]
    host_port, container_port = mapping.split(":")
    assert container_port == dockerfile_port()
    urls = re.findall(r"https?://localhost:(\d+)", json.dumps(spec))
    assert urls and set(urls) == {host_port}
    unknown = variables_in(spec) - KNOWN_VARIABLES
    assert not unknown, f"variables the server and the plugin do not read: {unknown}"
    assert all(isinstance(v, str) for v in service.get("env", {}).values()), "Actions env values are strings"


def test_the_guide_and_readme_name_only_real_variables():
    for doc in (GUIDE, "README.md"):
        unknown = variables_in((ROOT / doc).read_text()) - KNOWN_VARIABLES
        assert not unknown, f"{doc} names variables the server and the plugin do not read: {unknown}"


def test_the_compose_file_waits_for_the_images_healthcheck_and_uses_real_variables():
    services = compose_file()["services"]
    mock, tests = services["algorithmia"], services["tests"]
    assert "healthcheck" not in mock, "the image's HEALTHCHECK is the one to use"
    assert tests["depends_on"] == {"algorithmia": {"condition": "service_healthy"}}
    assert mock["ports"][0].split(":")[1] == dockerfile_port()
    assert not variables_in(services) - KNOWN_VARIABLES
    assert tests["environment"]["ALGORITHMIA_API_KEY"] == DEMO
    assert "/fixtures/my.yaml" in mock["environment"]["MOCKSERVER_EXTRA_FIXTURES"]   # the sandbox stays: demo's key


# ---------------------------------------------------------------- the compose file, run

CHECK = """\
import json, os, urllib.error, urllib.request
api, key, control = os.environ["ALGORITHMIA_API"], os.environ["ALGORITHMIA_API_KEY"], os.environ["MOCK_CONTROL_KEY"]
def call(method, path, body=None, **headers):
    request = urllib.request.Request(api + path, method=method, headers={"Content-Type": "application/json", **headers},
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")
status, body = call("POST", "/v1/algo/demo/Hello", "Neo", Authorization="Simple " + key)
assert status == 200 and body["result"] == "Hello Neo", (status, body)
status, body = call("GET", "/v1/users/ci_user/algorithms", Authorization="Simple " + FIXTURE_KEY)
assert status == 200 and body["results"] == [], (status, body)
status, body = call("POST", "/_mock/reset", {})
assert status == 401, (status, body)
status, body = call("POST", "/_mock/reset", {}, **{"X-Mock-Control-Key": control})
assert status == 200, (status, body)
print("compose tests service: all checks passed")
"""


def compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 timeout=30).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def for_this_engine(compose: dict, port: int) -> dict:
    """The guide's file, changed only where this engine needs it: the built image, never pulled
    (no registry), a stand-in tests command (no package index); on an engine without a bridge,
    host networking, a free port, and the service name mapped to the loopback."""
    compose = copy.deepcopy(compose)
    mock, tests = compose["services"]["algorithmia"], compose["services"]["tests"]
    assert mock.pop("build") == "." and tests.pop("image") and tests.pop("command")
    for service in (mock, tests):
        service.update(image=IMAGE, pull_policy="never")
    tests["command"] = ["python", "/src/check_mock.py"]
    if HOST_NETWORK:
        mock.pop("ports")
        mock["environment"].update(MOCKSERVER_HOST="127.0.0.1", MOCKSERVER_PORT=str(port))
        tests["environment"]["ALGORITHMIA_API"] = f"http://algorithmia:{port}"
        tests["extra_hosts"] = ["algorithmia:127.0.0.1"]
        for service in (mock, tests):
            service["network_mode"] = "host"
    return compose


@pytest.mark.skipif(not IMAGE, reason="ALGORITHMIA_MOCK_IMAGE is not set: .ci/docker_image.py runs the compose "
                                      "file against the image it builds")
def test_the_compose_file_runs_healthcheck_and_all(tmp_path):
    command = compose_command()
    assert command, "neither `docker compose` nor docker-compose is installed (.ci/docker_image.py installs Debian's)"
    guide_fixture = the_block(GUIDE, "yaml", "# my.yaml")
    fixture_key = re.search(r"key: (\w+)", guide_fixture).group(1)
    tmp_path.chmod(0o755)                                       # mounted as /src for the image's user
    (tmp_path / "my.yaml").write_text(guide_fixture)
    (tmp_path / "check_mock.py").write_text(CHECK.replace("FIXTURE_KEY", repr(fixture_key)))
    for name in ("my.yaml", "check_mock.py"):
        (tmp_path / name).chmod(0o644)
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(for_this_engine(compose_file(), free_port())))
    project = ["-p", f"amock-compose-{os.getpid()}"]
    env = {**os.environ, "MOCK_CONTROL_KEY": secrets.token_urlsafe(24)}

    def compose(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *project, *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=timeout, **kw)

    unset = {k: v for k, v in env.items() if k != "MOCK_CONTROL_KEY"}
    refused = compose("config", env=unset, timeout=60)
    assert refused.returncode != 0 and "set a control key" in refused.stderr, refused.stdout + refused.stderr
    try:
        ran = compose("up", "--no-build", "--abort-on-container-exit", "--exit-code-from", "tests", env=env)
        output = ran.stdout + ran.stderr
        assert ran.returncode == 0, output[-4000:]
        assert "compose tests service: all checks passed" in output, output[-4000:]
    finally:
        compose("down", "--volumes", "--remove-orphans", "--timeout", "5", env=env, timeout=120)

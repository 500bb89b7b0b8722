"""mockserver.testcontainer against the real image: CI's Docker step (.ci/docker_image.py) runs
this file after it builds the image, naming it in ALGORITHMIA_MOCK_IMAGE (and asking for host
networking, its engine having no bridge). Without that variable the container tests skip, saying
so. The configuration tests at the top need an engine but no image (the library's DockerContainer
connects to the engine when it is made): without one they skip, saying so."""
import os

import Algorithmia
import pytest
import requests

from support.api import ADMIN, DEMO
from support.docs import the_block

testcontainer = pytest.importorskip("mockserver.testcontainer",
                                    reason="the testcontainers extra is not installed (pip install -e '.[test]')")
AlgorithmiaMockContainer = testcontainer.AlgorithmiaMockContainer
docker = pytest.importorskip("docker")                  # the Docker SDK, a dependency of testcontainers

IMAGE = os.environ.get("ALGORITHMIA_MOCK_IMAGE")
HOST_NETWORK = os.environ.get("ALGORITHMIA_MOCK_HOST_NETWORK") == "1"


def engine_answers() -> bool:
    try:
        docker.from_env(timeout=10).ping()
    except docker.errors.DockerException:
        return False
    return True


needs_engine = pytest.mark.skipif(not engine_answers(), reason="no Docker engine answers here (a DockerContainer "
                                  "connects to it when made); .ci/docker_image.py runs these with one")
needs_image = pytest.mark.skipif(not IMAGE, reason="ALGORITHMIA_MOCK_IMAGE is not set: .ci/docker_image.py runs "
                                                   "these tests against the image it builds")


# ---------------------------------------------------------------- configuration (an engine, no image)

def test_the_bundled_keys_are_the_fixtures_keys():
    assert (testcontainer.DEMO_KEY, testcontainer.ADMIN_KEY) == (DEMO, ADMIN)


@needs_engine
def test_a_control_key_always_goes_in_and_bridge_mode_maps_the_port():
    mock = AlgorithmiaMockContainer("any-image")
    assert len(mock.control_key) >= 24 and mock.env["MOCKSERVER_CONTROL_KEY"] == mock.control_key
    assert "MOCKSERVER_ADMIN_KEY" not in mock.env and mock.admin_key == ADMIN
    assert mock.ports == {"8080": None} and not mock.host_network
    given = AlgorithmiaMockContainer("any-image", control_key="k" * 24, admin_key="simMyAdmin")
    assert given.env["MOCKSERVER_CONTROL_KEY"] == "k" * 24
    assert given.env["MOCKSERVER_ADMIN_KEY"] == given.admin_key == "simMyAdmin"


@needs_engine
def test_host_network_maps_no_port_and_uses_the_loopback():
    mock = AlgorithmiaMockContainer("any-image", host_network=True)
    assert mock.ports == {} and mock.get_container_host_ip() == "127.0.0.1"
    assert mock.get_exposed_port(41234) == 41234


@needs_engine
def test_fixtures_are_mounted_read_only_and_named_in_the_right_variable(tmp_path):
    one, two, own = (tmp_path / "one.yaml", tmp_path / "two.yaml", tmp_path / "own.yaml")
    mock = AlgorithmiaMockContainer("any-image").with_fixtures(one, two).with_fixtures(own, replace=True)
    mounted = {host: (m["bind"], m["mode"]) for host, m in mock.volumes.items()}
    assert mounted == {str(one): ("/fixtures/0-one.yaml", "ro"), str(two): ("/fixtures/1-two.yaml", "ro"),
                       str(own): ("/fixtures/2-own.yaml", "ro")}
    assert mock.env["MOCKSERVER_EXTRA_FIXTURES"] == "/fixtures/0-one.yaml:/fixtures/1-two.yaml"
    assert mock.env["MOCKSERVER_FIXTURES"] == "/fixtures/2-own.yaml"


# ---------------------------------------------------------------- against the image

def container(**kwargs):
    return AlgorithmiaMockContainer(IMAGE, host_network=HOST_NETWORK, **kwargs)


@needs_image
@pytest.mark.parametrize("doc", ["README.md", "docs/ways-in.md"])
def test_the_docs_example_runs(doc):
    code = the_block(doc, "python", "AlgorithmiaMockContainer(")
    assert code.count('AlgorithmiaMockContainer("algorithmia-mock:latest")') == 1
    code = code.replace('AlgorithmiaMockContainer("algorithmia-mock:latest")',
                        f'AlgorithmiaMockContainer({IMAGE!r}, host_network={HOST_NETWORK})')
    namespace: dict = {}
    exec(compile(code, f"{doc} example", "exec"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()


@needs_image
def test_keys_client_reset_sandboxes_and_removal():
    with container(admin_key="simTcAdminKey00000000000") as mock:
        url = mock.url
        assert requests.get(f"{url}/_mock/health", timeout=10).status_code == 200
        assert mock.client().username() == "demo"
        for admin in (testcontainer.ADMIN_KEY, mock.admin_key):
            who = requests.get(f"{url}/v1/users/alice", headers={"Authorization": f"Simple {admin}"}, timeout=10)
            assert who.status_code == 200 and who.json()["username"] == "alice"
        # the control key is required (it was passed in) and known to the container object
        bare = requests.post(f"{url}/_mock/reset", json={}, timeout=10)
        assert bare.status_code == 401 and bare.json()["error"]["message"]
        mock.client().dir("data://.my/tc_inbox").create()
        assert mock.client().dir("data://.my/tc_inbox").exists()
        mock.reset()
        assert not mock.client().dir("data://.my/tc_inbox").exists()
        box = mock.create_sandbox(name="tc", seed=7)
        try:
            assert box.url.startswith(f"{url}/sandboxes/")
            boxed = Algorithmia.client(mock.demo_key, box.url)
            boxed.dir("data://.my/boxed").create()
            assert not mock.client().dir("data://.my/boxed").exists()     # isolated from the root
        finally:
            box.stop()
        assert requests.get(f"{url}/_mock/sandboxes/{box.id}", headers=mock.control_headers,
                            timeout=10).status_code == 404
        wrapped = mock.get_wrapped_container()
    with pytest.raises(Exception, match="404|No such container"):
        wrapped.reload()                                # the with block removed it


@needs_image
def test_fixtures_on_top_of_the_sandbox(tmp_path):
    fixture = tmp_path / "tc.yaml"
    fixture.write_text("users:\n  - username: tc_user\n    email: tc@example.com\n    fullname: TC\n"
                       "    keys:\n      - key: simTcUserKey0000000000000\n")
    fixture.chmod(0o644)                                # the image's user reads it
    with container().with_fixtures(fixture) as mock:
        assert mock.client("simTcUserKey0000000000000").username() == "tc_user"
        assert mock.client().username() == "demo"


@needs_image
def test_a_container_that_stops_fails_at_once_with_its_logs(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - username: broken\n    email: 7\n")
    bad.chmod(0o644)
    # ContainerStartException comes from seeing the container stop; the timeout is a TimeoutError
    with pytest.raises(testcontainer.ContainerStartException, match=r"bad fixture file /fixtures/0-bad\.yaml"):
        with container(startup_timeout=600).with_fixtures(bad):
            pass

"""An SDK author's test suite, as it looks with algorithmia-mock installed.

No conftest needed: ``pip install algorithmia-mock`` registers the pytest plugin,
which provides the ``mockserver`` fixture (a live mock, reset before each test).
Run:  pytest examples/
 or, against one running mock with a sandbox per xdist worker:
      pytest -n 2 examples/ --mockserver-url http://127.0.0.1:8080
"""
import Algorithmia
import pytest
import requests


def test_client_talks_to_the_mock(mockserver):
    client = mockserver.client()                      # Algorithmia.client(api_key, url)
    scms = client.scms()
    assert any(scm["id"] == "internal" for scm in scms["results"])


def test_admin_creates_a_user_and_state_is_reset_between_tests(mockserver):
    admin = Algorithmia.client(mockserver.admin_key, mockserver.url)
    user = admin.create_user({"username": "newbie", "email": "newbie@example.com", "fullname": "New Bie"})
    assert user["username"] == "newbie"
    # the journal holds exactly what this test sent
    assert [(e["method"], e["path"], e["status"]) for e in mockserver.journal()] == [("POST", "/v1/users", 200)]


def test_the_user_from_the_previous_test_is_gone(mockserver):
    response = requests.get(f"{mockserver.url}/v1/users/newbie",
                            headers={"Authorization": f"Simple {mockserver.admin_key}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 3000


def test_errors_come_back_as_sdk_exceptions(mockserver):
    mockserver.fault("/v1/scms", method="GET", status=503, code=5001, message="maintenance", times=1)
    with pytest.raises(Exception) as raised:
        mockserver.client().scms()
    assert "maintenance" in str(raised.value) or "503" in str(raised.value)
    assert mockserver.client().scms()["results"]          # times=1: the next call succeeds


def test_dropped_connection_surfaces_as_a_requests_error(mockserver):
    # the answer breaks off mid-way: requests raises ChunkedEncodingError ("Connection broken");
    # a connection lost before any answer raises ConnectionError; catch both
    mockserver.fault("/v1/organizations/*", drop=True, times=1)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        mockserver.client().get_org("acme")


def test_latency_injection(mockserver):
    import time
    mockserver.fault("/v1/scms", delay_ms=200, times=1)
    started = time.perf_counter()
    mockserver.client().scms()
    assert time.perf_counter() - started >= 0.2


SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl",
            "network_access": "full", "pipeline_enabled": True, "environment": "cpu"}


def test_bind_a_python_callable_to_an_algorithm(mockserver):
    if mockserver.remote:          # --mockserver-url: the server cannot run this process's lambdas
        pytest.skip("binding a Python callable needs the in-process server")
    client = mockserver.client()
    algo = client.algo("demo/Reverse")
    algo.create(details={"label": "Reverse"}, settings=SETTINGS)
    mockserver.bind("demo/Reverse", lambda text: text[::-1])
    git_hash = algo.compile()["version_info"]["git_hash"]
    # not published yet: call the build by its git hash, as on the real service
    assert client.algo(f"demo/Reverse/{git_hash}").pipe("stressed").result == "desserts"


def test_compile_is_retried_once_by_the_client(mockserver):
    client = mockserver.client()
    algo = client.algo("demo/Retry")
    algo.create(details={"label": "Retry"}, settings=SETTINGS)
    mockserver.fault("/v1/algorithms/demo/Retry/compile", method="POST", status=502, times=1)
    algo.compile()                                     # first attempt fails, the client retries
    compiles = [e for e in mockserver.journal() if e["path"].endswith("/Retry/compile")]
    assert [e["status"] for e in compiles] == [502, 200]

"""Issue 18: where the official clients and the seeds meet the mock's edges (algorithmia 2.0.5, live server)."""
import pytest
import requests

from conftest import DEMO

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


@pytest.fixture()
def client(live_server):
    import Algorithmia
    return Algorithmia.client(DEMO, live_server.url)


def test_missing_algorithm_body_is_the_services_string(client, live_server):
    from Algorithmia.errors import AlgorithmException
    algo = client.algo("demo/Vanishing")
    assert not algo.exists()
    algo.create(details={"label": "Vanishing"}, settings=SETTINGS)
    assert algo.exists()
    client.deleteHelper("/v1/algorithms/demo/Vanishing")
    r = requests.get(f"{live_server.url}/v1/algorithms/demo/Vanishing", headers={"Authorization": DEMO})
    assert (r.status_code, r.content) == (404, b'{"error":"No such algorithm"}')
    with pytest.raises(AlgorithmException) as raised:
        algo.get_algorithm_id()
    assert raised.value.message == "No such algorithm"
    assert not algo.exists()


def test_fractional_timeout(client):
    algo = client.algo("demo/Hello")
    assert algo.set_options(timeout=2.5).pipe("Neo").result == "Hello Neo"

"""Two sandboxes of one live server driven in parallel by the official Python client."""
import threading

import Algorithmia
import Algorithmia.errors
import pytest
import requests

from support.algorithms import SETTINGS
from support.api import ADMIN, DEMO
from mockserver.settings import Settings
from mockserver.serving.live import LiveServer

JSON = {"Content-Type": "application/json"}
ROUNDS = 15


@pytest.fixture(scope="module")
def live():
    server = LiveServer(Settings(profile_scale=0.0)).start()
    yield server
    server.app.extensions["mockserver.sandboxes"].close_all()
    server.stop()


def new_sandbox(url):
    response = requests.post(f"{url}/_mock/sandboxes", headers=JSON, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["base_url"]


def drive(base, tag, seen, errors):
    """Same user, algorithm and data names in every sandbox; only ``tag`` differs."""
    try:
        admin, demo = Algorithmia.client(ADMIN, base), Algorithmia.client(DEMO, base)
        admin.create_user({"username": "twin", "email": "twin@example.com", "fullname": f"Twin {tag}"})
        algo = demo.algo("demo/Twin")
        algo.create(details={"label": f"Twin {tag}"}, settings=SETTINGS)
        demo.dir("data://.my/twins").create()
        for i in range(ROUNDS):
            demo.file(f"data://.my/twins/n{i}").put(f"{tag}-{i}")
            seen.append(("user", admin.getJsonHelper("/v1/users/twin")["fullname"]))
            seen.append(("algo", demo.getJsonHelper("/v1/algorithms/demo/Twin")["details"]["label"]))
            seen.append(("data", demo.file(f"data://.my/twins/n{i}").getString()))
            seen.append(("files", sorted(f.getName() for f in demo.dir("data://.my/twins").files())))
        # worker processes are per sandbox: each counts its own calls from 1
        seen.append(("counter", [demo.algo("demo/Counter/0.1.0").pipe(1).result["count"] for _ in range(3)]))
    except Exception as exc:  # reported by the test thread
        errors.append(f"{tag}: {type(exc).__name__}: {exc}")


def test_two_sandboxes_in_parallel_never_see_each_others_objects(live):
    bases = {"left": new_sandbox(live.url), "right": new_sandbox(live.url)}
    seen = {tag: [] for tag in bases}
    errors = []
    threads = [threading.Thread(target=drive, args=(base, tag, seen[tag], errors)) for tag, base in bases.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for tag in bases:
        kinds = {kind for kind, _ in seen[tag]}
        assert kinds == {"user", "algo", "data", "files", "counter"}
        for kind, value in seen[tag]:
            if kind in ("user", "algo"):
                assert value == f"Twin {tag}"
            elif kind == "data":
                assert value.startswith(f"{tag}-")
            elif kind == "files":
                assert value == sorted(value) and len(value) <= ROUNDS
            else:
                assert value == [1, 2, 3]
        assert seen[tag][-2] == ("files", sorted(f"n{i}" for i in range(ROUNDS)))
    # the default sandbox at the root saw none of it
    root = Algorithmia.client(ADMIN, live.url)
    with pytest.raises(Algorithmia.errors.AlgorithmException, match="not found: twin"):
        root.getJsonHelper("/v1/users/twin")
    assert not Algorithmia.client(DEMO, live.url).algo("demo/Twin").exists()


def test_reset_in_one_sandbox_leaves_the_other_intact(live):
    one, two = new_sandbox(live.url), new_sandbox(live.url)
    for base in (one, two):
        Algorithmia.client(DEMO, base).algo("demo/Kept").create(details={"label": "Kept"}, settings=SETTINGS)
    assert requests.post(f"{one}/_mock/reset", headers=JSON, timeout=10).json() == {"status": "reset"}
    assert not Algorithmia.client(DEMO, one).algo("demo/Kept").exists()
    assert Algorithmia.client(DEMO, two).getJsonHelper("/v1/algorithms/demo/Kept")["details"]["label"] == "Kept"


def test_an_expired_sandbox_answers_an_error_object(live):
    base = new_sandbox(live.url)
    sandbox_id = base.rsplit("/", 1)[1]
    registry = live.app.extensions["mockserver.sandboxes"]
    registry.get(sandbox_id).last_used -= registry.settings.sandbox_ttl + 1
    response = requests.get(f"{base}/v1/users/demo", headers={"Authorization": f"Simple {DEMO}"}, timeout=10)
    assert response.status_code == 404
    assert "expired" in response.json()["error"]["message"]

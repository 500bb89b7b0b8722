"""Algorithms written for the ADK (algorithmia-adk 1.2.4), pushed with git, their requirements
installed from a wheel folder made with `pip download`, answer what the ADK's own local run
answers (issue 27 item 9): src/Algorithm.py is the entry, load() gets the ADK's ModelData (model
manifest files fetched from the mock's data API, md5-checked), apply() gets what load returned,
and load and apply failures answer as the ADK reports them.

The ADK repository's own examples are not shipped (its code stays out of this project): the
algorithms here are written the way they are. ``ADK_EXAMPLES_DIR`` pointing at that repository's
``examples/`` folder adds its ``hello_world`` and ``loaded_state_hello_world``, pushed unmodified.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mockserver.runtime.traces import SHOWN_SITE_PACKAGES
from mockserver.serving.live import LiveServer
from mockserver.settings import Settings
from support.algorithms import SETTINGS
from support.api import DEMO
from support.clients import ADK_REQUIREMENT, adk_wheelhouse, install_from_wheelhouse
from support.git import git_env, push_folder

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

AUTH = {"Authorization": f"Simple {DEMO}"}
GREETER = '''from Algorithmia import ADK


def apply(input):
    return {"greeting": "hi " + str(input), "letters": len(str(input))}


ADK(apply).init("Algorithmia")
'''
STATEFUL = '''from Algorithmia import ADK


def load(model_data):
    model_data["prefix"] = "loaded once"          # user data, by item assignment
    return model_data


def apply(input, model_data):
    if input == "fail":
        raise ValueError("asked to fail")
    return "{}: {}".format(model_data["prefix"], input)


ADK(apply, load).init("Algorithmia")
'''
WITH_MODEL = '''from Algorithmia import ADK


def load(model_data):
    with open(model_data.get_model("weights")) as fh:
        model_data["weights"] = fh.read()
    return model_data


def apply(input, model_data):
    return "{} with {}".format(input, model_data["weights"])


ADK(apply, load).init("Algorithmia")
'''
WEIGHTS = b"weights v1"
EXAMPLES = [name for name in ("hello_world", "loaded_state_hello_world")
            if os.environ.get("ADK_EXAMPLES_DIR") and (Path(os.environ["ADK_EXAMPLES_DIR"]) / name).is_dir()] or [
    pytest.param(None, marks=pytest.mark.skip(reason="ADK_EXAMPLES_DIR does not name the ADK repository's examples/"))]


def _folder(root: Path, name: str, source: str, requirements: str | None = None, manifest: dict | None = None) -> Path:
    folder = root / name
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "__init__.py").write_text("")
    (folder / "src" / "Algorithm.py").write_text(source)
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    if manifest is not None:
        (folder / "model_manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def wheelhouse():
    return adk_wheelhouse()


@pytest.fixture(scope="module")
def adk_site(wheelhouse, tmp_path_factory):
    """The ADK's requirements, installed from the same wheel folder, for its own local runs."""
    site = tmp_path_factory.mktemp("adk-site")
    install_from_wheelhouse(wheelhouse, site)
    return site


@pytest.fixture(scope="module")
def server(wheelhouse):
    with LiveServer(Settings(profile_scale=0.0, wheelhouse=wheelhouse)) as live:
        yield live


@pytest.fixture()
def deploy(server, tmp_path):
    server.mock.reset()
    env = git_env(tmp_path / "home", DEMO)

    def push(name: str, folder: Path) -> tuple[dict, str]:
        r = requests.post(f"{server.url}/v1/algorithms/demo", headers=AUTH, timeout=30,
                          json={"name": name, "details": {"label": name}, "settings": SETTINGS})
        assert r.status_code == 200, r.text
        commit = push_folder(server.url, "demo", name, folder, tmp_path / "home", env)
        builds = requests.get(f"{server.url}/v1/algorithms/demo/{name}/builds", headers=AUTH, timeout=30).json()
        build = next(b for b in builds["results"] if b["commit_sha"] == commit)
        logs = requests.get(f"{server.url}/v1/algorithms/demo/{name}/builds/{build['build_id']}/logs",
                            headers=AUTH, timeout=30).json()["logs"]
        assert build["status"] == "succeeded", logs
        assert "import entrypoint src/Algorithm.py" in logs, logs
        return build, commit
    return push


def _call(server, name, commit, text):
    r = requests.post(f"{server.url}/v1/algo/demo/{name}/{commit}", headers={**AUTH, "Content-Type": "text/plain"},
                      data=text.encode(), timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def _local_run(folder: Path, site: Path) -> subprocess.CompletedProcess:
    """The ADK's own local run: ``python src/Algorithm.py`` (init("Algorithmia") applies it to that payload)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ALGORITHMIA_")}, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "src/Algorithm.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def _assert_same_answer(mock_answer: dict, local: subprocess.CompletedProcess) -> None:
    """The mock answers what the local run printed, or, when the local run failed, the error it died of
    (the ADK 1.2.4 cannot format errors on this Python: its own TypeError follows the algorithm's)."""
    printed = [json.loads(line) for line in local.stdout.splitlines() if line.startswith('{"result"')]
    if printed:
        assert "error" not in mock_answer, mock_answer
        assert mock_answer["result"] == printed[-1]["result"], (mock_answer, local.stdout)
        assert mock_answer["metadata"]["content_type"] == printed[-1]["metadata"]["content_type"]
    else:
        error = mock_answer["error"]
        assert error["error_type"] == "AlgorithmError"
        assert f": {error['message']}\n" in local.stderr, (error, local.stderr[-2000:])


def test_adk_algorithms_answer_what_the_adks_local_run_answers(server, deploy, tmp_path, adk_site):
    folders = {"Greeter": _folder(tmp_path, "greeter", GREETER, ADK_REQUIREMENT + "\n"),
               "Stateful": _folder(tmp_path, "stateful", STATEFUL, ADK_REQUIREMENT + "\n")}
    for name, folder in folders.items():
        _build, commit = deploy(name, folder)
        answer = _call(server, name, commit, "Algorithmia")
        _assert_same_answer(answer, _local_run(folder, adk_site))
        assert answer["async"] is False
    _build, commit = deploy("Stateful2", folders["Stateful"])
    assert _call(server, "Stateful2", commit, "Algorithmia")["result"] == "loaded once: Algorithmia"
    failed = _call(server, "Stateful2", commit, "fail")["error"]
    assert failed["message"] == "asked to fail" and failed["error_type"] == "AlgorithmError"
    trace = failed["stacktrace"]
    assert 'File "/opt/algorithm/src/Algorithm.py", line 11, in apply' in trace, trace
    assert "mockserver" not in trace and "TypeError" not in trace and str(tmp_path) not in trace, trace


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_adk_repositorys_examples_pushed_unmodified(server, deploy, example, adk_site):
    folder = Path(os.environ["ADK_EXAMPLES_DIR"]) / example
    name = "".join(part.title() for part in example.split("_"))
    _build, commit = deploy(name, folder)
    _assert_same_answer(_call(server, name, commit, "Algorithmia"), _local_run(folder, adk_site))


def test_model_manifest_files_come_from_the_data_api_md5_checked(server, deploy, tmp_path):
    r = requests.post(f"{server.url}/v1/data/demo", headers=AUTH, json={"name": "adk_models"}, timeout=30)
    assert r.status_code == 200, r.text                # the default ACL: the owner's algorithms may read it
    r = requests.put(f"{server.url}/v1/data/demo/adk_models/weights.txt", headers=AUTH, data=WEIGHTS, timeout=30)
    assert r.status_code == 200, r.text
    good = {"required_files": [{"name": "weights", "source_uri": "data://demo/adk_models/weights.txt",
                                "md5_checksum": hashlib.md5(WEIGHTS).hexdigest(), "fail_on_tamper": True}],
            "optional_files": []}
    _build, commit = deploy("WithModel", _folder(tmp_path, "model", WITH_MODEL, manifest=good))
    assert _call(server, "WithModel", commit, "input")["result"] == "input with weights v1"
    tampered = {"required_files": [{**good["required_files"][0], "md5_checksum": "0" * 32}], "optional_files": []}
    _build, commit = deploy("Tampered", _folder(tmp_path, "tampered", WITH_MODEL, manifest=tampered))
    for _ in range(2):                                # a failed load answers every call
        error = _call(server, "Tampered", commit, "input")["error"]
        assert error["error_type"] == "LoadingError" and "Model File Mismatch for weights" in error["message"], error
        trace = error["stacktrace"]                 # the ADK's frame at the container's site-packages path
        assert f'File "{SHOWN_SITE_PACKAGES}/adk/modeldata.py"' in trace and "in load" in trace, trace
        assert "mockserver" not in trace and sys.prefix not in trace, trace

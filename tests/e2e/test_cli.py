"""The `algo` command (algorithmia 2.0.5's CLI) against a live mock (issue 18 items 5, 9, 10).

Each test runs the installed `algo` executable as a subprocess with HOME pointing at a folder
holding a profile (`~/.algorithmia/config`) written by `mockserver cli-env`, as README.md's CLI
section tells users to (tests/e2e/test_cli_setup.py runs that section itself). The
CLI exits 0 on most errors, so the tests read what it prints, and check the server's state
over HTTP.
"""
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

from support.api import DEMO
from support.code import open_to_workers

ALGO = Path(sys.executable).with_name("algo")       # the console script installed next to this Python
AUTH = {"Authorization": f"Simple {DEMO}"}


def algo_executable() -> str:
    found = str(ALGO) if ALGO.exists() else shutil.which("algo")
    assert found, "the algo command (algorithmia 2.0.5, the test extra) is not installed"
    return found


class Cli:
    """`algo` with its own HOME; run() answers the finished process."""

    def __init__(self, home: Path, url: str, extra_env: dict | None = None):
        self.home, self.url = home, url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ALGORITHMIA_")}
        self.env.update(HOME=str(home), **(extra_env or {}))

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([algo_executable(), *args], cwd=cwd or self.home, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def out(self, *args: str, cwd: Path | None = None) -> str:
        """stdout of a run that must exit 0."""
        done = self.run(*args, cwd=cwd)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout


@pytest.fixture()
def cli(live_server, tmp_path):
    """The profile `mockserver cli-env` writes (`algo auth` refuses http:// addresses)."""
    home = tmp_path / "home"
    home.mkdir()
    cli = Cli(home, live_server.url)
    done = subprocess.run([sys.executable, "-m", "mockserver", "cli-env", "--key", DEMO, "--url", live_server.url],
                          env=cli.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return cli


def http(cli, method, path, headers=None, **kw):
    return requests.request(method, cli.url + path, headers={**AUTH, **(headers or {})}, timeout=30, **kw)


def test_auth_refuses_the_mocks_address(cli):
    done = subprocess.run([algo_executable(), "auth"], input=f"{cli.url}\n{DEMO}\n\n", env=cli.env,
                          capture_output=True, text=True, timeout=120)
    assert "invalid API address" in done.stdout          # why `mockserver cli-env` writes the profile


def test_data_commands_change_the_servers_data(cli, tmp_path):
    assert cli.out("ls").split() == ["demo/", "acme/"]
    assert cli.out("mkdir", "data://.my/cli").strip() == ""
    assert http(cli, "GET", "/v1/data/demo/cli").json()["files"] == []
    assert ".my/cli/" in cli.out("ls", "data://.my/").split()

    local = tmp_path / "notes.txt"
    local.write_text("hello from the cli ✓\n")
    cli.out("cp", str(local), "data://.my/cli")                           # into the directory
    cli.out("cp", str(local), "data://.my/cli/renamed.txt")               # to a file name
    assert http(cli, "GET", "/v1/data/demo/cli/notes.txt").content == local.read_bytes()
    assert http(cli, "GET", "/v1/data/demo/cli/renamed.txt").content == local.read_bytes()
    assert cli.out("ls", "data://.my/cli/").split() == [".my/cli/notes.txt", ".my/cli/renamed.txt"]
    long = cli.out("ls", "-l", "data://.my/cli/").split("\n")[:-2]          # ls ends with "\n" and print adds one
    assert len(long) == 2 and long[0].split()[2:] == [str(len(local.read_bytes())), ".my/cli/notes.txt"]

    assert cli.out("cat", "data://.my/cli/notes.txt") == "hello from the cli ✓\n\n"   # print adds one
    assert cli.out("cat", "data://.my/cli/nothing.txt").strip() == "file does not exist data://.my/cli/nothing.txt"

    back = tmp_path / "back.txt"
    cli.out("cp", "data://demo/cli/notes.txt", str(back))
    assert back.read_bytes() == local.read_bytes()
    png = tmp_path / "pixel.png"                                         # bytes survive the round trip
    cli.out("cp", "data://demo/example_collection/pixel.png", str(png))
    assert png.read_bytes() == http(cli, "GET", "/v1/data/demo/example_collection/pixel.png").content
    assert png.read_bytes().startswith(b"\x89PNG")

    assert cli.out("rm", "data://.my/cli/renamed.txt").strip() == ""
    assert http(cli, "GET", "/v1/data/demo/cli/renamed.txt").status_code == 404
    refused = cli.out("rmdir", "data://.my/cli")                          # not empty: the API's message
    assert "not empty" in refused
    assert http(cli, "GET", "/v1/data/demo/cli").status_code == 200
    assert cli.out("rmdir", "-f", "data://.my/cli").strip() == ""
    assert http(cli, "GET", "/v1/data/demo/cli").status_code == 404
    assert ".my/cli/" not in cli.out("ls", "data://.my/").split()
    missing = cli.run("ls", "data://nobody/")                            # ls raises instead of printing
    assert missing.returncode == 1 and "DataApiError" in missing.stderr and "nobody" in missing.stderr


def test_run_with_text_json_binary_and_files(cli, tmp_path):
    assert cli.out("run", "demo/Hello", "-t", "Neo") == "Hello Neo\n"
    assert cli.out("run", "demo/Hello", "-d", "Trinity") == "Hello Trinity\n"
    assert cli.out("run", "demo/Hello", "-d", '{"a": 1}') == 'Hello {"a": 1}\n'     # -d sends text/plain
    assert cli.out("run", "demo/Hello", "-j", '{"a": 1}') == 'Hello {"a":1}\n'      # -j: parsed JSON, greeted as JSON
    out = cli.out("run", "demo/JsonTransform", "-j", '{"name": "neo", "n": 2}')
    assert out.strip() == str({"transformed": {"NAME": "NEO", "N": 4}, "keys": ["n", "name"], "count": 2, "sum": 2})
    text_file = tmp_path / "in.txt"
    text_file.write_text("Morpheus")
    assert cli.out("run", "demo/Hello", "-T", str(text_file)) == "Hello Morpheus\n"
    # -J sends the file's text as a JSON *string* (the CLI json.dumps the text): the mock decodes it.
    json_file = tmp_path / "in.json"
    json_file.write_text('{"a": 2}')
    assert cli.out("run", "demo/Hello", "-J", str(json_file)) == 'Hello {"a": 2}\n'

    image = bytes(range(256)) * 3
    binary_file = tmp_path / "in.bin"
    binary_file.write_bytes(image)
    out_file = tmp_path / "out.bin"
    cli.out("run", "acme/Thumbnailer", "-B", str(binary_file), "-o", str(out_file))
    direct = http(cli, "POST", "/v1/algo/acme/Thumbnailer", data=image,
                  headers={"Content-Type": "application/octet-stream"}).json()
    assert direct["metadata"]["content_type"] == "binary"
    assert out_file.read_bytes() == base64.b64decode(direct["result"])
    assert out_file.read_bytes().startswith(b"THUMB\x00") and len(out_file.read_bytes()) == 6 + 4 + 192
    printed = cli.out("run", "acme/Thumbnailer", "-B", str(binary_file))
    assert printed.strip() == repr(out_file.read_bytes())                # bytes are printed as a repr


def test_run_timeout_option(cli):
    assert json.loads(cli.out("run", "demo/SlowTask", "-j", "0.05", "--timeout", "5").replace("'", '"')) \
        == {"slept": pytest.approx(0.05, abs=0.5), "requested": 0.05}
    done = cli.run("run", "demo/SlowTask", "-j", "3", "--timeout", "1")
    assert done.returncode == 1 and "Algorithm timed out after 1 seconds" in done.stderr


def frames_of(stderr: str) -> list[tuple[str, str]]:
    """(file name, function) of each frame in the AlgorithmException the CLI died with."""
    error = stderr[stderr.index("AlgorithmException:"):]
    found = re.findall(r'File \\*"([^"\\]+)\\*", line \d+, in (\w+)', error)   # quotes may be escaped (repr)
    return [(os.path.basename(path), function) for path, function in found]


def test_a_failing_algorithm_shows_its_owner_only_its_own_frames(cli):
    """Issue 18 item 9 through the CLI: the error's stack trace holds the algorithm's frames only."""
    own = [("failing.py", "apply"), ("failing.py", "_validate")]
    done = cli.run("run", "demo/Failing", "-t", "x")              # the CLI's own POST
    assert done.returncode == 1                                   # AlgorithmException, raised by the client
    assert "this algorithm always fails (input was" in done.stderr
    assert frames_of(done.stderr) == own, done.stderr
    piped = cli.run("run", "demo/Failing", "-d", "x")             # the client's algo.pipe
    assert frames_of(piped.stderr) == own, piped.stderr
    for mock_file in ("executor.py", "binding.py", "worker.py"):
        assert mock_file not in done.stderr + piped.stderr


def test_a_chained_error_shows_only_the_algorithms_frames(cli, tmp_path):
    """An algorithm bound at run time (a worker process) raising a chained exception: both
    tracebacks hold its own frames only."""
    chained = open_to_workers(tmp_path) / "chained_error.py"
    chained.write_text("def lookup(key):\n    return {}[key]\n\n\n"
                       "def apply(input):\n    try:\n        return lookup(input)\n"
                       "    except KeyError as exc:\n        raise ValueError('no such key') from exc\n")
    settings = {"language": "python3-1", "source_visibility": "closed", "license": "apl",
                "network_access": "full", "pipeline_enabled": True, "environment": "cpu"}
    made = http(cli, "POST", "/v1/algorithms/demo", json={"name": "Chained", "details": {"label": "Chained"},
                                                           "settings": settings})
    assert made.status_code == 200, made.text
    bound = requests.put(f"{cli.url}/_mock/algorithms/demo/Chained/binding", json={"target": f"{chained}:apply"},
                         timeout=30)
    assert bound.status_code == 200, bound.text
    sha = http(cli, "POST", "/v1/algorithms/demo/Chained/compile").json()["version_info"]["git_hash"]
    done = cli.run("run", f"demo/Chained/{sha}", "-t", "x")
    assert done.returncode == 1 and "KeyError" in done.stderr and "no such key" in done.stderr, done.stderr
    assert "direct cause" in done.stderr
    assert frames_of(done.stderr) == [("chained_error.py", "apply"), ("chained_error.py", "lookup"),
                                      ("chained_error.py", "apply")], done.stderr
    for mock_file in ("executor.py", "binding.py", "worker.py", "importlib"):
        assert mock_file not in done.stderr[done.stderr.index("AlgorithmException:"):]


def test_builds_languages_environment(cli):
    builds = json.loads(cli.out("builds", "demo", "Hello"))
    assert builds == http(cli, "GET", "/v1/algorithms/demo/Hello/builds").json()["results"]
    assert {b["version_info"]["semantic_version"] for b in builds} == {"0.1.0", "0.1.1"}
    # The platform's environment languages and their environments (issue 27 item 1).
    lines = cli.out("languages").splitlines()
    assert lines[0].split() == ["Name", "Description"]
    table = [line.split() for line in lines]
    assert ["python3", "Python", "3.x", "(Environments)"] in table and ["java11", "Java", "OpenJDK", "11.0",
                                                                       "(Environments)"] in table
    assert len(lines) == 1 + len(http(cli, "GET", "/v1/algorithm-environments/edge/languages").json())
    envs = json.loads(cli.out("environment", "python2"))
    assert envs == http(cli, "GET", "/v1/algorithm-environments/edge/languages/python2/environments").json()["environments"]
    assert [(e["display_name"], e["machine_type"]) for e in envs] == [("Python 2.x", "CPU"),
                                                                      ("Python 2.x + GPU support", "GPU")]
    assert {e["language"]["name"] for e in envs} == {"python2"} and all(e["created_at"] for e in envs)
    unknown = json.loads(cli.out("environment", "cobol"))              # printed as the error object
    assert unknown["error"]["code"] == 4001


def test_template_extracts_the_language_template(cli, tmp_path):
    envs = json.loads(cli.out("environment", "python3"))
    dest = tmp_path / "tpl"
    assert cli.out("template", envs[0]["id"], str(dest)).strip() == ""
    got = {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    archive = http(cli, "GET", f"/v1/algorithm-environments/edge/environment-specifications/{envs[0]['id']}/template")
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        expected = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert got == expected and "template.tar.gz" not in got               # the CLI removes the archive
    assert set(got) >= {"src/__ALGO__.py", "src/__init__.py", "requirements.txt", "README.md"}
    assert b"def apply(input)" in got["src/__ALGO__.py"]
    missing = tmp_path / "none"
    done = cli.run("template", "no-such-environment", str(missing))
    assert done.returncode == 0 and done.stdout == "" and list(missing.iterdir()) == []    # the CLI stays silent


def test_freeze_checksums_the_servers_files(cli, tmp_path):
    work = tmp_path / "model"
    work.mkdir()
    assert "Expected to find a model_manifest.json" in cli.out("freeze", cwd=work)
    http(cli, "PUT", "/v1/data/demo/example_collection/model.bin", data=b"weights v1")
    manifest = {"required_files": [{"name": "model", "source_uri": "data://demo/example_collection/model.bin",
                                    "fail_on_tamper": True}], "optional_files": []}
    (work / "model_manifest.json").write_text(json.dumps(manifest))
    cli.out("freeze", cwd=work)
    frozen = json.loads((work / "model_manifest.json.freeze").read_text())
    assert frozen["required_files"][0]["md5_checksum"] == hashlib.md5(b"weights v1").hexdigest()
    http(cli, "PUT", "/v1/data/demo/example_collection/model.bin", data=b"weights v2")
    cli.out("freeze", cwd=work)
    again = json.loads((work / "model_manifest.json.freeze").read_text())
    assert again["required_files"][0]["md5_checksum"] == hashlib.md5(b"weights v2").hexdigest()
    assert again["lock_checksum"] != frozen["lock_checksum"]


def test_environment_variables_instead_of_a_profile(live_server, tmp_path):
    """ALGORITHMIA_API / ALGORITHMIA_API_KEY with an empty profile: enough for everything but
    `run` with -t/-j/-b/-T/-J/-B, which reads the key from the profile only."""
    home = tmp_path / "bare"
    home.mkdir()
    cli = Cli(home, live_server.url, {"ALGORITHMIA_API": live_server.url, "ALGORITHMIA_API_KEY": DEMO})
    assert ".my/example_collection/" in cli.out("ls", "data://.my/").split()
    assert cli.out("run", "demo/Hello", "-d", "Neo") == "Hello Neo\n"
    typed = cli.run("run", "demo/Hello", "-t", "Neo")
    assert typed.returncode == 1 and "Authorization required" in typed.stderr

"""`pip install .` in a fresh venv, as the Dockerfile does it: wheel, command, CMD, HEALTHCHECK, plugin.

Slow-ish (~20 s: a venv and a pip install); needs the package index that CI uses.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support.processes import free_port, stop_and_collect, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _exec_form(instruction: str) -> list[str]:
    m = re.search(rf"^{instruction}\s+(?:--\S+\s+|\\\n\s*)*(?:CMD\s+)?(\[.*\])\s*$", DOCKERFILE, re.M)
    assert m, f"no exec-form {instruction} in the Dockerfile"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("fresh")
    wheels = base / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"cannot build the wheel here (no hatchling?): {r.stderr[-500:]}")
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    py = env_dir / "bin" / "python"
    wheel = next(wheels.glob("*.whl"))
    # Only the wheel (and the test runner): its own dependencies must be enough to serve
    # the sandbox, whose pipeline algorithm imports the Algorithmia client.
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel), "pytest", "requests"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.skip(f"pip cannot install the dependencies here (offline?): {r.stderr[-800:]}")
    return env_dir


def _start(venv, argv, tmp_path, port):
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "MOCKSERVER_HOST": "127.0.0.1", "MOCKSERVER_PORT": str(port)}
    return subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), env


def test_dockerfile_cmd_and_healthcheck_work_from_the_installed_wheel(venv, tmp_path):
    cmd, health = _exec_form("CMD"), _exec_form("HEALTHCHECK")
    assert cmd == ["mockserver"]
    port = free_port()
    proc, env = _start(venv, [str(venv / "bin" / cmd[0]), *cmd[1:]], tmp_path, port)   # cwd: not the repo
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        probe = subprocess.run([str(venv / "bin" / "python"), *health[1:]], env=env, timeout=30)
        assert probe.returncode == 0
        assert requests.get(f"http://127.0.0.1:{port}/v1/openapispec").status_code == 200   # bundled spec
    finally:
        code, took, _out, err = stop_and_collect(proc)
    assert code == 0, err
    # the health check fails when nothing listens
    assert subprocess.run([str(venv / "bin" / "python"), *health[1:]], env=env, timeout=30,
                          capture_output=True).returncode != 0


def test_mockserver_command(venv, tmp_path):
    port = free_port()
    proc, _env = _start(venv, [str(venv / "bin" / "mockserver"), "--port", str(port)], tmp_path, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        code, _took, out, err = stop_and_collect(proc)
    assert code == 0 and "/_mock/" in out


def test_plugin_in_another_project(venv, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "tests")
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1500:]
    assert "failed" not in r.stdout and "skipped" not in r.stdout, r.stdout[-3000:]

#!/usr/bin/env python3
"""CI: build the Docker image from the Dockerfile as shipped, run it, check it.

Standard library only, run as root by `.ci/run` after the test suite:
  1. installs Debian's docker.io, debootstrap and docker-compose when missing;
  2. starts dockerd (vfs storage, no iptables, no bridge) when no engine answers, and stops
     it again at the end;
  3. makes a local base image with debootstrap (image registries may be unreachable), or
     reuses it when the engine already has it;
  4. builds the image with --build-arg PYTHON_IMAGE=<that image> and --network=host;
  5. runs containers on the host network (the engine has no bridge) on a free port, and
     checks: healthy status, a /v1 route with the demo key, an invocation, the non-root
     user, the control key on 0.0.0.0, a mounted fixture via MOCKSERVER_FIXTURES, and
     exit code 2 on a bad fixture;
  6. runs the container tests with the project's test environment (.venv, made by .ci/run):
     the Testcontainers module and example, and the compose file of docs/ways-in.md.
Every request goes to 127.0.0.1. Exit code 0 when every check passed or when no Docker
engine can start here at all (then it says SKIPPED and why), 1 when a check failed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from apt_sources import NoMirror, debian_mirror      # beside this file

ROOT = Path(__file__).resolve().parents[1]
# The host's CA bundle goes into the base image, so that pip inside the build trusts what
# the host trusts (a TLS-intercepting egress proxy, say); the tag changes with the bundle.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SUITE = "bookworm"              # the Debian release of the Dockerfile's default python:3.12-slim-bookworm
BOOTSTRAP_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"
# Left out of the base image, as the official slim images do: with the vfs storage driver
# every build step copies the whole file system, so its size is the build's time.
TRIM = ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/locale", "usr/share/man",
        "usr/share/info")
_RECIPE = hashlib.sha256(repr((BOOTSTRAP_PACKAGES, TRIM)).encode()
                         + (HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""))
BASE_IMAGE = f"algorithmia-mock-ci-base:{SUITE}-{_RECIPE.hexdigest()[:12]}"
IMAGE = "algorithmia-mock:ci"
PREFIX = f"amock-ci-{os.getpid()}"
DEMO_KEY = "simDemoSandboxKey0000000000"
CONTROL_KEY = "ci-control-key-0123456789"
# vfs works on any file system; CI_DOCKER_STORAGE_DRIVER=overlay2 is much faster where it works.
STORAGE_DRIVER = os.environ.get("CI_DOCKER_STORAGE_DRIVER", "vfs")
# Legacy builder: it ignores the Dockerfile's "# syntax=" line, which BuildKit would
# resolve by pulling a frontend image from a registry.
ENV = {**os.environ, "DOCKER_BUILDKIT": "0"}


class Skip(Exception):
    """No Docker engine can run here."""


class Failed(Exception):
    """A check failed."""


def say(msg: str) -> None:
    print(f"docker-image: {msg}", flush=True)


def run(cmd: list[str], timeout: float, check: bool = True, **kw) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **{"env": ENV, **kw})
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from None
    if check and proc.returncode != 0:
        raise Failed(f"exit {proc.returncode}: {' '.join(cmd)}\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}")
    return proc


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


# ---------------------------------------------------------------- engine

def compose_available() -> bool:
    if shutil.which("docker-compose"):
        return True
    try:
        return shutil.which("docker") is not None and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, env=ENV).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def apt_install(packages: list[str]) -> str | None:
    """Installs Debian packages; None when done, else why not."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{', '.join(packages)} missing and cannot be installed (needs root and apt-get)"
    say(f"installing {' '.join(packages)} with apt-get")
    apt = {**ENV, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", *packages]):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=apt)
        except subprocess.TimeoutExpired:
            return f"{' '.join(cmd)} timed out"
        if proc.returncode != 0:
            return f"{' '.join(cmd)} failed: {_tail(proc.stderr, 5)}"
    return None


def ensure_tools() -> None:
    missing = sorted({pkg for tool, pkg in (("dockerd", "docker.io"), ("docker", "docker.io"),
                                            ("debootstrap", "debootstrap")) if shutil.which(tool) is None})
    if missing and (why := apt_install(missing)):
        raise Skip(why)
    # Not a reason to skip: without compose the compose test fails and says so.
    if not compose_available() and (why := apt_install(["docker-compose"])):
        say(f"docker-compose: {why}")


def engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, env=ENV).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_engine(workdir: Path) -> subprocess.Popen | None:
    """None when an engine already answers; else the dockerd this script started."""
    if engine_answers():
        say("using the running Docker engine")
        return None
    if os.geteuid() != 0:
        raise Skip("no Docker engine answers and dockerd needs root")
    log = open(workdir / "dockerd.log", "w")
    say(f"starting dockerd --storage-driver={STORAGE_DRIVER} --iptables=false --bridge=none")
    proc = subprocess.Popen(["dockerd", f"--storage-driver={STORAGE_DRIVER}", "--iptables=false", "--bridge=none"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Skip(f"dockerd exited with {proc.returncode}:\n{_tail((workdir / 'dockerd.log').read_text(), 10)}")
        if engine_answers():
            return proc
        time.sleep(1)
    stop_engine(proc)
    raise Skip(f"dockerd did not answer within 60 s:\n{_tail((workdir / 'dockerd.log').read_text(), 10)}")


def stop_engine(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- images

def mirror_from_apt() -> str:
    """The Debian mirror of the machine's apt sources (CI_DEBIAN_MIRROR overrides it)."""
    try:
        return debian_mirror(SUITE)
    except NoMirror as none:
        raise Failed(f"{none}\nConfigure one for apt, or set CI_DEBIAN_MIRROR") from None


def ensure_base_image(workdir: Path) -> None:
    """A python:3.x-slim stand-in made with debootstrap; reused when the engine has it."""
    if run(["docker", "image", "inspect", BASE_IMAGE], 30, check=False).returncode == 0:
        say(f"reusing base image {BASE_IMAGE}")
        return
    stale = run(["docker", "image", "ls", "-q", BASE_IMAGE.split(":")[0]], 30, check=False).stdout.split()
    if stale:                    # base images of an older recipe or CA bundle
        run(["docker", "image", "rm", "-f", *stale], 120, check=False)
    rootfs = workdir / "rootfs"
    mirror = os.environ.get("CI_DEBIAN_MIRROR") or mirror_from_apt()
    say(f"debootstrap {SUITE} ({BOOTSTRAP_PACKAGES}) from {mirror}")
    started = time.monotonic()
    run(["debootstrap", "--variant=minbase", f"--include={BOOTSTRAP_PACKAGES}", SUITE, str(rootfs), mirror], 600)
    # What the official python image has and Debian's lacks: `python`/`pip` on PATH, and no
    # PEP 668 marker (the Dockerfile pip-installs into the image's Python, as there).
    for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        link = rootfs / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    if HOST_CA_BUNDLE.is_file():
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    for trimmed in TRIM:
        shutil.rmtree(rootfs / trimmed, ignore_errors=True)
        (rootfs / trimmed).mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    try:
        run(["docker", "import", "--change", "CMD [\"python3\"]", "-", BASE_IMAGE], 300, stdin=tar.stdout)
    finally:
        tar.stdout.close()
        tar.wait(timeout=60)
        shutil.rmtree(rootfs, ignore_errors=True)
    say(f"base image {BASE_IMAGE} made in {time.monotonic() - started:.0f} s")


def build_image() -> None:
    say(f"docker build --network=host --build-arg PYTHON_IMAGE={BASE_IMAGE} -t {IMAGE} .")
    started = time.monotonic()
    run(["docker", "build", "--force-rm", "--network=host", "--build-arg", f"PYTHON_IMAGE={BASE_IMAGE}", "-t", IMAGE, str(ROOT)],
        600)
    say(f"ok: image built from the unchanged Dockerfile in {time.monotonic() - started:.0f} s")


# ---------------------------------------------------------------- checks

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def start_container(name: str, port: int, *extra: str) -> None:
    run(["docker", "run", "-d", "--name", name, "--network=host", "-e", f"MOCKSERVER_PORT={port}",
         "-e", f"MOCKSERVER_CONTROL_KEY={CONTROL_KEY}", *extra, IMAGE], 60)


def logs(name: str) -> str:
    proc = run(["docker", "logs", name], 30, check=False)
    return _tail(proc.stdout + proc.stderr)


def wait_healthy(name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        state = json.loads(run(["docker", "inspect", "--format", "{{json .State}}", name], 30).stdout)
        status = (state.get("Health") or {}).get("Status", "no healthcheck")
        if status == "healthy":
            return
        if not state.get("Running"):
            raise Failed(f"container {name} stopped (exit {state.get('ExitCode')}):\n{logs(name)}")
        time.sleep(1)
    raise Failed(f"container {name} not healthy within {timeout:.0f} s (status {status}):\n{logs(name)}")


def expect(ok: bool, what: str, detail: str = "") -> None:
    if not ok:
        raise Failed(f"{what}{': ' + detail if detail else ''}")
    say(f"ok: {what}")


def check_default_container() -> None:
    name, port = f"{PREFIX}-default", free_port()
    start_container(name, port)
    wait_healthy(name)
    say("ok: HEALTHCHECK reports healthy")
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Simple {DEMO_KEY}"}
    status, body = http("GET", f"{base}/v1/users/demo", headers={"Authorization": "Simple simAdminSandboxKey000000000"})
    expect(status == 200 and json.loads(body).get("username") == "demo",
           "GET /v1/users/demo with the sandbox's admin key", f"{status} {body[:300]!r}")
    status, body = http("POST", f"{base}/v1/algo/demo/Hello", b'"Neo"', {**auth, "Content-Type": "application/json"})
    expect(status == 200 and json.loads(body).get("result") == "Hello Neo",
           "POST /v1/algo/demo/Hello answers \"Hello Neo\"", f"{status} {body[:300]!r}")
    uids = run(["docker", "exec", name, "sh", "-c", "id -u; stat -c %u /proc/1"], 30).stdout.split()
    expect(uids == ["10001", "10001"], "the server (pid 1) and exec run as uid 10001, not root", repr(uids))
    status, body = http("GET", f"{base}/_mock/health")
    expect(status == 200, "GET /_mock/health needs no control key", f"{status} {body[:300]!r}")
    status, body = http("POST", f"{base}/_mock/reset", b"{}", {"Content-Type": "application/json"})
    expect(status == 401, "on 0.0.0.0, POST /_mock/reset without X-Mock-Control-Key answers 401",
           f"{status} {body[:300]!r}")
    status, body = http("POST", f"{base}/_mock/reset", b"{}",
                        {"Content-Type": "application/json", "X-Mock-Control-Key": CONTROL_KEY})
    expect(status == 200, "with the key (MOCKSERVER_CONTROL_KEY) it answers 200", f"{status} {body[:300]!r}")


FIXTURE = """\
users:
  - username: ci_user
    email: ci@example.com
    fullname: CI User
    keys:
      - key: simCiFixtureKey00000000000
"""
BAD_FIXTURE = "users:\n  - username: broken\n    email: 7\n"


def check_fixtures(workdir: Path) -> None:
    fixtures = workdir / "fixtures"
    fixtures.mkdir(mode=0o755)
    (fixtures / "ci.yaml").write_text(FIXTURE)
    (fixtures / "bad.yaml").write_text(BAD_FIXTURE)
    for f in fixtures.iterdir():
        f.chmod(0o644)          # the image's user (10001) reads them
    mount = ["-v", f"{fixtures}:/fixtures:ro"]

    name, port = f"{PREFIX}-fixture", free_port()
    start_container(name, port, *mount, "-e", "MOCKSERVER_FIXTURES=/fixtures/ci.yaml")
    wait_healthy(name)
    status, body = http("GET", f"http://127.0.0.1:{port}/v1/users/ci_user/algorithms",
                        headers={"Authorization": "Simple simCiFixtureKey00000000000"})
    expect(status == 200 and json.loads(body).get("results") == [],
           "a fixture mounted at /fixtures and named by MOCKSERVER_FIXTURES is served", f"{status} {body[:300]!r}")

    name = f"{PREFIX}-bad"
    proc = run(["docker", "run", "--name", name, "--network=host", "-e", f"MOCKSERVER_PORT={free_port()}",
                *mount, "-e", "MOCKSERVER_FIXTURES=/fixtures/bad.yaml", IMAGE], 90, check=False)
    output = proc.stdout + proc.stderr
    expect(proc.returncode == 2 and "/fixtures/bad.yaml" in output,
           "a bad fixture file stops the container with exit code 2 and names the file",
           f"exit {proc.returncode}\n{_tail(output)}")


# The container tests, with the project's test environment (made by .ci/run): the
# Testcontainers module and example, and the compose file of docs/ways-in.md.
CONTAINER_TESTS = ("tests/ways/test_testcontainer.py", "tests/ways/test_ci_examples.py")


def run_container_tests() -> None:
    python = Path(os.environ.get("CI_PYTHON", ROOT / ".venv" / "bin" / "python"))
    if not python.exists():
        raise Failed(f"no test environment at {python}: run .ci/run (or set CI_PYTHON to a Python with .[test])")
    env = {**ENV, "ALGORITHMIA_MOCK_IMAGE": IMAGE, "ALGORITHMIA_MOCK_HOST_NETWORK": "1",
           # Ryuk, the library's clean-up container, would be pulled from Docker Hub
           "TESTCONTAINERS_RYUK_DISABLED": "true"}
    say(f"pytest {' '.join(CONTAINER_TESTS)} against {IMAGE}")
    started = time.monotonic()
    proc = run([str(python), "-m", "pytest", "-q", "-rs", "-p", "no:randomly", *CONTAINER_TESTS], 900,
               check=False, env=env, cwd=ROOT)
    for line in proc.stdout.strip().splitlines()[-15:]:
        say(f"  {line}")
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    if proc.returncode != 0:
        raise Failed(f"the container tests failed (exit {proc.returncode}):\n{_tail(proc.stdout, 60)}\n{_tail(proc.stderr)}")
    if "skipped" in summary or "passed" not in summary:
        raise Failed(f"the container tests must all run here, with an engine: {summary}")
    say(f"ok: Testcontainers and compose tests passed in {time.monotonic() - started:.0f} s")


def remove_containers() -> None:
    proc = run(["docker", "ps", "-aq", "--filter", f"name={PREFIX}-"], 30, check=False)
    ids = proc.stdout.split()
    if ids:
        run(["docker", "rm", "-f", *ids], 60, check=False)


def _terminated(signum, _frame):
    raise SystemExit(128 + signum)      # run the clean-up below (containers, dockerd, temp files)


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="amock-docker-ci-", dir="/var/tmp"))
    workdir.chmod(0o755)
    engine = None
    try:
        try:
            ensure_tools()
            engine = start_engine(workdir)
        except Skip as why:
            say(f"SKIPPED: no Docker engine can start here: {why}")
            return 0
        try:
            ensure_base_image(workdir)
            build_image()
            check_default_container()
            check_fixtures(workdir)
            remove_containers()
            run_container_tests()
        except Failed as failure:
            say(f"FAILED: {failure}")
            return 1
        finally:
            remove_containers()
        say(f"all checks passed in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        stop_engine(engine)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark runs, installed as a user would, outside the project's own environment.

Kept in ``$XDG_CACHE_HOME/algorithmia-mock/bench`` (default ``~/.cache``), rebuilt when
pyproject.toml changes; the project itself is reinstalled on every run:

- ``project``: a venv with ``pip install .`` (the README's install: no extras), which serves
  the mock, the ``mockserver`` command and bare Flask under the mock's own server;
- ``docker``: a venv with only the wheel (``pip wheel --no-deps``, then ``pip install`` of
  it, as the Dockerfile does) for the image's CMD;
- ``tools``: gunicorn and the same Flask and Werkzeug as ``project``, for the bare-Flask
  baseline under gunicorn gthread (never a dependency of the project);
- Prism 5, installed with npm into ``…/algorithmia-mock/prism`` (npm's registry and cache).

Servers import ``benchmarks.*`` from a folder holding only a link to benchmarks/, never
the checkout's ``mockserver``, and run in an empty working directory (servers.py).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from servers import ROOT, base_env

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "algorithmia-mock"
BENCH = CACHE / "bench"
PRISM_DIR = CACHE / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
GUNICORN = "gunicorn~=27.0"


def _run(argv: list[str], timeout: float = 900, env: dict[str, str] | None = None, **kw) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**base_env(), **(env or {})}, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed: {(r.stderr or r.stdout)[-1500:]}")
    return r.stdout


def _pyproject_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]


def _venv(name: str) -> tuple[Path, bool]:
    """The venv ``name`` (made if missing) and whether it is new."""
    path = BENCH / name
    if (path / "bin" / "python").exists():
        return path, False
    shutil.rmtree(path, ignore_errors=True)
    BENCH.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(path)])
    return path, True


def project_venv() -> Path:
    """``pip install .`` of this checkout (dependencies once per pyproject.toml, the project every run)."""
    path, new = _venv(f"project-{_pyproject_hash()}")
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run(pip + [str(ROOT)] if new else pip + ["--no-deps", "--force-reinstall", str(ROOT)])
    return path


def docker_venv(image_env: dict[str, str]) -> Path:
    """Only the wheel, installed as the Dockerfile installs it (under the image's ENV)."""
    path, new = _venv(f"docker-{_pyproject_hash()}")
    with tempfile.TemporaryDirectory() as wheels:
        _run([str(path / "bin" / "python"), "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", wheels, str(ROOT)])
        wheel = str(next(Path(wheels).glob("*.whl")))
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
        _run(pip + [wheel] if new else pip + ["--no-deps", "--force-reinstall", wheel], env=image_env)
    return path


def versions(venv: Path, *packages: str) -> dict[str, str]:
    out = _run([str(venv / "bin" / "python"), "-c",
                "import sys, importlib.metadata as m; print(' '.join(m.version(p) for p in sys.argv[1:]))", *packages])
    return dict(zip(packages, out.split()))


def tools_venv(project: Path) -> Path:
    """gunicorn beside the project venv's Flask and Werkzeug versions."""
    pins = versions(project, "flask", "werkzeug")
    tag = hashlib.sha256(f"{GUNICORN} {pins}".encode()).hexdigest()[:12]
    path, new = _venv(f"tools-{tag}")
    if new:
        _run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", GUNICORN,
              *(f"{name}=={version}" for name, version in pins.items())])
    return path


def imports_from(venv: Path, env: dict[str, str], module: str = "mockserver") -> str:
    """Where ``module`` comes from for a server of ``venv`` started with ``env`` (a check that
    the benchmark measures the install, not the checkout)."""
    with tempfile.TemporaryDirectory() as cwd:
        r = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}; print({module}.__file__)"],
                           capture_output=True, text=True, timeout=120, env=env, cwd=cwd)
    return r.stdout.strip() or r.stderr[-300:]


def benchmarks_path() -> str:
    """A folder whose only entry is a link named ``benchmarks`` to this benchmarks/ folder:
    on PYTHONPATH it makes ``benchmarks.bench_wsgi`` importable without the checkout."""
    folder = BENCH / "path"
    link = folder / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    target = ROOT / "benchmarks"
    if not link.is_symlink() or Path(os.readlink(link)) != target:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return str(folder)


def prism_command() -> tuple[list[str] | None, str]:
    """``prism mock`` of openapi/algorithmia.yaml (``{port}`` to fill), installing Prism 5 with npm on
    first use; (None, why) when Node.js or the package cannot be had."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        if not shutil.which("npm") or not shutil.which("node"):
            return None, "Node.js/npm not installed"
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        try:
            _run(["npm", "install", "--no-audit", "--no-fund", "--silent", PRISM_PACKAGE], cwd=PRISM_DIR)
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            return None, f"npm install {PRISM_PACKAGE} failed: {exc}"
    if not binary.exists():
        return None, "prism binary missing after npm install"
    return [str(binary), "mock", "-h", "127.0.0.1", "-p", "{port}", str(ROOT / "openapi" / "algorithmia.yaml")], ""


def prism_version() -> str:
    try:
        return _run([str(PRISM_DIR / "node_modules" / ".bin" / "prism"), "--version"], timeout=60).strip()
    except (RuntimeError, subprocess.SubprocessError, OSError):
        return "?"

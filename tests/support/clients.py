"""The generated client, algorithmia-api-client, in the two versions that matter.

1.5.1 is the one algorithmia 2.0.5 pins, so it is in the test environment already. 1.5.5
cannot be installed next to algorithmia 2.0.5, which imports a module (``DefaultApi``) 1.5.5 no
longer has, so it is installed with ``pip --target`` once per machine (~/.cache/algorithmia-mock).
The scripts (tests/e2e/generated_client_*.py) run in a subprocess with the wanted version first
on sys.path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable

GENERATED_CLIENT_VERSIONS = ("1.5.1", "1.5.5")


def cached_folder(name: str, fill: Callable[[Path], None]) -> str:
    """``~/.cache/algorithmia-mock/{name}`` (``$XDG_CACHE_HOME`` first), made once per machine by
    ``fill(folder)``. It is filled beside its place and renamed into it: pytest-xdist workers, or
    other runs on the machine, that make it at once never see or write into a half-made folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / name
    if (cache / ".complete").exists():
        return str(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache.parent))
    staging.chmod(0o755)                                    # as mkdir makes it (others may read it)
    try:
        fill(staging)
        (staging / ".complete").touch()
        if cache.exists() and not (cache / ".complete").exists():
            shutil.rmtree(cache, ignore_errors=True)        # left half-made by an interrupted run
        try:
            staging.rename(cache)
        except OSError:                                     # another run made it first
            if not (cache / ".complete").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(cache)


def install_generated_client(version: str) -> str:
    """A sys.path entry holding that version ('' when the test environment's own is it); its
    dependencies come from the test environment."""
    if metadata.version("algorithmia-api-client") == version:
        return ""
    return cached_folder(f"api-client-{version}", lambda folder: subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(folder),
         f"algorithmia-api-client=={version}"], check=True, timeout=600))


def run_generated(path: str, script: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` with the generated client at ``path`` first on its sys.path."""
    env = {**os.environ, "PYTHONPATH": path} if path else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120)


# What the ADK's examples require: algorithmia 1.x, which brings algorithmia-adk 1.2.x.
ADK_REQUIREMENT = "algorithmia>=1.7,<2"


def adk_wheelhouse() -> str:
    """A wheel folder holding ``ADK_REQUIREMENT`` and its dependencies (``pip download``, once per
    machine), for the mock's ``--wheelhouse``: builds install pushed requirements from it offline."""
    return cached_folder("adk-wheelhouse", lambda folder: subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder), ADK_REQUIREMENT],
        check=True, timeout=600))


def install_from_wheelhouse(wheelhouse: str, target: Path, requirement: str = ADK_REQUIREMENT) -> None:
    """``requirement`` installed offline from ``wheelhouse`` into ``target`` (a folder for PYTHONPATH)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-conflicts", "--no-index",
                    "--find-links", wheelhouse,
                    "--target", str(target), requirement], check=True, timeout=600)

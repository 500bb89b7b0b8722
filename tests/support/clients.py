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

GENERATED_CLIENT_VERSIONS = ("1.5.1", "1.5.5")


def install_generated_client(version: str) -> str:
    """A sys.path entry holding that version ('' when the test environment's own is it); its
    dependencies come from the test environment."""
    if metadata.version("algorithmia-api-client") == version:
        return ""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / f"api-client-{version}"
    if (cache / ".complete").exists():
        return str(cache)
    # Installed beside the cache, then renamed into place: pytest-xdist workers (and other runs on
    # the machine) that install at once never see, or write into, a half-installed folder.
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".api-client-{version}-", dir=cache.parent))
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(staging),
                        f"algorithmia-api-client=={version}"], check=True)
        (staging / ".complete").touch()
        if cache.exists() and not (cache / ".complete").exists():
            shutil.rmtree(cache, ignore_errors=True)        # left half-made by an older, interrupted run
        try:
            staging.rename(cache)
        except OSError:                                     # another run's install won the race
            if not (cache / ".complete").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(cache)


def run_generated(path: str, script: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` with the generated client at ``path`` first on its sys.path."""
    env = {**os.environ, "PYTHONPATH": path} if path else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120)


# What the ADK's examples require: algorithmia 1.x, which brings algorithmia-adk 1.2.x.
ADK_REQUIREMENT = "algorithmia>=1.7,<2"


def adk_wheelhouse() -> str:
    """A wheel folder holding ``ADK_REQUIREMENT`` and its dependencies (``pip download``, once per
    machine), for the mock's ``--wheelhouse``: builds install pushed requirements from it offline."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / "adk-wheelhouse"
    marker = cache / ".complete"
    if not marker.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(cache), ADK_REQUIREMENT],
                       check=True, timeout=600)
        marker.touch()
    return str(cache)


def install_from_wheelhouse(wheelhouse: str, target: Path, requirement: str = ADK_REQUIREMENT) -> None:
    """``requirement`` installed offline from ``wheelhouse`` into ``target`` (a folder for PYTHONPATH)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-conflicts", "--no-index",
                    "--find-links", wheelhouse,
                    "--target", str(target), requirement], check=True, timeout=600)

"""The generated client (algorithmia-api-client 1.5.5), which needs its own sys.path.

It cannot be installed next to algorithmia 2.0.5, which pins 1.5.1 and imports a module
1.5.5 no longer has, so it is installed with ``pip --target`` once per machine and its
scripts (tests/e2e/generated_client_*.py) run in a subprocess.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GENERATED_CLIENT = "algorithmia-api-client==1.5.5"


def install_generated_client() -> str:
    """The directory holding the generated client (its deps come from the test env)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "algorithmia-mock" / "api-client-1.5.5"
    marker = cache / ".complete"
    if not marker.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(cache),
                        GENERATED_CLIENT], check=True)
        marker.touch()
    return str(cache)


def run_generated(path: str, script: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` with the generated client at ``path`` on its sys.path."""
    env = {**os.environ, "PYTHONPATH": path}
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

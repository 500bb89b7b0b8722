"""Installing a requirement of a build from the operator's wheel folder, offline.

``pip install --no-index --find-links WHEELHOUSE --only-binary :all: --target <checkout>/src``,
in a child process with a time limit and the environment of untrusted code. Only wheels: a
source distribution would run its ``setup.py`` as the server's user, so pushed code could
choose one to run there. Which requirements need installing is the build's rule
(``domain/gitbuilds.py``); this module only runs pip.
"""
from __future__ import annotations

import os
import subprocess
import sys

from mockserver.runtime.childenv import child_environment

INSTALL_TIMEOUT_S = 180.0


def pip_install(requirement: str, target: str, wheelhouse: str, timeout: float = INSTALL_TIMEOUT_S
                ) -> tuple[bool, str]:
    """(installed, pip's output) of installing ``requirement`` into the folder ``target``."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
               "--no-cache-dir", "--only-binary", ":all:", "--find-links", wheelhouse, "--target", target,
               "--upgrade", requirement]
    try:
        done = subprocess.run(command, cwd=os.path.dirname(target) or None, env=child_environment(trusted=False),
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"pip took longer than {timeout:.0f}s"
    return done.returncode == 0, (done.stdout + done.stderr).decode("utf-8", "replace")

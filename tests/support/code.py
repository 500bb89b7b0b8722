"""Folders of algorithm code that tests bind over HTTP or in fixtures sent over HTTP.

When the server runs as root (CI), such code runs under another uid (docs/security.md): the
server hands the worker its code's folder, which that user must be allowed to enter. pytest
makes every ``tmp_path`` mode 0700; these helpers open the one folder a test binds from.
"""
from __future__ import annotations

from pathlib import Path


def open_to_workers(folder: Path) -> Path:
    """``folder``, enterable and readable by other users (its parents need not be)."""
    folder.chmod(0o755)
    return folder


def write_algorithm(folder: Path, name: str, source: str) -> str:
    """Write ``name`` (e.g. ``probe.py``) into ``folder`` (opened to workers) and return its
    binding target ``<path>:apply``."""
    open_to_workers(folder)
    path = folder / name
    path.write_text(source)
    return f"{path}:apply"

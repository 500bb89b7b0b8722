"""An algorithm whose calls the test ends: each call waits until the gate's file exists.

A test that needs calls in flight (a slot taken, a queue filled, workers started side by side)
starts them, polls for that state (support.polling.until), then opens the gate; no sleep races
a slow machine. A call never waits more than ``HOLD_S`` (a forgotten gate cannot hang a test).
"""
from __future__ import annotations

from pathlib import Path

from support.code import write_algorithm

HOLD_S = 30
SOURCE = f'''"""Test algorithm: holds the call until the file input["until"], beside this one, exists (at most
{HOLD_S} s). Beside it: a worker under another uid reaches this folder, not necessarily its parents."""
import os
import time


def apply(input):
    signal = os.path.join(os.path.dirname(__file__), input["until"])
    deadline = time.monotonic() + {HOLD_S}
    while not os.path.exists(signal) and time.monotonic() < deadline:
        time.sleep(0.01)
    return input
'''


class Gate:
    """``gate.py`` written into ``folder``: bind ``Binding(Gate.file, str(gate.folder))`` or ``gate.target``."""

    file = "gate.py"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.target = write_algorithm(self.folder, self.file, SOURCE)    # a binding target: path and function
        self._open = self.folder / "gate.open"
        self.close()

    def input(self, **extra) -> dict:
        """The input of a call that waits for this gate (``extra`` comes back as the result)."""
        return {"until": self._open.name, **extra}

    def open(self) -> None:
        self._open.touch()

    def close(self) -> None:
        self._open.unlink(missing_ok=True)

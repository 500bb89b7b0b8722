"""Echoes its input; an input {"hold": FOLDER} first creates FOLDER/started, then waits (at
most 30 s) until FOLDER/go exists: a test holds the worker busy while other calls queue."""
import os
import time


def apply(input):
    if isinstance(input, dict) and "hold" in input:
        open(os.path.join(input["hold"], "started"), "w").close()
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(input["hold"], "go")) and time.monotonic() < deadline:
            time.sleep(0.01)
    return input

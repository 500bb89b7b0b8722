"""Invocation runtime of algorithmia-mock (pure Python, no Flask).

Usage::

    from mockserver.runtime import Engine, Invocation, Binding, DEFAULT_PROFILES

    engine = Engine(scale=1.0)                 # scale multiplies every simulated delay
    cpu = DEFAULT_PROFILES[0]
    out = engine.invoke(Invocation(
        key="demo/Hello/abc123", binding=Binding("greeter.py:apply", base_dir="fixtures/algorithms"),
        profile=cpu, body=b'"Neo"', content_type="application/json",
        timeout_s=300, want_stdout=False,
        env={"ALGORITHMIA_API": "http://127.0.0.1:8080", "ALGORITHMIA_API_KEY": "sim..."}))
    out.result, out.content_type, out.duration, out.error, out.cold
    engine.shutdown()

Modules: ``profiles`` (Profile, DEFAULT_PROFILES), ``binding`` (Binding and
ADK-style loading), ``codec`` (input/output content types), ``context`` (what a
running callable can read), ``worker`` (warm worker processes), ``inproc``
(in-thread mode), ``engine`` (pools, slots, queueing, delays), ``errors``.
"""
from . import context
from .binding import Binding
from .engine import Engine, Invocation, Outcome
from .errors import (ALGORITHM_ERROR, LOADING_ERROR, OUT_OF_MEMORY_ERROR, SYSTEM_ERROR,
                     BadInput, EngineClosed, QueueFull, RuntimeFailure)
from .profiles import DEFAULT_PROFILES, Profile

__all__ = [
    "Engine", "Invocation", "Outcome", "Binding", "Profile", "DEFAULT_PROFILES",
    "BadInput", "QueueFull", "EngineClosed", "RuntimeFailure", "context",
    "ALGORITHM_ERROR", "SYSTEM_ERROR", "OUT_OF_MEMORY_ERROR", "LOADING_ERROR",
]

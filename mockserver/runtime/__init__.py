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

Modules: ``engine`` (the facade: admit, run, check, reset), ``calls`` (Invocation,
Outcome), ``errors`` (CallError and the exceptions), ``admission`` (per-key cap, server-wide
pools of calls and checks), ``pools`` (warm pools, slots, queues, process count), ``launch``
(starting workers, cold starts), ``reaper`` (stopping workers, idle reaping), ``stats``,
``checks`` + ``checker`` (binding checks in checker processes), ``worker`` (a worker
process, server side), ``worker_main`` + ``output_drain`` (the worker process itself),
``executor`` (load and run the code) + ``tracebacks`` (errors of the code), ``inproc``
(in-thread mode), ``profiles``, ``binding`` (Binding and ADK-style loading), ``inputs`` and
``codec`` (input and output content types), ``context`` (what a running callable can read), ``framing``
and ``procs`` (messages, process trees), ``policy`` (which code bindings may name).
"""
import importlib

# Names resolve on first use (PEP 562): a worker process imports only the modules it runs,
# not the engine, so its cold start stays short.
_EXPORTS = {
    "context": ".context",
    "Binding": ".binding",
    "Engine": ".engine", "Admitted": ".calls", "Invocation": ".calls", "Outcome": ".calls",
    "Admission": ".admission", "Tenant": ".admission",
    "ALGORITHM_ERROR": ".errors", "LOADING_ERROR": ".errors", "OUT_OF_MEMORY_ERROR": ".errors",
    "SYSTEM_ERROR": ".errors", "BadInput": ".errors", "EngineClosed": ".errors", "QueueFull": ".errors",
    "KeyBusy": ".errors", "ServerBusy": ".errors", "ChecksBusy": ".errors", "CallError": ".errors",
    "BuildsBusy": ".errors", "ProcessesBusy": ".errors",
    "RuntimeFailure": ".errors",
    "DEFAULT_PROFILES": ".profiles", "Profile": ".profiles",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name], __name__)
    value = module if name == "context" else getattr(module, name)
    globals()[name] = value
    return value

"""Environment profiles: how a simulated execution environment behaves.

A profile is loaded from fixtures (``Profile.from_dict``) and shapes what a call
costs and how it may fail. All delays are multiplied by the engine's ``scale``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

PROCESSORS = ("cpu", "gpu")
MODES = ("process", "inprocess")


@dataclass(frozen=True)
class Profile:
    name: str
    processor: str = "cpu"          # "cpu" | "gpu"
    memory_mb: int = 4096           # address-space budget of one worker (see worker.py)
    cold_start_s: float = 0.0       # simulated delay when a worker starts
    idle_s: float = 300.0           # a warm worker idle this long is stopped (goes cold)
    warm_slots: int = 1             # max concurrent calls per algorithm version
    queue_limit: int = 16           # max calls waiting for a slot; past it -> QueueFull
    overhead_s: float = 0.0         # simulated per-call overhead
    build_delay_s: float = 0.0      # used by the lifecycle layer, not by the engine
    env: Mapping[str, str] = field(default_factory=dict)   # env vars visible to the callable
    mode: str = "process"           # "process" | "inprocess"
    languages: tuple = ("python3-1",)   # settings.language values or environment languages (python3, java11, ...)
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append("name must be a non-empty string")
        if self.processor not in PROCESSORS:
            problems.append(f"processor must be one of {', '.join(PROCESSORS)}, not {self.processor!r}")
        if self.mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for attr in ("memory_mb", "warm_slots"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                problems.append(f"{attr} must be an integer >= 1, not {v!r}")
        if isinstance(self.queue_limit, bool) or not isinstance(self.queue_limit, int) or self.queue_limit < 0:
            problems.append(f"queue_limit must be an integer >= 0, not {self.queue_limit!r}")
        for attr in ("cold_start_s", "idle_s", "overhead_s", "build_delay_s"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                problems.append(f"{attr} must be a number >= 0, not {v!r}")
        env = self.env if self.env is not None else {}
        if not isinstance(env, Mapping) or not all(isinstance(k, str) for k in env):
            problems.append("env must be a mapping of strings")
        if problems:
            raise ValueError(f"invalid profile {self.name!r}: " + "; ".join(problems))
        # Own copies, so the frozen profile cannot change behind our back.
        object.__setattr__(self, "env", {k: str(v) for k, v in env.items()})
        langs = self.languages
        object.__setattr__(self, "languages", (langs,) if isinstance(langs, str) else tuple(langs))
        object.__setattr__(self, "cold_start_s", float(self.cold_start_s))
        object.__setattr__(self, "idle_s", float(self.idle_s))
        object.__setattr__(self, "overhead_s", float(self.overhead_s))
        object.__setattr__(self, "build_delay_s", float(self.build_delay_s))
        # Hashed on every call (environment look-ups key a cache by the loaded profiles):
        # computed once, the profile being frozen and env its own copy.
        object.__setattr__(self, "_hash", hash(tuple(
            tuple(sorted(self.env.items())) if f.name == "env" else getattr(self, f.name) for f in fields(self))))

    # env is a dict: hash by value so profiles can key dicts / be compared.
    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Profile":
        """Build from a fixture mapping. Unknown keys are an error (named)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown profile field(s): {', '.join(unknown)}")
        return cls(**dict(d))

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["env"] = dict(self.env)
        out["languages"] = list(self.languages)
        return out


DEFAULT_PROFILES: tuple[Profile, ...] = (
    Profile(
        name="python3-cpu",
        processor="cpu",
        memory_mb=4096,
        cold_start_s=0.25,
        idle_s=300.0,
        warm_slots=2,
        queue_limit=16,
        overhead_s=0.002,
        build_delay_s=0.0,
        env={},
        mode="process",
        languages=("python3-1", "python2-langpack"),
        description="Python 3.x on CPU (simulated)",
    ),
    Profile(
        name="python3-gpu",
        processor="gpu",
        memory_mb=12288,
        cold_start_s=0.5,
        idle_s=300.0,
        warm_slots=1,
        queue_limit=8,
        overhead_s=0.005,
        build_delay_s=0.0,
        env={
            "CUDA_VISIBLE_DEVICES": "0",
            "NVIDIA_VISIBLE_DEVICES": "0",
            "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
        },
        mode="process",
        languages=("python3-1", "python2-langpack"),
        description="Python 3.x with one simulated GPU (CUDA env vars set, no real GPU)",
    ),
)

# Env vars that only a GPU profile may expose; workers of other profiles never
# inherit them from the server's environment.
GPU_ENV_VARS = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
                "GPU_DEVICE_ORDINAL", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES")

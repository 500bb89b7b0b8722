"""Observability: Prometheus metrics (the access log line is in ``logs``).

``GET /_mock/metrics`` answers the Prometheus text format (0.0.4):

- ``mockserver_requests_total{operation,method,status}`` counter, ``operation``
  being the OpenAPI operationId (or the control endpoint / ``unmatched``);
- ``mockserver_request_duration_seconds`` histogram by operation;
- ``mockserver_invocation_duration_seconds`` histogram by algorithm: the invoke
  handler reports every call (``MockServer.observe_invocation``);
- ``mockserver_invocations_total{algorithm,outcome}`` counter (ok | error);
- ``mockserver_faults_injected_total`` counter.

Every label comes from a closed set, so no request can grow the series without
bound: operations are the two specs' operationIds (or ``unmatched``), methods the
HTTP methods the API uses (anything else is ``other``), and per-algorithm series
exist only for algorithms that exist: a reset clears them all, and deleting an
algorithm (or its owner) drops its own. Request counters survive a reset.
"""
from __future__ import annotations

import threading
from bisect import bisect_left
import time
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        i = bisect_left(BUCKETS, value)     # the first bound >= value
        if i < len(BUCKETS):
            self.counts[i] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        sep = "," if labels else ""
        for bound, count in zip(BUCKETS, self.counts):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        out.append(f"{name}_sum{{{labels}}} {self.total:.6f}")
        out.append(f"{name}_count{{{labels}}} {self.n}")
        return out


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.durations: dict[str, Histogram] = defaultdict(Histogram)
        self.invocations: dict[str, Histogram] = defaultdict(Histogram)
        self.invocation_outcomes: dict[tuple[str, str], int] = defaultdict(int)
        self.faults = 0

    def observe_request(self, operation: str, method: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "other"
        with self._lock:
            self.requests[(operation, method, status)] += 1
            self.durations[operation].observe(seconds)

    def observe_invocation(self, seconds: float, algorithm: str, ok: bool = True) -> None:
        with self._lock:
            self.invocations[algorithm].observe(seconds)
            self.invocation_outcomes[(algorithm, "ok" if ok else "error")] += 1

    def forget_algorithms(self, keep: "set[str] | None" = None) -> None:
        """Drop the per-algorithm series, all of them or those of algorithms not in ``keep``."""
        with self._lock:
            for algo in [a for a in self.invocations if keep is None or a not in keep]:
                del self.invocations[algo]
            for series in [s for s in self.invocation_outcomes if keep is None or s[0] not in keep]:
                del self.invocation_outcomes[series]

    def observe_fault(self) -> None:
        with self._lock:
            self.faults += 1

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP mockserver_requests_total Requests answered, by OpenAPI operation, method and status.",
                     "# TYPE mockserver_requests_total counter"]
            for (op, method, status), n in sorted(self.requests.items()):
                lines.append(f'mockserver_requests_total{{operation="{_label(op)}",method="{method}",status="{status}"}} {n}')
            lines += ["# HELP mockserver_request_duration_seconds Time to answer a request, by operation.",
                      "# TYPE mockserver_request_duration_seconds histogram"]
            for op, hist in sorted(self.durations.items()):
                lines += hist.lines("mockserver_request_duration_seconds", f'operation="{_label(op)}"')
            lines += ["# HELP mockserver_invocation_duration_seconds Algorithm call durations (metadata.duration), by algorithm.",
                      "# TYPE mockserver_invocation_duration_seconds histogram"]
            for algo, hist in sorted(self.invocations.items()):
                lines += hist.lines("mockserver_invocation_duration_seconds", f'algorithm="{_label(algo)}"')
            lines += ["# HELP mockserver_invocations_total Algorithm calls, by algorithm and outcome.",
                      "# TYPE mockserver_invocations_total counter"]
            for (algo, outcome), n in sorted(self.invocation_outcomes.items()):
                lines.append(f'mockserver_invocations_total{{algorithm="{_label(algo)}",outcome="{outcome}"}} {n}')
            lines += ["# HELP mockserver_faults_injected_total Requests answered by an injected fault.",
                      "# TYPE mockserver_faults_injected_total counter",
                      f"mockserver_faults_injected_total {self.faults}",
                      "# HELP mockserver_start_time_seconds Start time of the server (Unix time).",
                      "# TYPE mockserver_start_time_seconds gauge",
                      f"mockserver_start_time_seconds {self.started:.3f}"]
        return "\n".join(lines) + "\n"

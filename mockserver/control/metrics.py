"""Observability: Prometheus metrics (the access log line is in ``logs``).

``GET /_mock/metrics`` answers the Prometheus text format (0.0.4), rendered by
``prometheus_client`` from one ``CollectorRegistry`` per server (each sandbox has its own):

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
import time
from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OUTCOMES = ("ok", "error")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The metrics of one server, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = RequestSeries()
        registry.register(self.requests)
        self.invocations = Histogram("mockserver_invocation_duration_seconds",
                                     "Algorithm call durations (metadata.duration), by algorithm.",
                                     ("algorithm",), buckets=BUCKETS, registry=registry)
        self.invocation_outcomes = Counter("mockserver_invocations", "Algorithm calls, by algorithm and outcome.",
                                           ("algorithm", "outcome"), registry=registry)
        self.faults = Counter("mockserver_faults_injected", "Requests answered by an injected fault.",
                              registry=registry)
        Gauge("mockserver_start_time_seconds", "Start time of the server (Unix time).",
              registry=registry).set(time.time())
        self._algorithms_lock = threading.Lock()
        self._algorithms: dict[str, tuple] = {}   # algorithm -> its series (to drop them again)

    def observe_request(self, operation: str, method: str, status: int, seconds: float) -> None:
        self.requests.observe(operation, method if method in METHODS else "other", status, seconds)

    def observe_invocation(self, seconds: float, algorithm: str, ok: bool = True) -> None:
        with self._algorithms_lock:
            series = self._algorithms.get(algorithm)
            if series is None:                   # both outcomes from the first call: removal knows them
                series = self._algorithms[algorithm] = (
                    self.invocations.labels(algorithm),
                    *(self.invocation_outcomes.labels(algorithm, outcome) for outcome in OUTCOMES))
            series[0].observe(seconds)
            series[1 if ok else 2].inc()

    def forget_algorithms(self, keep: "set[str] | None" = None) -> None:
        """Drop the per-algorithm series, all of them or those of algorithms not in ``keep``."""
        with self._algorithms_lock:
            gone = [a for a in self._algorithms if keep is None or a not in keep]
            for algorithm in gone:
                del self._algorithms[algorithm]
                self.invocations.remove(algorithm)
                for outcome in OUTCOMES:
                    self.invocation_outcomes.remove(algorithm, outcome)

    def observe_fault(self) -> None:
        self.faults.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestSeries:
    """``mockserver_requests_total`` and ``mockserver_request_duration_seconds``: counted in plain
    dicts under one lock on every request (a prometheus_client Counter and Histogram took ~5 µs
    of a ~70 µs create), and handed to the registry as metric families when it is scraped
    (prometheus_client's custom-collector API), in the text those two metrics rendered.
    Request series live as long as the server (labels from closed sets)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], list] = {}     # -> [count, created]
        self._durations: dict[str, list] = {}                   # operation -> [per-bucket counts, sum, created]

    def observe(self, operation: str, method: str, status: int, seconds: float) -> None:
        bucket = bisect_left(BUCKETS, seconds)          # the first bound >= seconds (len(BUCKETS): +Inf)
        with self._lock:
            count = self._counts.get((operation, method, status))
            if count is None:
                count = self._counts[(operation, method, status)] = [0, time.time()]
            count[0] += 1
            durations = self._durations.get(operation)
            if durations is None:
                durations = self._durations[operation] = [[0] * (len(BUCKETS) + 1), 0.0, time.time()]
            durations[0][bucket] += 1
            durations[1] += seconds

    def collect(self):
        with self._lock:
            counts = [(key, tuple(value)) for key, value in self._counts.items()]
            durations = [(op, (list(value[0]), value[1], value[2])) for op, value in self._durations.items()]
        requests = CounterMetricFamily("mockserver_requests", "Requests answered, by OpenAPI operation, method and status.",
                                       labels=("operation", "method", "status"))
        for (operation, method, status), (count, created) in counts:
            requests.add_metric((operation, method, str(status)), count, created=created)
        yield requests
        name, doc = "mockserver_request_duration_seconds", "Time to answer a request, by operation."
        histogram = HistogramMetricFamily(name, doc, labels=("operation",))
        created = GaugeMetricFamily(f"{name}_created", doc, labels=("operation",))
        for operation, (per_bucket, total, since) in durations:
            cumulative, buckets = 0, []
            for bound, n in zip((*map(repr, BUCKETS), "+Inf"), per_bucket):
                cumulative += n
                buckets.append((bound, cumulative))
            histogram.add_metric((operation,), buckets, total)
            created.add_metric((operation,), since)
        yield histogram
        yield created

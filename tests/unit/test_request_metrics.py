"""The request series are counted in plain dicts and rendered at scrape time: the text is what a
prometheus_client Counter and Histogram with the same observations render."""
from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mockserver.control.metrics import BUCKETS, Metrics

OBSERVED = [("getAlgorithm", "GET", 200, 0.0004), ("getAlgorithm", "GET", 200, 0.001),      # on a bound
            ("getAlgorithm", "GET", 404, 0.03), ("createAlgorithm", "POST", 201, 0.0031),
            ("createAlgorithm", "POST", 400, 7.5), ("invokeAlgorithm", "POST", 200, 301.0),  # past the last bound
            ("unmatched", "BREW", 404, 0.0)]


def _reference() -> str:
    registry = CollectorRegistry()
    requests = Counter("mockserver_requests", "Requests answered, by OpenAPI operation, method and status.",
                       ("operation", "method", "status"), registry=registry)
    durations = Histogram("mockserver_request_duration_seconds", "Time to answer a request, by operation.",
                          ("operation",), buckets=BUCKETS, registry=registry)
    for operation, method, status, seconds in OBSERVED:
        method = "other" if method == "BREW" else method
        requests.labels(operation, method, str(status)).inc()
        durations.labels(operation).observe(seconds)
    return generate_latest(registry).decode()


def _without_times(text: str) -> list[str]:
    return [re.sub(r"_created(\{.*\})? .*", r"_created\1 T", line) for line in text.splitlines()]


def test_request_series_render_as_prometheus_client_would():
    metrics = Metrics()
    for observation in OBSERVED:
        metrics.observe_request(*observation)
    ours = metrics.render().decode()
    reference = _reference()
    assert "mockserver_requests_total" in ours and 'le="+Inf"' in ours
    assert _without_times(ours)[:len(_without_times(reference))] == _without_times(reference)

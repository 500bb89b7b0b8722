"""Fuzzing from the spec: schemathesis generates requests for every operation of
openapi/algorithmia.yaml and sends them to the app in-process (WSGI).

Checks on every response: no 5xx, the status code is documented for the
operation, the Content-Type and body match the documented schema, and every
error (4xx/5xx) is an Algorithmia error object ``{"error": {..., "message": ...}}``.

Bounded for CI: ``FUZZ_EXAMPLES`` examples per operation (default 25), derandomized
(same cases every run) unless ``FUZZ_RANDOM=1``. Every operation is implemented, so a
501 fails like any other 5xx.
"""
from __future__ import annotations

import json
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance, response_schema_conformance, status_code_conformance)

from support.api import ADMIN, DEMO  # noqa: E402
from mockserver.app import create_app  # noqa: E402
from mockserver.settings import Settings  # noqa: E402
from mockserver.fixtures import default_fixture  # noqa: E402
from mockserver.resources import resource_path  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"

# The default sandbox plus the benchmark fixtures (published algorithms bound to a no-op).
BENCH_FIXTURES = resource_path("fixtures", "default.yaml").parents[1] / "benchmarks" / "fixtures.yaml"
APP = create_app(Settings(profile_scale=0.0, seed=99, log_level="warning",
                          fixtures=[str(default_fixture())] + ([str(BENCH_FIXTURES)] if BENCH_FIXTURES.exists() else [])))
MOCK = APP.extensions["mockserver"]
schema = schemathesis.openapi.from_wsgi("/v1/openapispec", APP)
SEEN: dict[str, int] = {}          # operation label -> responses checked
STARTED: set[str] = set()          # operation labels whose examples ran in this process
STATUSES: dict[str, set[int]] = {}  # operation label -> statuses seen


def _body(response):
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def no_server_error(ctx, response, case):
    """No 5xx, 501 included: every operation is implemented."""
    SEEN[case.operation.label] = SEEN.get(case.operation.label, 0) + 1
    assert response.status_code < 500, (
        f"{case.operation.label} answered {response.status_code}: {response.content[:500]!r}")
    return True


def error_object(ctx, response, case):
    """Every 4xx/5xx body is an Algorithmia error object with a message."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return True
    body = _body(response)
    assert isinstance(body, dict) and set(body) == {"error"}, (
        f"{case.operation.label} {response.status_code}: not an error object: {response.content[:300]!r}")
    err = body["error"]
    if isinstance(err, str) and case.method.upper() == "GET" and response.status_code == 404:
        assert err == "No such algorithm", body           # the service's exact body (CLIENTS.md)
        return True
    assert isinstance(err, dict) and isinstance(err.get("message"), str) and err["message"], body
    return True


# Names that exist in the fixtures: half of the examples use them, so the fuzzer gets past
# 404 into the handlers (bodies, queries and the other parameters stay generated).
KNOWN = {"username": "demo", "owner": "demo", "org_name": "acme", "scm_id": "github",
         "algoname": "BenchGet", "version": "0.1.0", "connector": "data", "data_path": ".my"}

CHECKS = [no_server_error, error_object, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _key_for(case) -> str:
    op = MOCK.spec.operations.get(case.operation.definition.raw.get("operationId", ""))
    return ADMIN if op is not None and op.access == "admin" else DEMO


@schema.given(known=st.booleans())
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_spec(case, known):
    STARTED.add(case.operation.label)
    MOCK.reset()           # every example starts from the loaded fixtures
    if known and case.path_parameters:
        case.path_parameters = {k: KNOWN.get(k, v) for k, v in case.path_parameters.items()}
    # The real key, over any generated one: fuzzed keys would only ever reach the 401 path
    # (tests/unit/test_auth.py and tests/http cover that); valid ones reach the handlers.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers["Authorization"] = f"Simple {_key_for(case)}"
    response = case.call_and_validate(checks=CHECKS)
    STATUSES.setdefault(case.operation.label, set()).add(response.status_code)


@pytest.fixture(scope="module", autouse=True)
def fuzzing_reached_the_operations():
    """After this module's tests, in whatever order they ran: the fuzz test really checked responses
    of (nearly) every operation whose examples ran in this process (all of them in one process; a
    pytest-xdist worker's share otherwise). A test of its own would depend on running after it."""
    yield
    missing = STARTED - set(SEEN)
    assert len(missing) <= 3, f"operations never checked: {sorted(missing)}"
    if os.environ.get("FUZZ_REPORT"):
        for label, codes in sorted(STATUSES.items()):
            print(f"{label}: {sorted(codes)}")


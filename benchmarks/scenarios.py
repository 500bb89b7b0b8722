"""The routes under load, and the servers each is measured on.

The route list is data: a scenario whose probe answers 501 (not emulated yet) or fails its
set-up is skipped with the reason, and measured as soon as its feature lands.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field

from servers import http_call

ADMIN = "simAdminSandboxKey000000000"
DEMO = "simDemoSandboxKey0000000000"
KiB, MiB = 1024, 1024 * 1024
BIG, SMALL = 100_000, 100            # synthetic users of mock-100k and of the other mocks

# Server roles. The baseline for "vs bare Flask" is the faster of the two bare servers per route.
MOCK, MOCK_QUIET, MOCK_100K = "mock", "mock-quiet", "mock-100k"
BARE = ("bare-waitress", "bare-gunicorn")
PRISM, PRISM_QUIET = "prism", "prism-quiet"
# Issue 31's pairings: (mock, Prism, what): logging at info vs Prism's default; warning vs -v error.
PAIRINGS = ((MOCK, PRISM, "info vs Prism default"), (MOCK_QUIET, PRISM_QUIET, "warning vs prism -v error"))

ALGO_SETTINGS = {"language": "python3-1", "source_visibility": "open", "license": "apl",
                 "network_access": "isolated", "pipeline_enabled": False, "environment": "cpu"}


@dataclass
class Scenario:
    key: str
    title: str
    method: str
    path: str
    key_header: str | None = DEMO
    body: bytes | None = None
    content_type: str | None = None
    unique: bool = False              # body/path has __UNIQ__, replaced per request
    fallbacks: list[str] = field(default_factory=list)   # other paths to try when one answers 501
    setup: list[tuple[str, str, bytes | None, str | None]] = field(default_factory=list)
    servers: tuple[str, ...] = (MOCK, *BARE, PRISM)
    paired: bool = False              # issue 31's routes: also mock-quiet and prism-quiet
    extended: bool = False            # measured with --extended only
    connections: int | None = None
    prism_path: str | None = None     # Prism's {data_path} matches one segment only
    # "response": the work is the bytes of a big answer. Prism answers its spec example
    # instead of the file, so req/s would compare unequal work: compare bytes/s.
    compare_by: str = "requests"

    def path_for(self, role: str) -> str:
        return self.prism_path if role.startswith("prism") and self.prism_path else self.path

    def roles(self) -> tuple[str, ...]:
        return self.servers + ((MOCK_QUIET, PRISM_QUIET) if self.paired else ())

    def headers(self) -> dict[str, str]:
        h = {}
        if self.key_header:
            h["Authorization"] = f"Simple {self.key_header}"
        if self.content_type:
            h["Content-Type"] = self.content_type
        return h


def scenarios() -> list[Scenario]:
    create_body = json.dumps({"name": "B__UNIQ__", "details": {"label": "bench"}, "settings": ALGO_SETTINGS}).encode()
    small, big = os.urandom(KiB), os.urandom(5 * MiB)
    mkdir = [("POST", "/v1/data/.my", b'{"name":"bench"}', "application/json")]
    return [
        Scenario("get_algorithm", "GET algorithm (auth + validated)", "GET", "/v1/algorithms/demo/BenchGet",
                 fallbacks=["/v1/users/demo", "/v1/scms"], paired=True),
        Scenario("create_algorithm", "POST create algorithm (validated body)", "POST", "/v1/algorithms/demo",
                 body=create_body, content_type="application/json", unique=True, paired=True),
        # A JSON string input: Prism validates the */* string schema against the parsed JSON.
        Scenario("invoke_inprocess", "invoke no-op (in-process)", "POST", "/v1/algo/demo/NoopInprocess",
                 body=b'"hello"', content_type="application/json", paired=True),
        Scenario("invoke_process", "invoke no-op (worker process)", "POST", "/v1/algo/demo/NoopProcess",
                 body=b'"hello"', content_type="application/json", paired=True),
        Scenario("data_put_1k", "data PUT 1 KiB", "PUT", "/v1/data/.my/bench/small.bin", body=small,
                 content_type="application/octet-stream", setup=mkdir, prism_path="/v1/data/small.bin", extended=True),
        Scenario("data_get_1k", "data GET 1 KiB", "GET", "/v1/data/.my/bench/small.bin",
                 setup=mkdir + [("PUT", "/v1/data/.my/bench/small.bin", small, "application/octet-stream")],
                 prism_path="/v1/data/small.bin", extended=True),
        Scenario("data_put_5m", "data PUT 5 MiB", "PUT", "/v1/data/.my/bench/big.bin", body=big,
                 content_type="application/octet-stream", setup=mkdir, connections=4, prism_path="/v1/data/big.bin",
                 extended=True),
        Scenario("data_get_5m", "data GET 5 MiB", "GET", "/v1/data/.my/bench/big.bin",
                 setup=mkdir + [("PUT", "/v1/data/.my/bench/big.bin", big, "application/octet-stream")], connections=4,
                 prism_path="/v1/data/big.bin", compare_by="response", extended=True),
        Scenario("list_users_100", f"list users, page of 50 of {SMALL}", "GET", "/v1/users?limit=50", key_header=ADMIN,
                 extended=True),
        Scenario("list_users_100k", f"list users, page of 50 of {BIG:,}", "GET", "/v1/users?limit=50", key_header=ADMIN,
                 servers=(MOCK_100K, *BARE, PRISM), extended=True),
    ]


def probe(port: int, sc: Scenario, role: str) -> tuple[str | None, str]:
    """The path to load (first non-501 of path + fallbacks) after the scenario's set-up, or None + why."""
    auth = {"Authorization": f"Simple {sc.key_header}"} if sc.key_header else {}
    for method, path, body, ctype in ([] if role.startswith(("prism", "bare")) else sc.setup):
        status, data = http_call(port, method, path, body, {**auth, **({"Content-Type": ctype} if ctype else {})})
        if status == 501:
            return None, f"set-up {method} {path} answers 501 (not emulated yet)"
    why = ""
    for path in [sc.path_for(role), *sc.fallbacks]:
        real = path.replace("__UNIQ__", "probe" + uuid.uuid4().hex[:6])
        body = sc.body.replace(b"__UNIQ__", b"probe" + uuid.uuid4().hex[:6].encode()) if sc.body else None
        status, data = http_call(port, sc.method, real, body, sc.headers())
        if status == 501:
            why = f"{sc.method} {path} answers 501 (not emulated yet)"
            continue
        if status >= 400:
            return None, f"{sc.method} {path} answers {status}: {data[:160].decode(errors='replace')}"
        return path, ""
    return None, why

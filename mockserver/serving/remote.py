"""The pytest plugin's remote mode: one sandbox on a shared, already running mock.

With ``--mockserver-url URL`` each test session (so each pytest-xdist worker) creates its
own sandbox (``POST /_mock/sandboxes``) and deletes it at the end. The ``mockserver``
fixture then does over the sandbox's control API what it does in-process otherwise.
Standard library HTTP only: the plugin adds no dependency.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import yaml

from mockserver.domain.bindings import binding_key, parse_binding_key
from mockserver.errors import ApiError, Kind
from mockserver.fixtures import FixtureError


class RemoteUnsupported(RuntimeError):
    """What only an in-process server can do (a Python callable, the MockServer object)."""


class RemoteSandbox:
    """A sandbox of the server at ``server_url``, created now; :meth:`stop` deletes it."""

    def __init__(self, server_url: str, control_key: str | None, *, fixtures: list[str] | None = None,
                 seed: int | None = None, clock: str | None = None, profile_scale: float | None = None,
                 name: str | None = None, timeout: float = 30.0):
        self.server_url = server_url.rstrip("/")
        self.control_key = control_key
        self.timeout = timeout
        body: dict[str, Any] = {"seed": seed, "clock": clock, "profile_scale": profile_scale, "name": name}
        if fixtures:
            body["fixtures"] = merged_fixtures(fixtures)
        created = self.call("POST", f"{self.server_url}/_mock/sandboxes",
                            {k: v for k, v in body.items() if v is not None})
        self.id: str = created["id"]
        self.url: str = created["base_url"]
        self.baseline_keys = self.keys()

    # ------------------------------------------------------------------ HTTP

    def headers(self, content_type: str = "application/json") -> dict[str, str]:
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.control_key:
            headers["X-Mock-Control-Key"] = self.control_key
        return headers

    def call(self, method: str, url: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json") -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers(content_type))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except urllib.error.URLError as exc:
            raise ConnectionError(f"algorithmia-mock at {self.server_url} is unreachable: {exc.reason}") from None
        return json.loads(payload) if payload else None

    def control(self, method: str, path: str, body: Any = None, **kw) -> Any:
        return self.call(method, f"{self.url}/_mock/{path}", body, **kw)

    def stop(self) -> None:
        try:
            self.call("DELETE", f"{self.server_url}/_mock/sandboxes/{self.id}")
        except (ApiError, ConnectionError):
            pass                        # already expired or the server is gone: nothing to free

    # ------------------------------------------------------------------ what the fixture needs

    def keys(self) -> list[dict[str, Any]]:
        return list((self.control("GET", "state") or {}).get("keys", {}).values())


def merged_fixtures(paths: list[str]) -> str:
    """Fixture files as one document (their lists concatenated): a sandbox takes one. Files
    are sent as text, so they may not reference other files (``path:``)."""
    merged: dict[str, Any] = {}
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for section, value in doc.items():
            if isinstance(value, list) and isinstance(merged.get(section), list):
                merged[section] = merged[section] + value
            else:
                merged[section] = value
    return json.dumps(merged)


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    """The error the remote mock answered, as the in-process handle raises it."""
    try:
        error = json.loads(exc.read()).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):         # the bare shape: {"error": "message"}
        error = {"message": str(error)}
    answered_kind = Kind(error.get("code"), exc.code)      # a kind outside the table: the remote's answer
    return ApiError(answered_kind, error.get("message") or f"HTTP {exc.code}")


class RemoteHandle:
    """What the ``mockserver`` fixture yields in remote mode: the in-process handle's API over HTTP."""

    remote = True

    def __init__(self, sandbox: RemoteSandbox, pick_keys: Callable):
        self._sandbox = sandbox
        self._pick_keys = pick_keys
        self.url: str = sandbox.url
        self.control_key: str | None = sandbox.control_key
        self.admin_key, self.api_key = pick_keys(None, sandbox.baseline_keys)
        self._journal_start = 0

    @property
    def control_headers(self) -> dict[str, str]:
        return self._sandbox.headers()

    @property
    def server(self):
        raise RemoteUnsupported("mockserver.server is the in-process MockServer; with --mockserver-url the "
                                "server runs elsewhere: use the control API ({url}/_mock/...) instead")

    def client(self, api_key: str | None = None):
        import Algorithmia
        return Algorithmia.client(api_key or self.api_key, self.url)

    def bind(self, algorithm: str, target: "Callable | str", version: str | None = None) -> str:
        if not isinstance(target, str):
            raise RemoteUnsupported(
                "mockserver.bind() of a Python callable needs the in-process server: the mock at "
                f"{self._sandbox.server_url} cannot run code from this test process. Bind a 'package.module:function' "
                "target the server can import instead, or run without --mockserver-url")
        owner, name, version = parse_binding_key(algorithm, version)
        path = f"algorithms/{owner}/{name}" + (f"/versions/{version}" if version else "") + "/binding"
        self._sandbox.control("PUT", path, {"target": target})
        return binding_key(owner, name, version)

    def load_fixtures(self, path: str | os.PathLike) -> None:
        try:
            self._sandbox.control("POST", "fixtures", raw=Path(path).read_bytes(), content_type="application/x-yaml")
        except ApiError as exc:
            raise FixtureError(str(path), "(sent to the server)", exc.message) from None
        self.admin_key, self.api_key = self._pick_keys(None, self._sandbox.keys())

    def journal(self) -> list[dict[str, Any]]:
        return self._sandbox.call("GET", f"{self.url}/_mock/journal?since={self._journal_start}")["entries"]

    def fault(self, path: str, *, method: str = "*", status: int | None = None, code: int | None = None,
              message: str | None = None, delay_ms: int = 0, drop: bool = False, times: int | None = None,
              probability: float | None = None, seed: int | None = None) -> dict[str, Any]:
        body = {"method": method, "path": path, "status": status, "code": code, "message": message,
                "delay_ms": delay_ms, "drop": drop, "times": times, "probability": probability, "seed": seed}
        return self._sandbox.control("POST", "faults", {k: v for k, v in body.items() if v is not None})

    def faults(self) -> list[dict[str, Any]]:
        return self._sandbox.control("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._sandbox.control("DELETE", "faults")

    def reset(self) -> None:
        self._sandbox.control("POST", "reset")
        self._journal_start = self._sandbox.call("GET", f"{self.url}/_mock/journal?limit=1")["last"]
        self.admin_key, self.api_key = self._pick_keys(None, self._sandbox.baseline_keys)

    def __repr__(self) -> str:
        return f"<mockserver sandbox {self.url}>"

"""Who may reach the control plane (``/_mock``): the checks that run before any control handler.

The mock sits beside a browser on developer machines and on shared CI networks, and
its control API can replace the whole state. So, in this order:

1. **Host** must be a loopback name (``localhost``, ``*.localhost``), an IP address, or
   a configured public name (``--public-name``). A DNS-rebinding page reaches the mock
   under the attacker's own host name, which is none of these.
2. **Origin** (sent by browsers) must be the mock's own origin; ``Sec-Fetch-Site`` must
   not say cross-site or same-site. ``/_mock`` never answers CORS headers either.
3. **Content-Type** of a state-changing call (POST, PUT, PATCH, DELETE) must be
   ``application/json`` (fixtures: ``application/x-yaml``). Those are not "simple" types,
   so a cross-site form or ``fetch(..., {mode: "no-cors"})`` cannot send them.
4. **Control key**: when one is set, every operation but the ``control-public`` ones
   needs ``X-Mock-Control-Key`` or the dashboard's session cookie (an HMAC of the key).

Pure functions over the WSGI environ and settings; :func:`guard` raises ``ApiError``.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Iterable, Mapping

from mockserver.errors import INVALID_API_KEY, NOT_AUTHORIZED, REQUEST_INVALID, ApiError

CONTROL_PREFIX = "/_mock"
KEY_HEADER = "X-Mock-Control-Key"
SESSION_COOKIE = "mockserver_control"
MISSING_KEY = NOT_AUTHORIZED
WRONG_KEY = INVALID_API_KEY

JSON_TYPES = frozenset({"application/json"})
FIXTURE_TYPES = frozenset({"application/x-yaml", "application/yaml", "application/json"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def is_loopback_host(host: str | None) -> bool:
    """True for an interface only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(host_header: str) -> tuple[str, str | None]:
    """("name", "port" or None) of a Host header; IPv6 literals keep no brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    return (name, port) if sep and port.isdigit() else (host, None)


def host_allowed(host_header: str | None, public_names: Iterable[str]) -> bool:
    if not host_header:            # HTTP/1.0 without Host: not a browser, nothing to rebind
        return True
    name, _port = split_host(host_header)
    if is_loopback_host(name):
        return True
    try:
        ipaddress.ip_address(name)     # an address literal cannot be rebound to another host
        return True
    except ValueError:
        pass
    return name in {n.strip().lower() for n in public_names if n.strip()}


def own_origin(scheme: str, host_header: str | None) -> str | None:
    if not host_header:
        return None
    name, port = split_host(host_header)
    name = f"[{name}]" if ":" in name else name
    if port and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{name}:{port}"
    return f"{scheme}://{name}"


def origin_allowed(origin: str | None, fetch_site: str | None, scheme: str, host_header: str | None) -> bool:
    if origin is not None:
        scheme_given, sep, rest = origin.strip().lower().partition("://")
        if not sep:
            return False                    # "null" (sandboxed frames, file://) or garbage
        return own_origin(scheme_given, rest.rstrip("/")) == own_origin(scheme, host_header)
    return (fetch_site or "").lower() not in ("cross-site", "same-site")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def session_token(control_key: str) -> str:
    """The dashboard cookie: an HMAC of the key, so the cookie never holds the key itself."""
    return hmac.new(control_key.encode("utf-8"), b"algorithmia-mock dashboard session", hashlib.sha256).hexdigest()


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def key_authorized(control_key: str | None, header: str | None, cookie: str | None) -> bool:
    if control_key is None:
        return True
    return same_secret(header, control_key) or same_secret(cookie, session_token(control_key))


def check_site(environ: Mapping, public_names: Iterable[str], what: str, cross_origin: str) -> None:
    """Checks 1 and 2: a Host that cannot be a rebound name, and the mock's own origin (ApiError 403)."""
    host = environ.get("HTTP_HOST")
    if not host_allowed(host, public_names):
        name, _ = split_host(host)
        raise ApiError(REQUEST_INVALID, f"Host {name!r} may not reach {what}: use a loopback name or "
                       "an IP address, or add the name with --public-name (MOCKSERVER_PUBLIC_NAMES)", 403)
    if not origin_allowed(environ.get("HTTP_ORIGIN"), environ.get("HTTP_SEC_FETCH_SITE"),
                          environ.get("wsgi.url_scheme", "http"), host):
        raise ApiError(NOT_AUTHORIZED, f"{what[0].upper()}{what[1:]} answers only its own origin: {cross_origin}", 403)


def guard(environ: Mapping, *, control_key: str | None, public_names: Iterable[str],
          operation_id: str | None, public: bool, cookies: Mapping[str, str]) -> bool:
    """Refuse a /_mock request that may not reach the control plane (ApiError); else return
    whether the caller holds the control key (True when none is set)."""
    check_site(environ, public_names, "the control API",
               "cross-origin requests to /_mock are refused (the Algorithmia API under /v1 allows CORS)")
    method = environ.get("REQUEST_METHOD", "GET")
    if method in _STATE_CHANGING and operation_id is not None:
        allowed = FIXTURE_TYPES if operation_id == "applyFixtures" else JSON_TYPES
        if media_type(environ.get("CONTENT_TYPE")) not in allowed:
            raise ApiError(REQUEST_INVALID, f"{method} {environ.get('PATH_INFO')} needs Content-Type: "
                           f"{' or '.join(sorted(allowed))}", 415)
    authorized = key_authorized(control_key, environ.get("HTTP_X_MOCK_CONTROL_KEY"), cookies.get(SESSION_COOKIE))
    if not authorized and not public:
        if environ.get("HTTP_X_MOCK_CONTROL_KEY"):
            raise ApiError(WRONG_KEY, f"Wrong control key in {KEY_HEADER}", 401)
        raise ApiError(MISSING_KEY, f"This server requires its control key: send {KEY_HEADER}: KEY "
                       "(printed at start-up, or set with --control-key / MOCKSERVER_CONTROL_KEY)", 401)
    return authorized

"""Where a request comes from: the Host and Origin checks that the control plane (``/_mock``)
and git (``/git``) both make, and the path tests every web layer shares.

A DNS-rebinding page reaches the mock under the attacker's own host name, so only loopback
names, IP literals and configured public names may reach those planes; a browser page of
another origin is refused by its ``Origin`` (or ``Sec-Fetch-Site``).
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Iterable, Mapping

from mockserver.errors import CROSS_ORIGIN_REFUSED, HOST_REFUSED, ApiError

CONTROL_PREFIX = "/_mock"
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


def is_mock_own_path(path: str) -> bool:
    """The control plane and the dashboard's own asset requests (a browser's favicon):
    not part of the API call sequence, so left out of the journal and the API's request ids."""
    return path.startswith(CONTROL_PREFIX) or path == "/favicon.ico"


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_site(environ: Mapping, public_names: Iterable[str], what: str, cross_origin: str) -> None:
    """Checks 1 and 2: a Host that cannot be a rebound name, and the mock's own origin (ApiError 403)."""
    host = environ.get("HTTP_HOST")
    if not host_allowed(host, public_names):
        name, _ = split_host(host)
        raise ApiError(HOST_REFUSED, f"Host {name!r} may not reach {what}: use a loopback name or "
                       "an IP address, or add the name with --public-name (MOCKSERVER_PUBLIC_NAMES)")
    if not origin_allowed(environ.get("HTTP_ORIGIN"), environ.get("HTTP_SEC_FETCH_SITE"),
                          environ.get("wsgi.url_scheme", "http"), host):
        raise ApiError(CROSS_ORIGIN_REFUSED, f"{what[0].upper()}{what[1:]} answers only its own origin: {cross_origin}")

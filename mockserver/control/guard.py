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
   so a cross-site form or ``fetch(..., {mode: "no-cors"})`` cannot send them. A call with
   no body, no Content-Type, no ``Origin`` and no ``Sec-Fetch-Site`` (``curl -X POST
   .../_mock/reset``, CI scripts) needs none: browsers send ``Origin`` with every such call
   (``Sec-Fetch-Site`` too, since 2020), and a form, even an empty one, sends a Content-Type.
4. **Control key**: when one is set, every operation but the ``control-public`` ones
   needs ``X-Mock-Control-Key`` or the dashboard's session cookie (an HMAC of the key).

Pure functions over the WSGI environ and settings; :func:`guard` raises ``ApiError``.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Iterable, Mapping

from mockserver.errors import CONTENT_TYPE_REQUIRED, CONTROL_KEY_REQUIRED, WRONG_CONTROL_KEY, ApiError
from mockserver.web.site import check_site, media_type, same_secret

KEY_HEADER = "X-Mock-Control-Key"
SESSION_COOKIE = "mockserver_control"

JSON_TYPES = frozenset({"application/json"})
FIXTURE_TYPES = frozenset({"application/x-yaml", "application/yaml", "application/json"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_token(control_key: str) -> str:
    """The dashboard cookie: an HMAC of the key, so the cookie never holds the key itself."""
    return hmac.new(control_key.encode("utf-8"), b"algorithmia-mock dashboard session", hashlib.sha256).hexdigest()


def key_authorized(control_key: str | None, header: str | None, cookie: str | None) -> bool:
    if control_key is None:
        return True
    return same_secret(header, control_key) or same_secret(cookie, session_token(control_key))


def has_body(environ: Mapping) -> bool:
    """A request body is announced (chunked, or a Content-Length that is not 0)."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        return True
    length = (environ.get("CONTENT_LENGTH") or "0").strip()
    return length != "0" and (not length.isdigit() or int(length) > 0)


def bare_script_call(environ: Mapping) -> bool:
    """No body and none of the headers a browser sends with a state-changing call (check 3)."""
    return not (has_body(environ) or environ.get("CONTENT_TYPE") or environ.get("HTTP_ORIGIN") is not None
                or environ.get("HTTP_SEC_FETCH_SITE") is not None)


def guard(environ: Mapping, *, control_key: str | None, public_names: Iterable[str],
          operation_id: str | None, public: bool, cookies: Mapping[str, str]) -> bool:
    """Refuse a /_mock request that may not reach the control plane (ApiError); else return
    whether the caller holds the control key (True when none is set)."""
    check_site(environ, public_names, "the control API",
               "cross-origin requests to /_mock are refused (the Algorithmia API under /v1 allows CORS)")
    method = environ.get("REQUEST_METHOD", "GET")
    if method in _STATE_CHANGING and operation_id is not None and not bare_script_call(environ):
        allowed = FIXTURE_TYPES if operation_id == "applyFixtures" else JSON_TYPES
        if media_type(environ.get("CONTENT_TYPE")) not in allowed:
            raise ApiError(CONTENT_TYPE_REQUIRED, f"{method} {environ.get('PATH_INFO')} needs Content-Type: "
                           f"{' or '.join(sorted(allowed))} (a call with no body needs none when it "
                           "carries no Content-Type, Origin or Sec-Fetch-Site header)")
    authorized = key_authorized(control_key, environ.get("HTTP_X_MOCK_CONTROL_KEY"), cookies.get(SESSION_COOKIE))
    if not authorized and not public:
        if environ.get("HTTP_X_MOCK_CONTROL_KEY"):
            raise ApiError(WRONG_CONTROL_KEY, f"Wrong control key in {KEY_HEADER}")
        raise ApiError(CONTROL_KEY_REQUIRED, f"This server requires its control key: send {KEY_HEADER}: KEY "
                       "(printed at start-up, or set with --control-key / MOCKSERVER_CONTROL_KEY)")
    return authorized

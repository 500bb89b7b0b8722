"""The one error type of the mock, and how it looks on the wire.

Every failure, from the spec gate to the runtime, is an ``ApiError``. The
renderer produces the Algorithmia error object ``{"error": {...}}``. The few
places where the real service answers another shape are options of this type
(``shape``), not separate handlers.
"""
from __future__ import annotations

import uuid
from typing import Any, NamedTuple


class Kind(NamedTuple):
    """What went wrong: the Algorithmia code on the wire and the HTTP status it answers with.

    Every error names a kind from this module, so the status follows from the kind in one
    place. Where the seeds give one code several meanings (6001 "The request is invalid" for a
    missing file, a conflict, a body too large), each meaning is its own kind."""
    code: int | None
    status: int

# Default HTTP status per Algorithmia error code (seed 002, "Errors").
_STATUS_BY_CODE = {
    1000: 404, 1001: 404, 1002: 409, 1007: 400, 1008: 400, 1009: 404,
    2001: 403, 2002: 401, 2012: 400, 2013: 400, 2015: 400,
    3000: 404, 3001: 400, 3003: 409, 3004: 409, 3005: 400, 3007: 400,
    3008: 400, 3100: 404, 3101: 409, 3102: 400, 3103: 400,
    4001: 400, 4004: 400, 4008: 404, 4009: 404, 4011: 400, 4020: 400,
    4021: 400, 4040: 400, 4041: 400, 4042: 400, 4043: 409, 4044: 409,
    4045: 400, 4080: 400,
    5001: 500, 5002: 400, 5003: 400, 5004: 404, 5005: 501,
    6001: 400, 7000: 404,
}

# Codes the mock uses that the seeds' table names.
ALGORITHM_NOT_FOUND = 1000
ALGORITHM_NAME_NOT_FOUND = 1001
ALGORITHM_EXISTS = 1002
VERSION_ALREADY_PUBLISHED = 1007
ALGORITHM_ID_NOT_FOUND = 1009
NOT_AUTHORIZED = 2001
INVALID_API_KEY = 2002
INVALID_BUILD_STATUS = 2012
INVALID_JSON = 2013
INVALID_REQUEST = 2015
USER_NOT_FOUND = 3000
MALFORMED_USER = 3001
USERNAME_TAKEN = 3003
EMAIL_TAKEN = 3004
MISSING_FIELDS = 3005
USERNAME_MISMATCH = 3007
EMAIL_CHANGE = 3008
ORG_NOT_FOUND = 3100
ORG_EXISTS = 3101
LAST_OWNER = 3102
MALFORMED_ORG = 3103
ORG_USER_RESERVATION_FAILED = 3104
UNKNOWN_LANGUAGE = 4001
UNSUPPORTED_MACHINE = 4004
SCM_NOT_FOUND = 4009
SCM_INVALID = 4020
SCM_MALFORMED_UPDATE = 4021
SCM_DELETE_FAILED = 4040
SCM_DEFAULT = 4041
SCM_DISABLED = 4042
SCM_IN_USE = 4043
SCM_DUPLICATE = 4044
SCM_UPDATE_FAILED = 4045
INTERNAL = 5001
INVALID_MARKER = 5002
INVALID_LIMIT = 5003
NOT_FOUND = 5004
REQUEST_INVALID = 6001
REQUEST_ID_NOT_FOUND = 7000

# Kinds: what went wrong, with its code and HTTP status.
TOO_MANY_CALLS = Kind(None, 429)               # a call refused: its key, its algorithm's queue or the server is full
TOO_MANY_CHECKS = Kind(REQUEST_INVALID, 429)   # a binding check refused: the server's pool of checks is full
TOO_MANY_BUILDS = Kind(REQUEST_INVALID, 429)   # a compile or push refused: the server's pool of builds is full
INVALID_INPUT = Kind(INVALID_JSON, 400)        # an algorithm call's body does not decode for its Content-Type
SHUTTING_DOWN = Kind(INTERNAL, 503)            # the invocation engine has been shut down
CODE_GONE = Kind(None, 409)                    # a build's commit is no longer in its repository (invocation shape)
CANNOT_EXECUTE = Kind(None, 400)               # the algorithm's language cannot run in the mock (invocation shape)
# settings.algorithm_environment names no listed environment, or disagrees with language/environment.
UNKNOWN_ALGORITHM_ENVIRONMENT = Kind(INVALID_REQUEST, 400)
# Multipart algorithm input the platform cannot hand to apply(): a part without a name or a valid
# Content-Type, a part that does not decode, too many parts, a malformed body.
INVALID_MULTIPART_INPUT = Kind(INVALID_REQUEST, 400)
DROPPED_BY_FAULT = Kind(INTERNAL, 502)            # the (never complete) answer of an injected drop
CONTENT_TYPE_REQUIRED = Kind(REQUEST_INVALID, 415)  # a control request body of a type it does not take

# Kinds of the git server and its storage. /git answers plain text, as git prints it: no code.
GIT_AUTH_REQUIRED = Kind(None, 401)      # no or an unknown key: git asks for credentials
GIT_FORBIDDEN = Kind(None, 403)          # a known caller who may not clone or push this repository
GIT_NOT_FOUND = Kind(None, 404)          # no such (or no visible) repository, or not the smart protocol
GIT_UNKNOWN_SERVICE = Kind(None, 403)
GIT_BODY_TOO_LARGE = Kind(None, 413)     # a pushed pack over the request body limit
GIT_BAD_REQUEST = Kind(None, 400)        # a git request that does not parse
GIT_WRONG_CONTENT_TYPE = Kind(None, 403)  # as dulwich (and git http-backend) answer it
# Storage on disk (large blobs, checkouts): past its budget.
GIT_STORAGE_FULL = Kind(REQUEST_INVALID, 507)
CHECKOUT_CACHE_FULL = Kind(REQUEST_INVALID, 507)
# A stored commit that cannot be checked out (a tree too deep, a path too long, an object
# missing: only a state imported through PUT /_mock/state can hold one).
REPOSITORY_UNUSABLE = Kind(REQUEST_INVALID, 409)
# As root: no worker uid is free for a new commit (none of a gone checkout could be recycled yet).
NO_WORKER_UID = Kind(REQUEST_INVALID, 503)


class ApiError(Exception):
    """An Algorithmia API error.

    ``shape`` selects the wire form:
    - ``"standard"``: ``{"error": {"id", "code", "message", **extra}}`` (seed 002)
    - ``"invocation"``: ``{"error": {"message", "error_type", **extra}}``, as
      /v1/algo answers a failed call (no id/code, seed 004)
    - ``"bare"``: ``{"error": message}``, as the real service answers a GET of a
      missing algorithm (``{"error":"No such algorithm"}``)
    """

    def __init__(self, code: "Kind | int | None", message: str, status: int | None = None,
                 *, shape: str = "standard", headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(message)
        if isinstance(code, Kind):      # the one way new code raises: ApiError(KIND, message)
            code, status = code.code, code.status
        self.code = code
        self.message = message
        self.status = status or _STATUS_BY_CODE.get(code or 0, 400)
        self.shape = shape
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        if self.shape == "invocation":
            return {"error": {"message": self.message, **self.extra}}
        if self.shape == "bare":
            return {"error": self.message}
        return {"error": {"id": str(uuid.uuid4()), "code": self.code,
                          "message": self.message, **self.extra}}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"ApiError({self.code}, {self.message!r}, {self.status})"


def not_authorized(what: str = "Caller is not authorized to perform the operation") -> ApiError:
    return ApiError(NOT_AUTHORIZED, what, 403)

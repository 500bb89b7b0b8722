"""The one error type of the mock, the one table of its kinds, and how it looks on the wire.

Every failure, from the spec gate to the runtime, is an ``ApiError(KIND, message)``. ``KIND``
is a :class:`Kind` from the table below: what went wrong, with the Algorithmia code on the wire
(seed 002, :class:`Code`) and the HTTP status it answers with. No call site chooses a status;
``tests/unit/test_error_kinds.py`` refuses an ``ApiError`` that does not name a kind and any
literal status.

The body is rendered in one place (``app.py``'s error handlers, through ``web/jsonio``):
``{"error": {"id", "code", "message", ...}}`` (seed 002). The few answers of another shape are
chosen where the answer is rendered (``api/``), never in the domain: ``shape="invocation"``
(/v1/algo's failed calls, seed 004) and ``shape="bare"`` (``{"error":"No such algorithm"}``).
git's answers are plain text with the kind's status (``edge/git_http.py``).
"""
from __future__ import annotations

import uuid
from typing import Any


class Code:
    """The Algorithmia error codes the mock answers, as seed 002's table names them."""
    ALGORITHM_NOT_FOUND = 1000          # The requested algorithm was not found.
    ALGORITHM_NAME_NOT_FOUND = 1001     # An algorithm with the requested name does not exist.
    ALGORITHM_EXISTS = 1002             # An algorithm with the requested name already exists.
    VERSION_ALREADY_PUBLISHED = 1007    # Version already published. Please compile your algorithm.
    ALGORITHM_ID_NOT_FOUND = 1009       # An algorithm with the requested ID does not exist.
    NOT_AUTHORIZED = 2001               # Caller is not authorized to perform the operation.
    INVALID_API_KEY = 2002              # Unknown or invalid API key.
    INVALID_BUILD_STATUS = 2012         # Invalid build status.
    INVALID_JSON = 2013                 # Invalid JSON.
    INVALID_REQUEST = 2015              # Invalid request.
    USER_NOT_FOUND = 3000               # The requested user was not found.
    MALFORMED_USER = 3001               # Malformed user JSON in request.
    USERNAME_TAKEN = 3003               # The username is already taken.
    EMAIL_TAKEN = 3004                  # The email address is already taken by a different username.
    MISSING_FIELDS = 3005               # Not all required fields have been provided.
    USERNAME_MISMATCH = 3007            # The username in the request body does not match the path's.
    EMAIL_CHANGE = 3008                 # Updating the email of a user is not allowed.
    ORG_NOT_FOUND = 3100                # The requested organization was not found.
    ORG_EXISTS = 3101                   # An organization already exists with this name.
    LAST_OWNER = 3102                   # Unable to remove the last owner of an organization.
    MALFORMED_ORG = 3103                # Malformed organization JSON in request.
    ORG_USER_RESERVATION_FAILED = 3104  # Failed to reserve an organization user while adding an organization.
    UNKNOWN_LANGUAGE = 4001             # The request algorithm language is not known.
    UNSUPPORTED_MACHINE = 4004          # The requested machine type is not supported.
    SCM_NOT_FOUND = 4009                # The SCM configuration was not found.
    SCM_INVALID = 4020                  # The provided SCM configuration is invalid.
    SCM_MALFORMED_UPDATE = 4021         # Malformed update SCM payload.
    SCM_DELETE_FAILED = 4040            # Unable to delete SCM configuration.
    SCM_DEFAULT = 4041                  # Unable to perform specified action on the default SCM.
    SCM_DISABLED = 4042                 # Unable to perform specified action on a disabled SCM.
    SCM_IN_USE = 4043                   # Unable to delete SCM configuration in use.
    SCM_DUPLICATE = 4044                # Duplicate SCM exists that has the same id or matches ...
    SCM_UPDATE_FAILED = 4045            # Unable to modify the referenced SCM configuration.
    INTERNAL = 5001                     # There was an internal error.
    INVALID_MARKER = 5002               # Invalid marker used.
    INVALID_LIMIT = 5003                # Limit must be between 1 and the system-configured page size limit.
    NOT_FOUND = 5004                    # Requested configuration entry could not be found.
    REQUEST_INVALID = 6001              # The request is invalid.


class Kind:
    """What went wrong: the Algorithmia code on the wire and the HTTP status it answers with.

    Kinds are compared by identity: two kinds may share a code and a status and still mean
    different things (6001 is a missing file, a conflict, a body too large...). ``code`` None:
    the answer carries no code (the invocation shape, git's plain text); the table says which."""
    __slots__ = ("code", "status", "name")

    def __init__(self, code: int | None, status: int):
        self.code = code
        self.status = status
        self.name = ""          # the table's name for it (set below); "" for a kind made elsewhere

    def __repr__(self) -> str:
        return f"Kind({self.name or '?'}: {self.code}, {self.status})"


C = Code

# -- the table: every kind of error the mock answers -------------------------------------------
# Algorithms, builds, versions (1xxx)
ALGORITHM_NOT_FOUND = Kind(C.ALGORITHM_NOT_FOUND, 404)     # no such algorithm, or one the caller may not see
BUILD_NOT_FOUND = Kind(C.ALGORITHM_NOT_FOUND, 404)         # no such build of an algorithm
BUILD_LOGS_NOT_READY = Kind(C.ALGORITHM_NOT_FOUND, 404)    # a build's logs, asked before the build finished
NOTHING_TO_BUILD = Kind(C.ALGORITHM_NOT_FOUND, 404)        # no commit on the default branch to build
NO_BINDING = Kind(C.ALGORITHM_NOT_FOUND, 404)              # an algorithm version bound to no code
VERSION_NOT_FOUND = Kind(C.ALGORITHM_NAME_NOT_FOUND, 404)  # no such version of an algorithm
ALGORITHM_EXISTS = Kind(C.ALGORITHM_EXISTS, 409)
VERSION_ALREADY_PUBLISHED = Kind(C.VERSION_ALREADY_PUBLISHED, 400)
ALGORITHM_ID_NOT_FOUND = Kind(C.ALGORITHM_ID_NOT_FOUND, 404)

# Callers and keys (2001, 2002)
NOT_AUTHORIZED = Kind(C.NOT_AUTHORIZED, 403)           # a known caller who may not do this
AUTHORIZATION_REQUIRED = Kind(C.NOT_AUTHORIZED, 401)   # no API key sent to an operation that needs one
BINDING_NOT_ALLOWED = Kind(C.NOT_AUTHORIZED, 403)      # a binding to code outside the allowed folders/modules
CROSS_ORIGIN_REFUSED = Kind(C.NOT_AUTHORIZED, 403)     # the control plane or git asked from another origin
CONTROL_KEY_REQUIRED = Kind(C.NOT_AUTHORIZED, 401)     # /_mock without the server's control key
INVALID_API_KEY = Kind(C.INVALID_API_KEY, 401)         # an unknown API key
WRONG_CONTROL_KEY = Kind(C.INVALID_API_KEY, 401)       # a control key that is not the server's

# Bodies and fields (2012-2015)
INVALID_BUILD_STATUS = Kind(C.INVALID_BUILD_STATUS, 400)  # nothing (or not the latest build) to publish
BUILD_FAILED = Kind(C.INVALID_BUILD_STATUS, 400)          # a call of a version whose build failed
BUILD_NOT_FINISHED = Kind(C.INVALID_BUILD_STATUS, 409)    # a call of a version whose build still runs
INVALID_JSON = Kind(C.INVALID_JSON, 400)                  # a request body that is not JSON
INVALID_INPUT = Kind(C.INVALID_JSON, 400)                 # an algorithm call's body does not decode for its Content-Type
INVALID_REQUEST = Kind(C.INVALID_REQUEST, 400)            # a field of an algorithm, version or secret breaks a rule
SECRET_EXISTS = Kind(C.INVALID_REQUEST, 409)              # a secret's name or key taken on its algorithm
# settings.algorithm_environment names no listed environment, or disagrees with language/environment.
UNKNOWN_ALGORITHM_ENVIRONMENT = Kind(C.INVALID_REQUEST, 400)
# Multipart algorithm input the platform cannot hand to apply(): a part without a name or a valid
# Content-Type, a part that does not decode, too many parts, a malformed body.
INVALID_MULTIPART_INPUT = Kind(C.INVALID_REQUEST, 400)

# Users and organizations (3xxx)
USER_NOT_FOUND = Kind(C.USER_NOT_FOUND, 404)
MEMBER_NOT_FOUND = Kind(C.USER_NOT_FOUND, 404)         # a user who is not a member of the organization
MALFORMED_USER = Kind(C.MALFORMED_USER, 400)
USERNAME_TAKEN = Kind(C.USERNAME_TAKEN, 409)
EMAIL_TAKEN = Kind(C.EMAIL_TAKEN, 409)
MISSING_FIELDS = Kind(C.MISSING_FIELDS, 400)
USERNAME_MISMATCH = Kind(C.USERNAME_MISMATCH, 400)
EMAIL_CHANGE = Kind(C.EMAIL_CHANGE, 400)
ORG_NOT_FOUND = Kind(C.ORG_NOT_FOUND, 404)
ORG_EXISTS = Kind(C.ORG_EXISTS, 409)
LAST_OWNER = Kind(C.LAST_OWNER, 400)
MALFORMED_ORG = Kind(C.MALFORMED_ORG, 400)
ORG_USER_RESERVATION_FAILED = Kind(C.ORG_USER_RESERVATION_FAILED, 409)   # the org's name is a user's

# Languages, machines, SCMs (4xxx)
UNKNOWN_LANGUAGE = Kind(C.UNKNOWN_LANGUAGE, 400)
UNSUPPORTED_MACHINE = Kind(C.UNSUPPORTED_MACHINE, 400)
SCM_NOT_FOUND = Kind(C.SCM_NOT_FOUND, 404)
SCM_INVALID = Kind(C.SCM_INVALID, 400)
SCM_MALFORMED_UPDATE = Kind(C.SCM_MALFORMED_UPDATE, 400)
SCM_DELETE_FAILED = Kind(C.SCM_DELETE_FAILED, 400)
SCM_DEFAULT = Kind(C.SCM_DEFAULT, 400)
SCM_DISABLED = Kind(C.SCM_DISABLED, 400)
SCM_IN_USE = Kind(C.SCM_IN_USE, 409)
SCM_DUPLICATE = Kind(C.SCM_DUPLICATE, 409)
SCM_UPDATE_FAILED = Kind(C.SCM_UPDATE_FAILED, 400)

# The server (5xxx)
INTERNAL = Kind(C.INTERNAL, 500)                       # a bug: the server log has the traceback
SHUTTING_DOWN = Kind(C.INTERNAL, 503)                  # the invocation engine has been shut down
DROPPED_BY_FAULT = Kind(C.INTERNAL, 502)               # the (never complete) answer of an injected drop
INVALID_MARKER = Kind(C.INVALID_MARKER, 400)
INVALID_LIMIT = Kind(C.INVALID_LIMIT, 400)
ENVIRONMENT_NOT_FOUND = Kind(C.NOT_FOUND, 404)         # no such environment specification
SECRET_NOT_FOUND = Kind(C.NOT_FOUND, 404)              # no such secret on the algorithm
SANDBOX_NOT_FOUND = Kind(C.NOT_FOUND, 404)             # no such (or an expired, or a deleted) sandbox
SANDBOXES_AT_ROOT_ONLY = Kind(C.NOT_FOUND, 404)        # /_mock/sandboxes asked inside a sandbox

# The request itself, and the mock's own limits (6001: "The request is invalid")
REQUEST_INVALID = Kind(C.REQUEST_INVALID, 400)         # a request the mock's own checks refuse
NO_SUCH_ROUTE = Kind(C.REQUEST_INVALID, 404)
METHOD_NOT_ALLOWED = Kind(C.REQUEST_INVALID, 405)
BODY_CUT_OFF = Kind(C.REQUEST_INVALID, 400)            # the request body broke off
BODY_TIMED_OUT = Kind(C.REQUEST_INVALID, 408)          # the request body stopped arriving
BODY_TOO_LARGE = Kind(C.REQUEST_INVALID, 413)          # a body over the route's limit
CONTENT_TYPE_REQUIRED = Kind(C.REQUEST_INVALID, 415)   # a control request body of a type it does not take
HOST_REFUSED = Kind(C.REQUEST_INVALID, 403)            # a Host that may be a rebound name (the control plane, git)
DATA_NOT_FOUND = Kind(C.REQUEST_INVALID, 404)          # no such file, directory or collection
DATA_CONFLICT = Kind(C.REQUEST_INVALID, 409)           # a data path that exists as something else
DIRECTORY_NOT_EMPTY = Kind(C.REQUEST_INVALID, 409)     # a directory deleted without force=true
CONNECTOR_NOT_FOUND = Kind(C.REQUEST_INVALID, 404)     # an unknown or unconfigured data connector
FAULT_NOT_FOUND = Kind(C.REQUEST_INVALID, 404)         # no such active injected fault
DROP_NEEDS_A_SOCKET = Kind(C.REQUEST_INVALID, 502)     # an injected drop on a server that exposes no socket
TOO_MANY_SANDBOXES = Kind(C.REQUEST_INVALID, 429)      # the server keeps --sandbox-max sandboxes
SANDBOX_MEMORY_FULL = Kind(C.REQUEST_INVALID, 507)     # the server is past --sandbox-memory-mb
STATE_MEMORY_FULL = Kind(C.REQUEST_INVALID, 507)       # the server is past --state-memory-mb: no write stored
TOO_MANY_CHECKS = Kind(C.REQUEST_INVALID, 429)         # the server's pool of binding checks is full
TOO_MANY_BUILDS = Kind(C.REQUEST_INVALID, 429)         # the server's pool of builds (push, compile) is full
# Storage on disk (large blobs, checkouts): past its budget.
GIT_STORAGE_FULL = Kind(C.REQUEST_INVALID, 507)
CHECKOUT_CACHE_FULL = Kind(C.REQUEST_INVALID, 507)
# A stored commit that cannot be checked out (a tree too deep, a path too long, an object
# missing: only a state imported through PUT /_mock/state can hold one).
REPOSITORY_UNUSABLE = Kind(C.REQUEST_INVALID, 409)
# As root: no worker uid is free for a new commit (none of a gone checkout could be recycled yet).
NO_WORKER_UID = Kind(C.REQUEST_INVALID, 503)

# A call of /v1/algo that did not run: the invocation shape (seed 004), which has no code.
TOO_MANY_CALLS = Kind(None, 429)        # its key, its algorithm's queue or the server is full
CODE_GONE = Kind(None, 409)             # a build's commit is no longer in its repository
CANNOT_EXECUTE = Kind(None, 400)        # the algorithm's language cannot run in the mock

# The git server (/git): plain text as git prints it, no code.
GIT_AUTH_REQUIRED = Kind(None, 401)     # no or an unknown key: git asks for credentials
GIT_FORBIDDEN = Kind(None, 403)         # a known caller who may not clone or push this repository
GIT_NOT_FOUND = Kind(None, 404)         # no such (or no visible) repository, or not the smart protocol
GIT_UNKNOWN_SERVICE = Kind(None, 403)
GIT_BODY_TOO_LARGE = Kind(None, 413)    # a pushed pack or a fetch request over the request body limit
GIT_BAD_REQUEST = Kind(None, 400)       # a git request that does not parse
GIT_WRONG_CONTENT_TYPE = Kind(None, 403)  # as dulwich (and git http-backend) answer it
GIT_REQUEST_FAILED = Kind(None, 400)    # the git server failed (the server log says why)

del C

# Kinds made outside the table: the code and status are data there, not a rule of the mock. Only
# three places make one (tests/unit/test_error_kinds.py holds the list): an injected fault's
# (control/faults.py, as its author chose them), an error another mock answered (the pytest
# plugin against --mockserver-url, serving/remote.py) and an HTTP error werkzeug raised itself
# (app.py; none of the mock's routes raises one today).

KINDS: dict[str, Kind] = {name: value for name, value in globals().items() if isinstance(value, Kind)}
for _name, _kind in KINDS.items():
    _kind.name = _name
del _name, _kind


def kind_named(name: str) -> Kind:
    """The kind the table names ``name`` (the spec's ``x-mock-errors`` names kinds)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"no error kind {name!r} in mockserver/errors.py") from None


STANDARD, INVOCATION, BARE = "standard", "invocation", "bare"


class ApiError(Exception):
    """An Algorithmia API error: ``ApiError(KIND, message)``; the status follows from the kind.

    ``shape`` (chosen only where the answer is rendered, in ``api/``) selects the wire form:
    - ``"standard"``: ``{"error": {"id", "code", "message", **extra}}`` (seed 002)
    - ``"invocation"``: ``{"error": {"message", "error_type", **extra}}``, as
      /v1/algo answers a call that did not run (no id/code, seed 004)
    - ``"bare"``: ``{"error": message}``, as the real service answers a GET of a
      missing algorithm (``{"error":"No such algorithm"}``)
    ``headers`` go on the answer (``Retry-After``, ``Allow``, ...); ``extra`` into the error object.
    """

    def __init__(self, kind: Kind, message: str, *, shape: str = STANDARD,
                 headers: dict[str, str] | None = None, **extra: Any):
        if not isinstance(kind, Kind):
            raise TypeError(f"ApiError takes a Kind from mockserver/errors.py, not {kind!r}")
        if shape not in (STANDARD, INVOCATION, BARE):
            raise ValueError(f"unknown error shape {shape!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.shape = shape
        self.headers = headers or {}
        self.extra = extra

    @property
    def code(self) -> int | None:
        return self.kind.code

    @property
    def status(self) -> int:
        return self.kind.status

    def body(self) -> dict[str, Any]:
        if self.shape == INVOCATION:
            return {"error": {"message": self.message, **self.extra}}
        if self.shape == BARE:
            return {"error": self.message}
        return {"error": {"id": str(uuid.uuid4()), "code": self.kind.code,
                          "message": self.message, **self.extra}}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"ApiError({self.kind!r}, {self.message!r})"


def not_authorized(what: str = "Caller is not authorized to perform the operation") -> ApiError:
    return ApiError(NOT_AUTHORIZED, what)

"""POST /v1/algo/{owner}/{algoname}[/{version}]: call an algorithm."""
from __future__ import annotations

import base64
import json
import math
import time
from typing import Any

from flask import Response

from mockserver.web.disconnect import watch
from mockserver.domain import invocation
from mockserver.domain.refusals import CallRefused, CannotRun
from mockserver.errors import TOO_MANY_CALLS, ApiError
from mockserver.web.answer import Answer
from mockserver.web.jsonio import bytes_response, json_response
from mockserver.web.handlers import Handlers
from mockserver.api.common import base_url, read_body
from mockserver.runtime.calls import Outcome
from mockserver.runtime.errors import SYSTEM_ERROR

ops = Handlers()
COLD_START_HEADER = "X-Mock-Cold-Start"


@ops("invokeAlgorithm", "invokeAlgorithmVersion")
def invoke(inp):
    q, mock, req = inp.query, inp.mock, inp.request
    context, request_id, environ = mock.ctx, inp.request_id, req.environ
    try:
        call = invocation.prepare(context, inp.principal, inp.path["owner"], inp.path["algoname"],
                                  inp.path.get("version"), read_body(mock.settings.max_request_bytes, req),
                                  environ.get("CONTENT_TYPE"), timeout=q.get("timeout"),
                                  stdout=bool(q.get("stdout")), base_url=base_url(mock, environ))
        if q.get("output") == "void":
            invocation.run_in_background(context, call, request_id)
            return json_response({"async": True, "request_id": request_id})
        started = time.perf_counter()
        with watch.watching(environ) as cancelled:      # a client that goes away cancels its call
            outcome = invocation.run(context, call, request_id, cancelled=cancelled)
    except CallRefused as refused:
        raise _refusal(refused) from None
    except CannotRun as cannot:
        raise ApiError(cannot.kind, cannot.message, shape="invocation", error_type=SYSTEM_ERROR) from None
    mock.observe_invocation(call.algorithm, time.perf_counter() - started, outcome.error is None)
    response = _answer(call, outcome, request_id, q.get("output"))
    # Mock-only: whether this call started a worker (a cold start). The bodies stay the platform's.
    response.headers[COLD_START_HEADER] = "true" if outcome.cold else "false"
    return response


def _refusal(refused: CallRefused) -> ApiError:
    """A call that did not start: 429, the invocation error shape (seed 004), and when to retry."""
    return ApiError(TOO_MANY_CALLS, refused.message, shape="invocation", error_type=SYSTEM_ERROR,
                    headers={"Retry-After": str(max(1, math.ceil(refused.retry_after)))})


def _answer(call: invocation.Call, outcome: Outcome, request_id: str, output: str | None) -> Response | Answer:
    """The invocation's wire answer (seed 004): the result envelope, or the raw result for output=raw."""
    if outcome.error is not None:
        error = {"message": outcome.error.message or "algorithm error", "error_type": outcome.error.error_type}
        trace = outcome.error.stacktrace
        if trace and call.may_see_source:
            error["stacktrace"] = trace       # the docs' name
            error["stack_trace"] = trace      # the Python client's name
        body = {"async": False, "error": error, "metadata": _metadata(call, outcome, "void"), "request_id": request_id}
        # output=raw signals failure with HTTP 400 (seed 004); otherwise 200 + error.
        return json_response(body, 400 if output == "raw" else 200)
    if output == "raw":
        return _raw(outcome)
    result = outcome.result
    if outcome.content_type == "binary":
        result = base64.b64encode(bytes(result)).decode("ascii")
    return json_response({"async": False, "result": result,
                          "metadata": _metadata(call, outcome, outcome.content_type), "request_id": request_id})


def _metadata(call: invocation.Call, outcome: Outcome, content_type: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"content_type": content_type,
                            "duration": round(invocation.reported_duration(call, outcome), 6)}
    if outcome.stdout is not None:
        meta["stdout"] = outcome.stdout
    return meta


def _raw(outcome: Outcome) -> Response | Answer:
    if outcome.content_type == "binary":
        return bytes_response(bytes(outcome.result), "application/octet-stream")
    if outcome.content_type == "text":
        return bytes_response(str(outcome.result).encode("utf-8"), "text/plain; charset=utf-8")
    if outcome.content_type == "void":
        return bytes_response(b"", "text/plain; charset=utf-8")
    return bytes_response(json.dumps(outcome.result, separators=(",", ":")).encode("utf-8"), "application/json")

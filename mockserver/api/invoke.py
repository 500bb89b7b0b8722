"""POST /v1/algo/{owner}/{algoname}[/{version}]: call an algorithm."""
from __future__ import annotations

import time

from flask import Response, g, request

from mockserver.serving.disconnect import watch
from mockserver.domain import invocation
from mockserver.edge.jsonio import json_response
from mockserver.api import Handlers
from mockserver.api.common import base_url, caller, read_body, server

ops = Handlers()


@ops("invokeAlgorithm", "invokeAlgorithmVersion")
def invoke(inp):
    q, mock = inp.query, server()
    context, request_id = mock.ctx, g.request_id
    call = invocation.prepare(context, caller(), inp.path["owner"], inp.path["algoname"], inp.path.get("version"),
                              read_body(mock.settings.max_request_bytes),
                              request.environ.get("CONTENT_TYPE"), timeout=q.get("timeout"),
                              stdout=bool(q.get("stdout")), base_url=base_url())
    if q.get("output") == "void":
        return _send(invocation.run_in_background(context, call, request_id))
    started = time.perf_counter()
    with watch.watching(request.environ) as cancelled:      # a client that goes away cancels its call
        outcome = invocation.run(context, call, request_id, cancelled=cancelled)
    mock.observe_invocation(call.algorithm, time.perf_counter() - started, outcome.error is None)
    return _send(invocation.answer(call, outcome, request_id, q.get("output")))


def _send(answer: invocation.Answer) -> Response:
    if answer.raw is None:
        return json_response(answer.body, answer.status)
    return Response(answer.raw, status=answer.status, content_type=answer.media_type)

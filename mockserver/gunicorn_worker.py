"""gunicorn's gthread worker, keeping a busy keep-alive connection on its thread.

Stock gthread hands every keep-alive request back and forth: the poller thread sees
the socket readable and submits it to the pool, the pool thread answers and defers the
connection back to the poller (a pipe write), which registers it again. That is two
or three thread wake-ups per request, and on a small VM each costs tens of µs of CPU
(more than a whole GET of the mock). Clients that reuse connections (SDK sessions,
CI suites, load generators) send their next request right after reading an answer,
so the thread that answered waits up to ``LINGER_S`` for it and serves it directly;
only a connection that stays quiet goes back to the poller. The wait is a ``select``
(no GIL held, no CPU), bounded per request, so quiet clients cannot pin threads; and a
thread lingers only while no other connection waits for one (at most ``MAX_IN_A_ROW``
requests in a row), so busy clients cannot starve the others either.
"""
from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker

LINGER_S = 0.002
MAX_IN_A_ROW = 64


class KeepAliveThreadWorker(ThreadWorker):
    def handle(self, conn):
        for _ in range(MAX_IN_A_ROW):
            result = super().handle(conn)
            # Anything but "done, keep alive" (close, defer, HTTP/2, an older gunicorn's
            # return value) goes back to gthread unchanged.
            if result is not True or not self.alive or getattr(conn, "is_http2", False):
                return result
            if self._others_waiting():
                return result                 # fairness: let the pool serve them
            if _buffered(conn):
                continue                      # pipelined: the next request is read already
            try:
                readable, _, _ = select.select([conn.sock], [], [], LINGER_S)
            except (OSError, ValueError):     # closed under us
                return result
            if not readable:
                return result                 # quiet: back to the poller, as stock gthread does
        return result

    def _others_waiting(self) -> bool:
        queue = getattr(getattr(self, "tpool", None), "_work_queue", None)
        return queue is None or not queue.empty()


def _buffered(conn) -> bool:
    buf = getattr(getattr(getattr(conn, "parser", None), "unreader", None), "buf", None)
    return bool(buf is not None and buf.getvalue())

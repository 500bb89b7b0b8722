"""gunicorn's gthread worker, with fewer thread wake-ups and system calls per request.

Under load a request costs more than its Python code: on a small VM every thread
wake-up costs tens of µs of CPU, and every system call releases the GIL, which the
caller must then win back from the other threads. Stock gthread passes each keep-alive
request between two threads and makes about twelve system calls for it. Two changes
remove most of that:

**Linger.** Stock gthread hands every keep-alive request back and forth: the poller
thread sees the socket readable and submits it to the pool, the pool thread answers and
defers the connection back to the poller (a pipe write), which registers it again.
Clients that reuse connections (SDK sessions, CI suites, load generators) send their
next request right after reading an answer, so the thread that answered waits up to
``LINGER_S`` for it and serves it directly; only a connection that stays quiet goes
back to the poller. The wait is the receive of the next request itself, with a kernel
timeout of ``LINGER_S`` (no GIL held, no CPU; a ``select`` and then a receive would hand
the GIL away twice). It is bounded per request, so quiet clients cannot pin threads;
and a thread lingers only while no other connection waits for one (at most
``MAX_IN_A_ROW`` requests in a row), so busy clients cannot starve the others either.

**ConnSocket.** gunicorn re-sets the socket's blocking mode several times per request
(an ioctl each), Python's socket timeouts poll before every send and receive, and the
response's header block and body go out in two sends. The connection's socket is
wrapped once so that the kernel enforces the body timeout, unchanged modes cost
nothing, and the header block leaves with the first body bytes. A keep-alive request
that lingers then costs two system calls that release the GIL (the receive that waits
for it and the send of its answer) and two setsockopt calls that keep it.

**Per-request Python in gunicorn.** py-spy on the bare Flask baseline under load showed
gunicorn's own code re-reading its settings (``Config.__getattr__``, about twenty reads
per request) and parsing the peer's IP address with :mod:`ipaddress` for every request
to decide whether it may send forwarding headers: together ~13 % of the GIL time. The
worker reads each setting once (:class:`SettingsSnapshot`) and remembers each peer's
trust (:class:`PeerTrustRequest`); both are fixed for the life of a worker.
"""
from __future__ import annotations

import os
import select
import socket

from gunicorn.http.body import LengthReader
from gunicorn.http.message import Request
from gunicorn.workers.gthread import ThreadWorker

from .sockio import send_pair, timeval

LINGER_S = 0.002
MAX_IN_A_ROW = 64
READ_AHEAD = 8192          # what gunicorn's own reader asks for at once
# Idle seconds allowed between two reads of a request (or two sends of a response):
# a slow-loris body then gets a 408 error object instead of pinning a thread.
BODY_TIMEOUT_S = float(os.environ.get("MOCKSERVER_BODY_TIMEOUT", "30"))


class ConnSocket:
    """A client connection's socket, as gunicorn's code sees it.

    - **Kernel timeouts.** ``SO_RCVTIMEO``/``SO_SNDTIMEO`` bound each blocking receive
      and send (set once per connection). A kernel timeout surfaces as ``TimeoutError``,
      like a Python socket timeout, so callers handle both the same way; except while
      the connection is ``between_requests`` (reading a request head), where it reads
      as the end of the stream: gunicorn then closes the connection quietly, as it does
      for a client that went away, instead of logging a traceback.
    - **Modes set only on change.** ``settimeout``/``setblocking`` reach the socket only
      when the mode really changes.
    - **Header block held.** After :meth:`hold_next_write`, the next ``sendall`` (gunicorn
      sends the header block alone) is kept and sent with the following bytes in one
      ``sendmsg``. Any other use of the socket sends it first, so bytes never reorder;
      :meth:`flush` sends it when the response has no body.
    """

    __slots__ = ("_sock", "_timeout", "_held", "_hold", "_io_timeval", "between_requests")

    def __init__(self, sock: socket.socket, io_timeout: float = 0.0):
        self._sock = sock
        self._timeout = sock.gettimeout()
        self._held: bytes | None = None
        self._hold = False
        self.between_requests = False
        self._io_timeval = timeval(max(io_timeout, 0.0))      # 0: no kernel timeout
        if io_timeout > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, self._io_timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, self._io_timeval)

    # -- modes
    def settimeout(self, timeout) -> None:
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = self._sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def gettimeout(self):
        return self._timeout

    # -- receiving
    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._held is not None:
            self._send_held()
        try:
            return self._sock.recv(size, flags)
        except BlockingIOError:
            if self._timeout is None and self.between_requests:
                return b""
            self._raise_if_timed_out()
            raise

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        if self._held is not None:
            self._send_held()
        try:
            return self._sock.recv_into(buffer, nbytes, flags)
        except BlockingIOError:
            if self._timeout is None and self.between_requests:
                return 0
            self._raise_if_timed_out()
            raise

    def can_recv_within(self) -> bool:
        """Whether :meth:`recv_within` may be used: blocking mode, nothing held to send."""
        return self._timeout is None and self._held is None

    def recv_within(self, seconds: float, size: int) -> bytes | None:
        """One receive that waits at most ``seconds``: the bytes, ``b""`` at the end of
        the stream, or None when nothing came. One system call where a select and then a
        receive would be two, each of which hands the GIL to another thread and must win
        it back. The kernel timeout is shortened for this call only (setsockopt keeps the
        GIL). Only when :meth:`can_recv_within`."""
        sock = self._sock
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(seconds))
        try:
            return sock.recv(size)
        except BlockingIOError:
            return None
        finally:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, self._io_timeval)

    # -- sending
    def hold_next_write(self) -> None:
        self._hold = True

    def sendall(self, data) -> None:
        if self._hold:
            self._held, self._hold = bytes(data), False
            return
        held, self._held = self._held, None
        try:
            if held is None:
                self._sock.sendall(data)
            else:
                send_pair(self._sock, held, memoryview(data).cast("B"))
        except BlockingIOError:
            self._raise_if_timed_out()
            raise

    def send(self, data, flags: int = 0) -> int:
        if self._held is not None:
            self._send_held()
        try:
            return self._sock.send(data, flags)
        except BlockingIOError:
            self._raise_if_timed_out()
            raise

    def sendfile(self, file, offset: int = 0, count=None) -> int:
        if self._held is not None:
            self._send_held()
        return self._sock.sendfile(file, offset, count)

    def flush(self) -> None:
        """End of a response: send the held header block, if any, and hold nothing more."""
        self._hold = False
        if self._held is not None:
            self._send_held()

    def _send_held(self) -> None:
        held, self._held = self._held, None
        try:
            self._sock.sendall(held)
        except BlockingIOError:
            self._raise_if_timed_out()
            raise

    def _raise_if_timed_out(self) -> None:
        # EAGAIN on a blocking socket can only come from the kernel timeout.
        if self._timeout is None:
            raise TimeoutError("timed out") from None

    # -- ending
    def shutdown(self, how: int) -> None:
        self._flush_quietly()
        self._sock.shutdown(how)

    def close(self) -> None:
        self._flush_quietly()
        self._sock.close()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except OSError:
            pass

    def fileno(self) -> int:
        return self._sock.fileno()

    def __getattr__(self, name):
        if name in ConnSocket.__slots__:        # not set yet: no recursion
            raise AttributeError(name)
        if self._held is not None:              # whatever it is, the held bytes go first
            self._send_held()
        return getattr(self._sock, name)


class SettingsSnapshot:
    """gunicorn's settings as plain attributes, each read once from the real ``Config``.

    A worker's settings never change while it runs (a reload starts new workers), but
    ``Config.__getattr__`` resolves a setting through a Python call on every read.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self.peer_trust: dict = {}         # PeerTrustRequest's memo: derived from these settings

    def __getattr__(self, name):
        value = getattr(self._cfg, name)      # AttributeError for unknown names, as Config
        self.__dict__[name] = value
        return value


class PeerTrustRequest(Request):
    """A request that remembers, per peer address, whether the peer may send forwarding
    headers (``forwarded_allow_ips``): gunicorn parses the address with :mod:`ipaddress`
    and walks the allowed networks on every request. Without the hook (older gunicorn)
    it is a plain Request. The memo lives on the worker's :class:`SettingsSnapshot`,
    next to the settings it derives from."""

    MAX_PEERS = 4096

    def _peer_is_trusted_proxy(self):
        peer, known = self.peer_addr, getattr(self.cfg, "peer_trust", None)
        if known is None or not isinstance(peer, tuple):
            return super()._peer_is_trusted_proxy()
        trusted = known.get(peer[0])
        if trusted is None:
            if len(known) >= self.MAX_PEERS:
                known.clear()
            trusted = known[peer[0]] = bool(super()._peer_is_trusted_proxy())
        return trusted


class KeepAliveThreadWorker(ThreadWorker):
    def init_process(self):
        self.cfg = SettingsSnapshot(self.cfg)
        super().init_process()

    def handle(self, conn):
        if not isinstance(conn.sock, ConnSocket) and not self.cfg.is_ssl:
            conn.sock = ConnSocket(conn.sock, BODY_TIMEOUT_S)
        for _ in range(MAX_IN_A_ROW):
            if isinstance(conn.sock, ConnSocket):
                conn.sock.between_requests = True     # until handle_request starts
            result = super().handle(conn)
            # Anything but "done, keep alive" (close, defer, HTTP/2, an older gunicorn's
            # return value) goes back to gthread unchanged.
            if result is not True or not self.alive or getattr(conn, "is_http2", False):
                return result
            if self._others_waiting():
                return result                 # fairness: let the pool serve them
            if _buffered(conn):
                continue                      # pipelined: the next request is read already
            if not _next_request_arrived(conn):
                return result                 # quiet: back to the poller, as stock gthread does
        return result

    def handle_request(self, req, conn):
        parser = conn.parser
        if getattr(parser, "mesg_class", None) is Request:
            parser.mesg_class = PeerTrustRequest   # from the connection's next request on
        sock = conn.sock
        if not isinstance(sock, ConnSocket):
            return super().handle_request(req, conn)
        sock.between_requests = False
        sock.hold_next_write()
        try:
            keep_alive = super().handle_request(req, conn)
        except BaseException:
            sock._flush_quietly()
            raise
        sock.flush()          # a response without body bytes: its header block alone
        return keep_alive

    def _keepalive_after(self, conn, keepalive):
        # gthread drains what the app left of the body under a deadline, re-setting the
        # socket timeout twice even when nothing is left: skip that when the body is read.
        if keepalive and _body_read(conn.parser):
            return True
        return super()._keepalive_after(conn, keepalive)

    def _others_waiting(self) -> bool:
        queue = getattr(getattr(self, "tpool", None), "_work_queue", None)
        return queue is None or not queue.empty()


def _next_request_arrived(conn) -> bool:
    """Wait up to LINGER_S for the connection's next request; True when it has begun to
    arrive (its first bytes are then in the parser's buffer, as if pipelined)."""
    sock = conn.sock
    try:
        if isinstance(sock, ConnSocket) and sock.can_recv_within():
            data = sock.recv_within(LINGER_S, READ_AHEAD)
            if not data:
                return False                  # quiet, or closed (the poller then sees the end)
            conn.parser.unreader.unread(data)
            return True
        readable, _, _ = select.select([sock], [], [], LINGER_S)
    except (OSError, ValueError):             # closed under us
        return False
    return bool(readable)


def _buffered(conn) -> bool:
    buf = getattr(getattr(getattr(conn, "parser", None), "unreader", None), "buf", None)
    return bool(buf is not None and buf.getvalue())


def _body_read(parser) -> bool:
    """True when the current request's body has been read to its end (or it had none)."""
    body = getattr(getattr(parser, "mesg", None), "body", None)
    if body is None:
        return False
    reader = body.reader
    return (not body.failed and isinstance(reader, LengthReader) and reader.length == 0
            and body.buf.tell() == 0)

"""The access log's batching handler and the JSON encoder behind every response."""
import io
import json
import logging
import threading
import time

from mockserver.edge.jsonio import dumps_bytes
from mockserver.control.logs import BatchingStreamHandler


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test.logs.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_info_lines_wait_for_the_flusher_and_warnings_are_written_at_once():
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=3600)   # the flusher never fires in this test
    logger = _logger(handler)
    logger.info("first")
    assert stream.getvalue() == ""
    logger.warning("second")          # a warning writes itself and everything queued before it
    assert stream.getvalue() == "first\nsecond\n"
    logger.info("third")
    handler.close()                   # exit writes what is still queued
    assert stream.getvalue().endswith("third\n")


def test_the_flusher_thread_writes_queued_lines():
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=0.01)
    _logger(handler).info("hello")
    deadline = time.monotonic() + 2
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.005)
    written = stream.getvalue()
    handler.close()
    assert written == "hello\n"


def test_no_line_is_lost_or_torn_when_threads_log_while_it_flushes():
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=0.001)
    logger = _logger(handler)

    def spam(n: int) -> None:
        for i in range(2000):
            logger.info("t%d-%d", n, i)

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert sorted(lines) == sorted(f"t{n}-{i}" for n in range(8) for i in range(2000))


def test_json_is_compact_utf8_and_falls_back_for_what_orjson_refuses():
    assert dumps_bytes({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()
    assert dumps_bytes({1: "x"}) == b'{"1":"x"}'
    big = 2 ** 70                      # beyond 64 bits: the stdlib encodes it exactly
    assert json.loads(dumps_bytes({"n": big})) == {"n": big}

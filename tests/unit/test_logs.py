"""The access log's batching (QueueHandler/QueueListener) and the JSON encoder behind every response."""
import io
import json
import logging
import threading

from mockserver.web.jsonio import dumps_bytes
from mockserver.control.logs import LineWriter, batching_handler
from support.polling import until


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test.logs.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_info_lines_wait_for_a_flush_and_warnings_are_written_at_once():
    stream = io.StringIO()
    writer = LineWriter(stream)
    logger = _logger(writer)
    logger.info("first")
    assert stream.getvalue() == ""
    logger.warning("second")          # a warning writes itself and everything collected before it
    assert stream.getvalue() == "first\nsecond\n"
    logger.info("third")
    writer.flush()
    assert stream.getvalue() == "first\nsecond\nthird\n"


def test_the_listener_writes_lines_when_its_queue_runs_empty():
    stream = io.StringIO()
    handler, listener = batching_handler(stream)
    _logger(handler).info("hello")
    until(stream.getvalue, timeout=10)
    written = stream.getvalue()
    listener.stop()
    assert written == "hello\n"


def test_no_line_is_lost_or_torn_when_threads_log_while_it_writes():
    stream = io.StringIO()
    handler, listener = batching_handler(stream)
    logger = _logger(handler)

    def spam(n: int) -> None:
        for i in range(2000):
            logger.info("t%d-%d", n, i)

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listener.stop()                   # writes everything still queued
    lines = stream.getvalue().splitlines()
    assert sorted(lines) == sorted(f"t{n}-{i}" for n in range(8) for i in range(2000))


def test_json_is_compact_utf8_and_falls_back_for_what_orjson_refuses():
    assert dumps_bytes({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()
    assert dumps_bytes({1: "x"}) == b'{"1":"x"}'
    big = 2 ** 70                      # beyond 64 bits: the stdlib encodes it exactly
    assert json.loads(dumps_bytes({"n": big})) == {"n": big}

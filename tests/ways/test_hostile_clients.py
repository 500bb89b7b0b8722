"""Slow and hostile clients against the mockserver command (loopback, bounded in count and time).

Issue 15: with 100 slowloris connections, 20 bodies trickled at 1 byte / 2 s, or 16 clients
that do not read a 10 MiB download, every fresh client's GET /_mock/health is answered. Its
speed target (p99 under 100 ms) is checked by benchmarks/timings.py, not here. Each test holds
its load for a few seconds only and closes every socket itself.
"""
from __future__ import annotations

import pytest
import requests

from support.api import DEMO
from support.hostile import (AUTH, BIG_FILE_BYTES, Load, health_latencies, p99, put_big_file, slowloris,
                             stalled_reader, trickled_body)


SERVED_ENV = {"MOCKSERVER_THREADS": "16"}               # served_server's


def assert_health_answers(port: int) -> None:
    """Every fresh health check answered 200 (within its 5 s socket timeout) under the load.
    The speed target (p99 < 100 ms) is measured by benchmarks/timings.py."""
    latencies, failures = health_latencies(port)
    print(f"health p99 {p99(latencies) * 1000:.1f} ms over {len(latencies)} checks")
    assert latencies and failures == 0, failures


def test_100_slowloris_connections_do_not_block_health(served_server):
    _url, port, _proc = served_server
    with Load(port, 100, slowloris):
        assert_health_answers(port)


def test_20_trickled_bodies_do_not_block_health(served_server):
    _url, port, _proc = served_server
    with Load(port, 20, trickled_body):
        assert_health_answers(port)


def test_16_stalled_readers_of_a_10_mib_download_do_not_block_health(served_server):
    url, port, _proc = served_server
    put_big_file(url)
    with Load(port, 16, stalled_reader):
        assert_health_answers(port)
    # the server is still whole afterwards
    r = requests.get(f"{url}/v1/data/demo/big/file", headers={"Authorization": f"Simple {DEMO}"}, timeout=30)
    assert len(r.content) == BIG_FILE_BYTES

"""Seeded id streams: objects, API requests and control-plane requests never shift each other."""
import datetime as dt
import random
import uuid

from mockserver.ids import Clock, Ids, iso, parse_iso, uuid4_text


def test_request_ids_do_not_shift_object_ids():
    quiet, busy = Ids(42), Ids(42)
    for _ in range(5):
        busy.request_id()
        busy.request_id(control=True)
        busy.error_id()
    assert [quiet.uuid(), quiet.git_hash(), quiet.api_key()] == [busy.uuid(), busy.git_hash(), busy.api_key()]


def test_control_requests_do_not_shift_api_request_ids():
    quiet, busy = Ids(42), Ids(42)
    busy.request_id(control=True)
    busy.error_id(control=True)
    assert [quiet.request_id() for _ in range(3)] == [busy.request_id() for _ in range(3)]


def test_streams_differ_and_restart_returns_to_the_mark():
    ids = Ids(42)
    ids.uuid()
    ids.mark()
    first = [ids.uuid(), ids.request_id(), ids.request_id(control=True)]
    assert len(set(first)) == 3
    ids.restart()
    assert [ids.uuid(), ids.request_id(), ids.request_id(control=True)] == first


def test_unseeded_ids_are_fresh():
    assert Ids().request_id() != Ids().request_id()


def test_uuid4_text_is_the_uuid_modules_text():
    rng = random.Random(7)
    for bits in [0, (1 << 128) - 1] + [rng.getrandbits(128) for _ in range(2000)]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_real_clock_iso_is_iso_of_now():
    clock = Clock("real")
    for _ in range(2000):         # many within one millisecond: the shared text, then new ones
        before = iso(dt.datetime.now(dt.timezone.utc))
        text = clock.iso()
        after = iso(dt.datetime.now(dt.timezone.utc))
        assert before <= text <= after and parse_iso(text) is not None and len(text) == len(before)


def test_a_pair_of_uuids_is_two_uuids_in_a_row():
    for seed in (1, 42, 2026):
        pair, single = Ids(seed), Ids(seed)
        assert [*pair.uuids(), pair.uuid(), *pair.uuids()] == [single.uuid() for _ in range(5)]

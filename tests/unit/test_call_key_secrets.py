"""A call's key and its id come from one draw of unguessable bytes (callkeys.new_key):
both keep their formats, and no two calls share either."""
import re
import uuid

from mockserver.domain.callkeys import CallKeys, call_key, new_key

PERMISSIONS = {"allow_algo": False, "allow_data": True}


def test_call_keys_and_ids_are_well_formed_and_never_repeat():
    keys = [new_key("demo", "demo/Hello", dict(PERMISSIONS)) for _ in range(2000)]
    assert all(re.fullmatch(r"sim[A-Za-z0-9]{26}", k.api_key) for k in keys)
    assert all(uuid.UUID(k.id).version == 4 and str(uuid.UUID(k.id)) == k.id for k in keys)
    assert len({k.api_key for k in keys}) == len(keys)
    assert len({k.id for k in keys}) == len(keys)
    assert not {k.api_key for k in keys} & {k.id for k in keys}


def test_a_call_key_has_the_fields_of_an_algorithm_key():
    key = new_key("demo", "demo/Hello", dict(PERMISSIONS))
    assert (key.owner, key.key_label, key.key_type, key.permissions, key.created_at, key.seq, key.algorithm) == \
        ("demo", "algo://demo/Hello", "AlgorithmKey", PERMISSIONS, "", 0, "demo/Hello")
    assert not key.is_admin and key.allows("allow_data") and not key.allows("allow_algo")
    loaded = new_key("demo", "demo/Hello", dict(PERMISSIONS), label="load of demo/Hello", secret="simX")
    assert (loaded.api_key, loaded.key_label, loaded.key_type) == ("simX", "load of demo/Hello", "AlgorithmKey")


def test_hold_and_release_count_each_key():
    calls = CallKeys()
    shared, own = new_key("demo", "demo/Hello", dict(PERMISSIONS)), new_key("demo", "demo/Hello", dict(PERMISSIONS))

    class State:
        algorithms = {"demo/Hello": object()}

        @staticmethod
        def owner_exists(name):
            return name == "demo"

    calls.hold((shared, own))
    calls.hold((shared,))
    calls.release((shared, own))
    assert calls.get(State, shared.api_key) is shared       # still held once
    assert calls.get(State, own.api_key) is None
    calls.release((shared,))
    assert calls.get(State, shared.api_key) is None and len(calls) == 0


class _State:
    algorithms = {"demo/Hello": object()}

    @staticmethod
    def owner_exists(name):
        return name == "demo"


def test_a_call_key_is_recorded_at_its_first_lookup_and_dies_with_its_call():
    calls = CallKeys()
    pending = call_key("demo", "demo/Hello", dict(PERMISSIONS))
    other = call_key("demo", "demo/Hello", dict(PERMISSIONS))
    assert re.fullmatch(r"sim[A-Za-z0-9]{26}", pending.api_key) and pending.api_key != other.api_key
    assert calls.get(_State, pending.api_key) is None            # not live until held
    calls.hold((pending,))
    key = calls.get(_State, pending.api_key)
    assert key.api_key == pending.api_key and uuid.UUID(key.id).version == 4
    assert (key.owner, key.key_label, key.key_type, key.permissions, key.algorithm) == \
        ("demo", "algo://demo/Hello", "AlgorithmKey", PERMISSIONS, "demo/Hello")
    assert calls.get(_State, pending.api_key) is key             # the same record while it lives
    calls.release((pending,))
    assert calls.get(_State, pending.api_key) is None and len(calls) == 0

"""The gate's JSON reader: orjson where it reads the same values, json.loads (the authority) for the rest."""
import json

import pytest
from hypothesis import given, settings

from mockserver.edge.gate import parse_json
from support.json_values import json_values

EDGE_CASES = [
    b'{"a":1,"a":2}', b"1E400", b"-1E400", b"1e-400", b"NaN", b"Infinity", b'"\\ud800"', b"\xef\xbb\xbf{}",
    b" {} ", b"123456789012345678901234567890", b"18446744073709551615", b"18446744073709551616",
    b"-9223372036854775809", b"9223372036854775807", b"-0", b"-0.0", b"1.0", b"2.5e-324",
    b"1.00000000000000011102230246251565404236316680908203125", b"1.7976931348623159e308",
    b'"\xed\xa0\x80"', b'{"\\u0000":1}', b'"a\\/b"', b'{"n": [1, 2.5, true, null, "x"]}',
    '"\u00e9\U0001f600"'.encode(), '{"a": 1}'.encode("utf-16"),
]
BAD = [b"{", b"[1,]", b'{"a":1,}', b'"\xff"', b"0001", b"\x00", b'{"a":"\x01"}', b"[" * 3000 + b"]" * 3000]


def _same(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)) as got:
            parse_json(data)
        assert str(got.value) == str(exc)          # the stdlib's message, which the error answer quotes
        return
    value = parse_json(data)
    assert repr(value) == repr(expected) and type(value) is type(expected)


@pytest.mark.parametrize("data", EDGE_CASES + BAD, ids=repr)
def test_reads_what_json_loads_reads_and_refuses_what_it_refuses(data):
    _same(data)


values = json_values(non_finite=False)


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_json_text_reads_as_json_loads_reads_it(value):
    _same(json.dumps(value).encode())
    _same(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))

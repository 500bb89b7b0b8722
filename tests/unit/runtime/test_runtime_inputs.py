"""A call's JSON input: orjson reads what it reads as the stdlib does; everything else (and every
error) is the stdlib's, so values and BadInput messages are what ``json.loads`` gives."""
import json

import pytest
from hypothesis import given, settings

from mockserver.runtime import BadInput
from mockserver.runtime.inputs import decode_input
from support.json_values import json_values

EDGE_CASES = [
    b'{"a":1,"a":2}', b"1E400", b"-1E400", b"1e-400", b"NaN", b"Infinity", b"-Infinity", b'"\\ud800"',
    b'"\\udc00\\ud800"', b"\xef\xbb\xbf{}", b" {} ", b"\t\n", b"", b"123456789012345678901234567890",
    b"18446744073709551615", b"18446744073709551616", b"-9223372036854775809", b"9223372036854775807",
    b"[1.5, 12345678901234567890123]", b"-0", b"-0.0", b"1.0", b"2.5e-324",
    b"1.00000000000000011102230246251565404236316680908203125", b"1.7976931348623159e308",
    b'"\xed\xa0\x80"', b'{"\\u0000":1}', b'"a\\/b"', b'{"n": [1, 2.5, true, null, "x"]}', b'"hello"',
    '"\u00e9\U0001f600"'.encode(), '{"a": 1}'.encode("utf-16"), b"[" * 1100 + b"]" * 1100,
]
BAD = [b"{", b"[1,]", b'{"a":1,}', b'"\xff"', b"0001", b"\x00", b'{"a":"\x01"}', b"[" * 5000 + b"]" * 5000,
       b"nul", b"\xef\xbb\xbf"]


def _stdlib(body: bytes):
    """The authority: what decode_input answered before orjson read any input."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return BadInput(f"Input is not valid UTF-8: {exc}")
    except ValueError as exc:
        return BadInput(f"Failed to parse JSON input: {exc}")
    except RecursionError:
        return BadInput("Input JSON is nested too deeply")


def _same(body: bytes, content_type: str = "application/json") -> None:
    expected = _stdlib(body)
    if isinstance(expected, BadInput):
        with pytest.raises(BadInput) as got:
            decode_input(body, content_type)
        assert got.value.message == expected.message
        return
    value = decode_input(body, content_type)
    assert repr(value) == repr(expected) and type(value) is type(expected)


@pytest.mark.parametrize("body", EDGE_CASES + BAD, ids=lambda b: repr(b[:40]))
@pytest.mark.parametrize("content_type", ["application/json", "text/json; charset=utf-8", "application/x+json"])
def test_json_input_reads_as_json_loads(body, content_type):
    _same(body, content_type)


@pytest.mark.parametrize("body", EDGE_CASES, ids=lambda b: repr(b[:40]))
def test_input_without_a_type_is_json_when_json_loads_reads_it(body):
    expected = _stdlib(body)
    if isinstance(expected, BadInput) and "nested" in expected.message:
        with pytest.raises(BadInput, match="nested too deeply"):
            decode_input(body, None)
        return
    got = decode_input(body, None)
    if expected is None or isinstance(expected, BadInput):       # then UTF-8 text, else bytes
        try:
            expected = body.decode("utf-8")
        except UnicodeDecodeError:
            expected = body
    assert repr(got) == repr(expected) and type(got) is type(expected)


values = json_values(non_finite=True)


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_json_text_reads_as_json_loads_reads_it(value):
    _same(json.dumps(value).encode())
    _same(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))

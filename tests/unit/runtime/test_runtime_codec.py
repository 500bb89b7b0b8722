"""Pure unit tests of the runtime's small parts: codec, profiles, bindings."""
from __future__ import annotations

import pytest

from mockserver.runtime import DEFAULT_PROFILES, BadInput, Binding, Profile
from mockserver.runtime.binding import parse_target
from mockserver.runtime.codec import encode_output
from mockserver.runtime.inputs import decode_input
from mockserver.runtime.context import Capture


@pytest.mark.parametrize("body, ctype, expected", [
    (b'{"a": 1}', "application/json", {"a": 1}),
    (b'"Neo"', "application/json; charset=utf-8", "Neo"),
    (b"", "application/json", None),
    (b"Neo", "text/plain", "Neo"),
    (b'{"a": 1}', "application/text", '{"a": 1}'),
    (b"\x00\xff", "application/octet-stream", b"\x00\xff"),
    (b"[1,2]", None, [1, 2]),
    (b"Neo", None, "Neo"),
    (b"Neo", "application/x-weird", "Neo"),
    (b"\xff\xfe", "", b"\xff\xfe"),
])
def test_decode_input(body, ctype, expected):
    assert decode_input(body, ctype) == expected


@pytest.mark.parametrize("body, ctype", [(b"{nope", "application/json"), (b"\xff", "text/plain")])
def test_decode_input_bad(body, ctype):
    with pytest.raises(BadInput) as exc:
        decode_input(body, ctype)
    assert exc.value.message


def test_encode_output():
    assert encode_output(b"x") == ("binary", b"x")
    assert encode_output(bytearray(b"x")) == ("binary", b"x")
    assert encode_output("x") == ("text", "x")
    assert encode_output(None) == ("void", None)
    assert encode_output({"a": [1, 2]}) == ("json", '{"a":[1,2]}')
    assert encode_output(0) == ("json", "0")


def test_profile_roundtrip_and_validation():
    cpu, gpu = DEFAULT_PROFILES
    assert cpu.name == "python3-cpu" and cpu.processor == "cpu" and "CUDA_VISIBLE_DEVICES" not in cpu.env
    assert gpu.name == "python3-gpu" and gpu.processor == "gpu"
    assert gpu.env["CUDA_VISIBLE_DEVICES"] == "0" and gpu.env["NVIDIA_VISIBLE_DEVICES"] == "0"
    assert gpu.memory_mb > cpu.memory_mb
    for p in DEFAULT_PROFILES:
        assert Profile.from_dict(p.to_dict()) == p
        assert hash(Profile.from_dict(p.to_dict())) == hash(p)
    p = Profile.from_dict({"name": "x", "languages": ["python3-1"], "env": {"A": 1}})
    assert p.languages == ("python3-1",) and p.env == {"A": "1"}
    with pytest.raises(ValueError, match="unknown profile field"):
        Profile.from_dict({"name": "x", "colour": "red"})
    with pytest.raises(ValueError, match="processor"):
        Profile("x", processor="tpu")
    with pytest.raises(ValueError, match="warm_slots"):
        Profile("x", warm_slots=0)


def test_parse_target(tmp_path):
    assert parse_target("pkg.mod:run") == ("module", "pkg.mod", "run")
    assert parse_target("pkg.mod") == ("module", "pkg.mod", "apply")
    kind, path, func = parse_target("algos/a.py", str(tmp_path))
    assert (kind, path, func) == ("file", str(tmp_path / "algos" / "a.py"), "apply")
    assert parse_target("/x/a.py:go")[2] == "go"
    assert Binding.template().is_template


def test_capture_truncates():
    c = Capture(10)
    c.write("0123456789abc")
    c.write("more")
    out = c.getvalue()
    assert out.startswith("0123456789") and "truncated: 7 more characters" in out

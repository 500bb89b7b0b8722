import pytest

from mockserver.edge.auth import key_from_header


@pytest.mark.parametrize("header,key", [
    ("Simple simABC", "simABC"), ("simple simABC", "simABC"), ("simABC", "simABC"),
    ("Bearer tok123", "tok123"), ("  Simple   simABC  ", "simABC"), ("", None), (None, None),
])
def test_header_forms(header, key):
    assert key_from_header(header) == key

import pytest

from mockserver.errors import ApiError
from mockserver.pagination import decode_marker, encode_marker, paginate, sorted_source, with_query


def names(n):
    return [f"item{i:03d}" for i in range(n)]


def walk(items, limit):
    seen, marker = [], None
    while True:
        page = paginate(sorted_source(items, key=lambda s: s), list_id="t", limit=limit, marker=marker)
        seen += page.results
        marker = page.marker
        if marker is None:
            return seen


def test_pages_cover_every_item_once():
    assert walk(names(23), 5) == names(23)


def test_last_page_has_null_marker_and_link():
    page = paginate(sorted_source(names(3), key=lambda s: s), list_id="t", limit=3)
    assert page.envelope("http://h/v1/users?limit=3") == {"marker": None, "next_link": None, "results": names(3)}


def test_next_link_is_absolute_and_keeps_other_query():
    page = paginate(sorted_source(names(5), key=lambda s: s), list_id="t", limit=2)
    env = page.envelope("http://h:1/v1/users?limit=2&x=y")
    assert env["next_link"].startswith("http://h:1/v1/users?")
    assert "limit=2" in env["next_link"] and "x=y" in env["next_link"]
    assert f"marker={page.marker}" in env["next_link"]


@pytest.mark.parametrize("limit", [0, -1, 1001, "abc", "1.5"])
def test_bad_limit_is_5003(limit):
    with pytest.raises(ApiError) as err:
        paginate(sorted_source([], key=lambda s: s), list_id="t", limit=limit)
    assert err.value.code == 5003


@pytest.mark.parametrize("marker", ["garbage!", "eyJ4Ijox", encode_marker("other", "a")])
def test_unknown_marker_is_5002(marker):
    with pytest.raises(ApiError) as err:
        paginate(sorted_source(["a"], key=lambda s: s), list_id="t", marker=marker)
    assert err.value.code == 5002


def test_marker_of_wrong_key_type_is_5002_not_a_crash():
    with pytest.raises(ApiError) as err:
        paginate(sorted_source(["a", "b"], key=lambda s: s), list_id="t", marker=encode_marker("t", 5))
    assert err.value.code == 5002


def test_changes_between_pages_never_repeat_or_skip_survivors():
    items = names(10)
    first = paginate(sorted_source(items, key=lambda s: s), list_id="t", limit=4)
    # item001 deleted and item0025 inserted before the marker; item008 deleted after it
    changed = [i for i in items if i not in ("item001", "item008")] + ["item0025", "item100"]
    rest = paginate(sorted_source(changed, key=lambda s: s), list_id="t", limit=100, marker=first.marker)
    assert first.results == names(4)
    assert rest.results == ["item004", "item005", "item006", "item007", "item009", "item100"]


def test_tuple_keys_round_trip():
    assert decode_marker(encode_marker("t", (3, "x")), "t") == (3, "x")


def test_with_query_replaces():
    assert with_query("http://a/b?marker=1&limit=2", marker="z") == "http://a/b?limit=2&marker=z"


def test_with_query_appends_what_is_not_there():
    assert with_query("http://a/b", marker="z") == "http://a/b?marker=z"
    assert with_query("http://a/b?limit=2", marker="a b") == "http://a/b?limit=2&marker=a+b"
    assert with_query("http://a/b?limit=2", marker=None) == "http://a/b?limit=2"

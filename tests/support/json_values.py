"""A hypothesis strategy for JSON-like values, shared by the tests that hold a fast JSON reader to
``json.loads``."""
from __future__ import annotations

from hypothesis import strategies as st


def json_values(non_finite: bool = False):
    """Nested values of None, booleans, big integers, floats (NaN and infinities with
    ``non_finite``), text, lists and objects."""
    numbers = st.one_of(st.integers(min_value=-10**30, max_value=10**30),
                        st.floats(allow_nan=non_finite, allow_infinity=non_finite))
    return st.recursive(st.none() | st.booleans() | numbers | st.text(),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                        max_leaves=12)

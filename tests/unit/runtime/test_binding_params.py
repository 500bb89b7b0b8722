"""A plain function's positional parameters are read from its code object (workers do not
import inspect); the answer must be inspect.signature's for every shape of apply/load."""
import functools
import inspect

import pytest

from mockserver.runtime.binding import _positional_params


def by_signature(fn):
    total = required = 0
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            required += p.default is p.empty
        elif p.kind == p.VAR_POSITIONAL:
            total = 99
    return total, required


def _wrapped(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


SHAPES = [
    lambda: None,
    lambda x: x,
    lambda x, state: x,
    lambda x, state=None: x,
    lambda x=1, y=2: x,
    lambda x, *rest: x,
    lambda *rest: rest,
    lambda x, /, y: x,
    lambda x, *, key: x,
    lambda x, **kw: x,
    _wrapped(lambda x, state: x),       # functools.wraps: the wrapped function's signature counts
]


@pytest.mark.parametrize("fn", SHAPES)
def test_code_object_agrees_with_inspect(fn):
    assert _positional_params(fn) == by_signature(fn)

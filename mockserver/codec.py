"""JSON export/import of the state's dataclasses, driven by their type hints.

Used by ``GET/PUT /_mock/state``. Bytes travel as ``{"$bytes": base64}``;
a class may take over with ``to_json()`` / ``from_json(data)``.
"""
from __future__ import annotations

import base64
import dataclasses
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints


def to_json(value: Any) -> Any:
    if hasattr(value, "to_json") and not isinstance(value, type):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # derived fields are rebuilt on import; "export": False fields stay in this process
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("derived") and f.metadata.get("export", True)}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(data: Any, hint: Any) -> Any:
    if hint is Any or hint is None:
        return _plain(data)
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in get_args(hint) if a is not type(None)]
        return from_json(data, options[0]) if len(options) == 1 else _plain(data)
    if origin is dict:
        _, value_hint = get_args(hint) or (Any, Any)
        return {k: from_json(v, value_hint) for k, v in data.items()}
    if origin in (list, tuple):
        (item_hint, *_) = get_args(hint) or (Any,)
        items = [from_json(v, item_hint) for v in data]
        return tuple(items) if origin is tuple else items
    if isinstance(hint, type) and hasattr(hint, "from_json"):
        return hint.from_json(data)
    if dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        # a field that is never exported is never imported either (nothing can claim it)
        names = {f.name for f in dataclasses.fields(hint) if f.init and f.metadata.get("export", True)}
        return hint(**{k: from_json(v, hints[k]) for k, v in data.items() if k in names})
    if hint is bytes:
        return base64.b64decode(data["$bytes"]) if isinstance(data, dict) else bytes(data, "utf-8")
    return _plain(data)


def _plain(data: Any) -> Any:
    if isinstance(data, dict) and set(data) == {"$bytes"}:
        return base64.b64decode(data["$bytes"])
    return data

"""Fixture documents before they load: read, parsed (bounded), the bindings they name; and the
start-up's early binding checks (:func:`start_binding_checks`).

Kept apart from fixtures.py (which applies documents through the domain, checked by fixture_check.py)
so that the ``mockserver`` command can start its fixtures' binding checks after importing little:
this module, yaml and the runtime (docs/speed.md, "Start-up").
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

from mockserver.errors import REQUEST_INVALID, Kind
from mockserver.resources import resource_path
from mockserver.runtime import Binding, Engine
from mockserver.runtime.errors import BindingError
from mockserver.settings import Settings

# Shipped files (the fixture schema, the bundled sandbox) are parsed with libyaml where PyYAML has it.
SHIPPED_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FixtureError(Exception):
    """A fixture document that cannot load; ``kind``: the error's kind when an ApiError said why."""

    def __init__(self, file: str, where: str, reason: str, kind: Kind = REQUEST_INVALID):
        super().__init__(f"{file}: at {where}: {reason}")
        self.file, self.where, self.reason = file, where, reason
        self.kind = kind

    @property
    def status(self) -> int:
        return self.kind.status


def default_fixture() -> Path:
    return resource_path("fixtures", "default.yaml")

def parse(raw: bytes, name: str, *, max_bytes: int, shipped: bool = False) -> dict:
    """YAML (or JSON) text to a document, bounded: aliases may not expand it past ``max_bytes``.
    ``shipped``: the bundled sandbox's file, parsed with libyaml where PyYAML has it (a seventh of
    the pure-Python loader's time; the same document, a unit test compares them). Other documents
    keep the pure-Python loader, whose errors (and depth limit) the docs and tests rely on."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FixtureError(name, "(encoding)", f"not UTF-8 text: byte {exc.start} is invalid") from None
    try:
        doc = yaml.load(text, Loader=SHIPPED_LOADER if shipped else yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FixtureError(name, "(yaml)", f"not valid YAML: {exc}") from None
    except RecursionError:
        raise FixtureError(name, "(yaml)", "nested too deeply") from None
    _check_expanded_size(doc, name, max_bytes)
    return doc or {}

# What one node costs in the bound below besides its text: aliases share one object, so
# a document can be tiny and still stand for gigabytes once read or stored.
_NODE_BYTES = 8


def _check_expanded_size(doc, name: str, max_bytes: int) -> None:
    """Walk the document as if every alias were a copy; stop as soon as it passes ``max_bytes``.

    Cost is bounded by ``max_bytes / _NODE_BYTES`` steps, whatever the aliases multiply."""
    total = 0
    stack = [(doc, ())]
    while stack:
        node, ancestors = stack.pop()
        total += _NODE_BYTES + (len(node) if isinstance(node, (str, bytes)) else 0)
        if total > max_bytes:
            raise FixtureError(name, "(yaml)", f"the document expands to more than {max_bytes} bytes "
                               "(YAML anchors and aliases count as copies)")
        if isinstance(node, (dict, list)):
            if id(node) in ancestors:
                raise FixtureError(name, "(yaml)", "a YAML alias refers to its own ancestor (recursive document)")
            inner = ancestors + (id(node),)
            children = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
            for key, value in children:
                if key is not None:
                    stack.append((key, ()))
                stack.append((value, inner))


def section_items(section: Any) -> list:
    """A document section's items (one item stands for a list of it)."""
    if section is None:
        return []
    return section if isinstance(section, list) else [section]

def bindings_to_check(engine: Engine | None, doc: dict, base: str | None) -> list[tuple[int, str]]:
    """(item index, target) of every allowed binding the document's algorithms name."""
    todo: list[tuple[int, str]] = []
    for index, item in enumerate(section_items(doc.get("algorithms"))):
        if not isinstance(item, dict) or item.get("repository") is not None:
            continue
        versions = [v for v in item.get("versions") or [] if isinstance(v, dict)]
        for target in {item.get("binding"), *(v.get("binding", item.get("binding")) for v in versions)} - {None}:
            binding = Binding(str(target), base_dir=base)
            try:
                binding.parse()
            except BindingError:
                continue                    # refused with its reason when the item is applied
            # Code outside the allowed roots is never imported (the item is refused when applied);
            # a fixture file's bindings are then the operator's (trusted, as _algorithm loads them).
            if engine is None or engine.binding_denial(binding) is None:
                todo.append((index, str(target)))
    return todo

def start_binding_checks(engine: Engine, settings: Settings) -> threading.Thread:
    """Start-up: check the start-up fixture files' bindings now, on a thread of their own, one
    after another in one checker process (``Engine.prefetch_checks``), while the caller goes on
    (the ``mockserver`` command imports Flask and the app meanwhile, on the other core of a small
    machine: a second checker process would cost its start for little). The fixtures' load asks
    for the same checks and gets these answers, waiting for those still running. Nothing is
    reported here: a file that does not parse or a refused check is the load's to report, as
    without this. The document's schema is not checked here (fixture_check.py comes with the app):
    a binding of a document the load then refuses may have been imported, in a checker process,
    as any start-up fixture's binding is: it is the operator's file, and the code policy's
    allowed folders apply all the same (``bindings_to_check``)."""
    def run() -> None:
        todo: list[Binding] = []
        for name in [*(settings.fixtures or [str(default_fixture())]), *settings.extra_fixtures]:
            path = Path(name)
            try:
                doc = parse(path.read_bytes(), name, max_bytes=settings.max_request_bytes, shipped=is_shipped(path))
                base = str(path.resolve().parent)
                found = bindings_to_check(engine, doc, base)
            except Exception:      # noqa: BLE001 -- unreadable, not YAML, not the schema's shape: the load says why
                continue
            todo += [Binding(target, base_dir=base, trusted=True) for _index, target in found]
        engine.prefetch_checks(todo)

    thread = threading.Thread(target=run, name="fixture-checks-early", daemon=True)
    thread.start()
    return thread


def is_shipped(path: Path) -> bool:
    """The bundled sandbox's fixture file (a shipped file: parsed with libyaml, see ``parse``)."""
    try:
        return path.resolve() == default_fixture().resolve()
    except OSError:
        return False

"""Fixture files: YAML, validated against fixture_schema.yaml, loaded into the store.

Each section is applied through the same domain rules as the API, so a
fixture cannot create a state the API could not. Any problem raises
``FixtureError`` naming the file, the path inside it and the reason.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from mockserver.domain.principal import Principal
from mockserver.domain import data_fixtures, keys, orgs, scms, users, versions
from mockserver.domain.context import Ctx
from mockserver.domain.models import ApiKey
from mockserver.errors import ApiError
from mockserver.resources import resource_path
from mockserver.runtime import Profile

_SCHEMA = yaml.safe_load((Path(__file__).parent / "fixture_schema.yaml").read_text())
_VALIDATOR = Draft202012Validator(_SCHEMA)
SYSTEM = Principal(ApiKey(api_key="", id="fixtures", owner=None, key_type="PlatformAdminKey"))


class FixtureError(Exception):
    def __init__(self, file: str, where: str, reason: str, status: int = 400):
        super().__init__(f"{file}: at {where}: {reason}")
        self.file, self.where, self.reason = file, where, reason
        self.status = status


def default_fixture() -> Path:
    return resource_path("fixtures", "default.yaml")


def load_into(ctx: Ctx, paths: list[str] | None, admin_key: str | None = None,
              extra: list[str] | None = None) -> None:
    """``paths`` replace the bundled sandbox (default: the sandbox); ``extra`` files are then
    applied on top of whichever was loaded."""
    for path in [*(paths or [str(default_fixture())]), *(extra or [])]:
        load_file(ctx, Path(path))
    admin_key = admin_key or ctx.settings.admin_key
    if admin_key:
        with ctx.store.write() as state:
            keys.add(state, ctx, None, label="--admin-key", key_type="PlatformAdminKey", secret=admin_key)


def replaces_sandbox(paths: list[str] | None) -> bool:
    """True when ``paths`` are given and the bundled sandbox is not among them."""
    if not paths:
        return False
    sandbox = default_fixture().resolve()
    return all(Path(p).resolve() != sandbox for p in paths)


def load_file(ctx: Ctx, path: Path) -> None:
    """A fixture file; its ``path:`` entries are files inside its own folder."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FixtureError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    load_text(ctx, raw, str(path), base_dir=path.resolve().parent)


def load_text(ctx: Ctx, raw: bytes, name: str, *, base_dir: Path | None) -> None:
    """A fixture document. ``base_dir`` None (a document sent over HTTP): it may name no file."""
    doc = parse(raw, name, max_bytes=ctx.settings.max_request_bytes)
    error = _first_schema_error(doc, name)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise FixtureError(name, where, error.message)
    for section, loader in SECTIONS:
        for index, item in enumerate(_items(doc.get(section))):
            try:
                loader(ctx, item, base_dir)
            except ApiError as exc:
                raise FixtureError(name, f"{section}/{index}", exc.message, exc.status) from None


def parse(raw: bytes, name: str, *, max_bytes: int) -> dict:
    """YAML (or JSON) text to a document, bounded: aliases may not expand it past ``max_bytes``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FixtureError(name, "(encoding)", f"not UTF-8 text: byte {exc.start} is invalid") from None
    try:
        doc = yaml.safe_load(text)
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
            items = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
            for key, value in items:
                if key is not None:
                    stack.append((key, ()))
                stack.append((value, inner))


def _first_schema_error(doc, name: str):
    try:
        return best_match(_VALIDATOR.iter_errors(doc))
    except RecursionError:
        raise FixtureError(name, "(top)", "nested too deeply") from None


def _items(section: Any) -> list:
    if section is None:
        return []
    return section if isinstance(section, list) else [section]


def _scm(ctx: Ctx, item: dict, _base: Path) -> None:
    scm_id = scms.create(ctx, {k: v for k, v in item.items() if k not in ("default", "oauth_status")}).id
    with ctx.store.write() as state:
        state.scms[scm_id].oauth_status = item.get("oauth_status", "unauthorized")
    if item.get("default"):
        scms.set_default(ctx, scm_id)


def _user(ctx: Ctx, item: dict, _base: Path) -> None:
    users.create(ctx, {k: v for k, v in item.items() if k != "keys"})
    with ctx.store.write() as state:
        for key in item.get("keys", []):
            if key["key"] in state.keys:
                raise ApiError(6001, f"API key {key['key']!r} is defined twice")
            keys.add(state, ctx, item["username"], label=key.get("label", ""),
                     key_type=key.get("type", "ManagementKey"), permissions=key.get("permissions"),
                     secret=key["key"])


def _org(ctx: Ctx, item: dict, _base: Path) -> None:
    body = {k: v for k, v in item.items() if k not in ("members", "type")}
    body["type_id"] = item.get("type")
    orgs.create(ctx, SYSTEM, body)
    members = item.get("members", [])
    for member in sorted(members, key=lambda m: m.get("role") != "owner"):   # owners first
        orgs.put_member(ctx, SYSTEM, item["org_name"], member["username"], member.get("role", "member"))


def _profile(ctx: Ctx, item: dict, _base: Path) -> None:
    try:
        profile = Profile.from_dict(item)
    except (TypeError, ValueError) as exc:
        raise ApiError(6001, str(exc)) from None
    ctx.profiles = {**(ctx.profiles or {}), profile.name: profile}


def _admin_key(ctx: Ctx, item: dict, _base: Path) -> None:
    with ctx.store.write() as state:
        keys.add(state, ctx, None, label=item.get("label", "admin"), key_type="PlatformAdminKey", secret=item["key"])


def _algorithm(ctx: Ctx, item: dict, base: Path | None) -> None:
    versions.load_fixture(ctx, SYSTEM, item, None if base is None else str(base))


Loader = Callable[[Ctx, Any, "Path | None"], None]
# Order matters: SCMs before algorithms, users before organizations and data.
SECTIONS: list[tuple[str, Loader]] = [
    ("scms", _scm),
    ("profiles", _profile),
    ("admin_keys", _admin_key),
    ("users", _user),
    ("organizations", _org),
    ("algorithms", _algorithm),
]


def register_section(name: str, loader: Loader) -> None:
    """Let another module (lifecycle, runtime, data) own a fixture section."""
    SECTIONS.append((name, loader))


def _register_data_sections() -> None:
    register_section("connectors", data_fixtures.load_connector_fixture)
    register_section("data", data_fixtures.load_data_fixture)


_register_data_sections()

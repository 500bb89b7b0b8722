"""docs/behaviour.md documents every profile field with the CPU and GPU defaults the code has
(issue 27 item 10): the table is checked against runtime/profiles.py."""
import re
from dataclasses import fields
from pathlib import Path

from mockserver.runtime.profiles import DEFAULT_PROFILES, Profile

DOC = (Path(__file__).resolve().parents[2] / "docs" / "behaviour.md").read_text()


def shown(field: str, value) -> str:
    """A default as the table writes it."""
    if field == "description":
        return value
    if field == "env":
        return ", ".join(f"`{k}={v}`" for k, v in value.items()) or "`{}`"
    if field == "languages":
        return ", ".join(f"`{x}`" for x in value)
    return f"`{value}`"


def documented() -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \| .*\|$", DOC, re.M)
    return {name: (cpu, gpu) for name, cpu, gpu in rows}


def test_every_profile_field_is_documented_with_both_defaults():
    cpu, gpu = DEFAULT_PROFILES
    table = documented()
    assert {f.name for f in fields(Profile)} <= set(table), set(f.name for f in fields(Profile)) - set(table)
    for f in fields(Profile):
        assert table[f.name] == (shown(f.name, getattr(cpu, f.name)), shown(f.name, getattr(gpu, f.name))), f.name

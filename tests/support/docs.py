"""The documentation as tests read it: README.md and docs/*.md, their fenced blocks."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]


def blocks(text: str, lang: str) -> list[str]:
    """The bodies of the ```lang fenced blocks of a Markdown text, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def fenced(doc: str) -> list[tuple[str, str]]:
    """Every fenced block of a doc page as (language, body); language '' when none is named."""
    return re.findall(r"^```(\w*)\n(.*?)^```", (ROOT / doc).read_text(), re.S | re.M)


def the_block(doc: str, lang: str, marker: str) -> str:
    """The one ```lang block of ``doc`` that contains ``marker``."""
    found = [b for b in blocks((ROOT / doc).read_text(), lang) if marker in b]
    assert len(found) == 1, f"{doc}: {len(found)} {lang} blocks contain {marker!r}, expected one"
    return found[0]

"""The Debian mirror this machine's apt uses, read from its apt sources (standard library only).

CI makes its Docker base image with debootstrap, which needs a Debian mirror. No address is
written into the project: the mirror is the one apt is configured with here, from
``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/*.list`` (one-line format) and
``/etc/apt/sources.list.d/*.sources`` (deb822 format). Other file names there (``*.disabled``,
``*.save``) are ignored, as apt ignores them.

The mirror is the URI of a binary (``deb``) entry, enabled, with the ``main`` component and a
Debian release as its suite (``bookworm``, not ``bookworm-security``, ``bookworm-updates`` or a
vendor's ``nodistro``): an entry for the wanted suite first, then one for the machine's own
release (``VERSION_CODENAME`` of /etc/os-release) or a release alias (``stable``...), since one
archive serves every release. :class:`NoMirror` says what was read and what is needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SCHEMES = ("http://", "https://", "file:/")       # what debootstrap can fetch from


class NoMirror(Exception):
    """No apt source of this machine names a Debian mirror debootstrap can use."""


@dataclass(frozen=True)
class Source:
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    enabled: bool
    origin: str                                   # file (and line or stanza) it came from


def parse_one_line(text: str, origin: str) -> list[Source]:
    """``deb [opt=val ...] URI SUITE [COMPONENT ...]`` lines (sources.list(5), one-line style)."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line, count=1)      # options: arch=, signed-by=, ...
        words = line.split()
        if len(words) < 3 or words[0] not in ("deb", "deb-src"):
            continue
        found.append(Source((words[0],), (words[1],), (words[2],), tuple(words[3:]), True, f"{origin}:{number}"))
    return found


def parse_deb822(text: str, origin: str) -> list[Source]:
    """Stanzas of ``Field: value`` lines separated by blank lines (sources.list(5), deb822 style)."""
    found = []
    stanzas: list[dict[str, str]] = [{}]
    last = None
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if stanzas[-1]:
                stanzas.append({})
            last = None
            continue
        if raw[0] in " \t" and last:                 # a continuation line (e.g. Signed-By's key)
            stanzas[-1][last] += " " + raw.strip()
            continue
        name, sep, value = raw.partition(":")
        if sep:
            last = name.strip().lower()
            stanzas[-1][last] = value.strip()
    for number, stanza in enumerate((s for s in stanzas if s), 1):
        enabled = stanza.get("enabled", "yes").lower() not in ("no", "false", "0")
        found.append(Source(tuple(stanza.get("types", "").split()), tuple(stanza.get("uris", "").split()),
                            tuple(stanza.get("suites", "").split()), tuple(stanza.get("components", "").split()),
                            enabled, f"{origin} (stanza {number})"))
    return found


def read_sources(etc_apt: Path = Path("/etc/apt")) -> list[Source]:
    """Every entry of the machine's apt sources, in apt's reading order."""
    sources = []
    main_list = etc_apt / "sources.list"
    if main_list.is_file():
        sources += parse_one_line(main_list.read_text(errors="replace"), str(main_list))
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list" and path.is_file():
                sources += parse_one_line(path.read_text(errors="replace"), str(path))
            elif path.suffix == ".sources" and path.is_file():
                sources += parse_deb822(path.read_text(errors="replace"), str(path))
    return sources


ALIASES = ("stable", "oldstable", "testing", "unstable", "sid")


def machine_release(os_release: Path = Path("/etc/os-release")) -> str | None:
    """This machine's Debian codename (``VERSION_CODENAME``), if it says one."""
    try:
        text = os_release.read_text(errors="replace")
    except OSError:
        return None
    found = re.search(r"^VERSION_CODENAME=\"?([\w-]+)\"?\s*$", text, re.M)
    return found.group(1) if found else None


def debian_mirror(suite: str, etc_apt: Path = Path("/etc/apt"), os_release: Path = Path("/etc/os-release")) -> str:
    """The mirror URI (no trailing slash) for debootstrap of ``suite``, from the apt sources."""
    sources = read_sources(etc_apt)
    usable = [s for s in sources if s.enabled and "deb" in s.types and "main" in s.components
              and any(u.startswith(SCHEMES) for u in s.uris)]
    releases = {machine_release(os_release), *ALIASES} - {None}
    for wanted in (lambda s: suite in s.suites, lambda s: bool(releases & set(s.suites))):
        for source in usable:
            if wanted(source):
                return next(u for u in source.uris if u.startswith(SCHEMES)).rstrip("/")
    read = "\n".join(f"  {s.origin}: {' '.join(s.types)} {' '.join(s.uris)} {' '.join(s.suites)} "
                     f"{' '.join(s.components)}{'' if s.enabled else ' (disabled)'}" for s in sources) or "  (none)"
    raise NoMirror(f"no Debian mirror in the apt sources under {etc_apt} (sources.list, sources.list.d/*.list, "
                   f"sources.list.d/*.sources): debootstrap of {suite} needs an enabled 'deb' entry with the 'main' "
                   f"component and the suite '{suite}' (or this machine's release, or a release alias such as 'stable'), over http(s) or file:. Entries read:\n{read}")

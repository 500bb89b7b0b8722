"""CI's Debian mirror comes from the machine's apt sources (.ci/apt_sources.py), never from the code."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("ci_apt_sources", ROOT / ".ci" / "apt_sources.py")
apt_sources = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = apt_sources            # dataclasses look their module up there
_spec.loader.exec_module(apt_sources)

# Sample files in the shapes Debian writes them (host names are placeholders: .example).
DEB822 = """\
Types: deb
# a comment inside the stanza
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
SECURITY_ONLY = """\
Types: deb deb-src
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""
THIRD_PARTY = """\
Types: deb
URIs: https://vendor.example/node_20.x
Suites: nodistro
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBF...
 -----END PGP PUBLIC KEY BLOCK-----
"""
ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one-line.example/debian bookworm main non-free-firmware
deb http://one-line.example/debian-security bookworm-security main
"""


def os_release(tmp_path, codename):
    path = tmp_path / "os-release"
    path.write_text(f'PRETTY_NAME="Debian GNU/Linux"\nVERSION_CODENAME={codename}\nID=debian\n')
    return path


def etc_apt(tmp_path, sources_list=None, **parts):
    root = tmp_path / "etc-apt"
    (root / "sources.list.d").mkdir(parents=True)
    if sources_list is not None:
        (root / "sources.list").write_text(sources_list)
    for name, text in parts.items():
        (root / "sources.list.d" / name.replace("__", ".")).write_text(text)
    return root


def test_deb822_sources_give_the_release_entry_not_security_or_a_vendor(tmp_path):
    root = etc_apt(tmp_path, a_vendor__sources=THIRD_PARTY, debian__sources=DEB822)
    assert apt_sources.debian_mirror("bookworm", root) == "http://mirror.example/debian"


def test_one_line_sources_list_with_options_and_comments(tmp_path):
    root = etc_apt(tmp_path, sources_list=ONE_LINE)
    assert apt_sources.debian_mirror("bookworm", root) == "http://one-line.example/debian"
    parsed = apt_sources.read_sources(root)
    assert [(s.types, s.suites) for s in parsed] == [(("deb-src",), ("bookworm",)), (("deb",), ("bookworm",)),
                                                     (("deb",), ("bookworm-security",))]
    assert parsed[1].components == ("main", "non-free-firmware")


def test_sources_list_d_list_files_count_and_other_names_do_not(tmp_path):
    root = etc_apt(tmp_path, z__list=ONE_LINE, debian__sources__disabled=DEB822, old__list__save=DEB822)
    assert apt_sources.debian_mirror("bookworm", root) == "http://one-line.example/debian"


def test_a_disabled_stanza_is_skipped(tmp_path):
    disabled = DEB822.replace("Types: deb\n# a comment", "Enabled: no\nTypes: deb\n# a comment", 1)
    root = etc_apt(tmp_path, debian__sources=disabled, other__list="deb http://other.example/debian trixie main\n")
    # the bookworm stanza is off; the trixie machine's archive serves bookworm as well
    assert apt_sources.debian_mirror("bookworm", root, os_release(tmp_path, "trixie")) == "http://other.example/debian"


def test_the_wanted_suite_wins_over_the_machines_release(tmp_path):
    root = etc_apt(tmp_path, a__list="deb http://trixie.example/debian trixie main\n",
                   b__list="deb http://bookworm.example/debian bookworm main\n")
    assert apt_sources.debian_mirror("bookworm", root, os_release(tmp_path, "trixie")) == "http://bookworm.example/debian"


def test_a_vendor_suite_is_no_release(tmp_path):
    root = etc_apt(tmp_path, node__sources=THIRD_PARTY, a__list="deb http://stable.example/debian stable main\n")
    assert apt_sources.debian_mirror("bookworm", root, os_release(tmp_path, "trixie")) == "http://stable.example/debian"
    assert apt_sources.machine_release(tmp_path / "missing") is None


@pytest.mark.parametrize("files", [
    {},                                                                    # nothing configured
    {"sec__sources": SECURITY_ONLY, "vendor__sources": THIRD_PARTY},       # no release suite with main
    {"x__list": "deb cdrom:[Debian]/ bookworm main\n"},                    # no scheme debootstrap fetches
    {"x__list": "deb http://contrib.example/debian bookworm contrib\n"},   # no main component
])
def test_no_usable_mirror_is_a_clear_error_listing_what_was_read(tmp_path, files):
    root = etc_apt(tmp_path, **files)
    with pytest.raises(apt_sources.NoMirror) as err:
        apt_sources.debian_mirror("bookworm", root, os_release(tmp_path, "bookworm"))
    message = str(err.value)
    assert "no Debian mirror in the apt sources" in message and "'deb' entry with the 'main'" in message
    for name in files:
        assert name.replace("__", ".") in message           # each file read is named


def test_ci_names_no_mirror_address():
    for script in (ROOT / ".ci").iterdir():
        text = script.read_text()
        assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)[\w.-]+\.\w+", text), f"{script.name} names an address"

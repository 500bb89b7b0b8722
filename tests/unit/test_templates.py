"""The environment template archive builder (mockserver.domain.templates)."""
import gzip
import io
import tarfile

import pytest

from mockserver.domain.environments import LANGUAGES
from mockserver.domain.repository import template_files
from mockserver.domain.templates import TEMPLATE_NAME, template_archive


def _open(data: bytes) -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_archive_holds_the_repository_template_at_its_root(language):
    with _open(template_archive(language)) as tar:
        members = tar.getmembers()
        files = {m.name: tar.extractfile(m).read() for m in members}
    assert files == template_files(TEMPLATE_NAME, language)
    assert "README.md" in files and len(files) >= 2
    for m in members:
        assert m.isfile() and m.mode == 0o644 and m.mtime == 0 and m.uid == 0
        assert not m.name.startswith(("/", "..")) and ".." not in m.name.split("/")


def test_archive_is_reproducible_and_differs_by_language():
    assert template_archive("python3-1") == template_archive("python3-1")
    assert template_archive("python3-1") != template_archive("java")
    assert gzip.decompress(template_archive("r"))[257:262] == b"ustar"       # a tar inside gzip


def test_python_template_names_its_entry_file():
    with _open(template_archive("python3-1")) as tar:
        names = tar.getnames()
    assert f"src/{TEMPLATE_NAME}.py" in names and "requirements.txt" in names

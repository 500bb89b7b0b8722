"""Environment templates: a language's starting files as the archive ``algo template`` extracts.

The files are the ones a new algorithm's repository starts with (``repository.template_files``),
for an algorithm named ``__ALGO__`` since a template belongs to no algorithm yet. The archive is
a gzipped tar with the files at its root (the CLI saves it as ``template.tar.gz`` and extracts it
into the destination folder). It is byte-for-byte reproducible: fixed times, owners and modes.
"""
from __future__ import annotations

import gzip
import io
import tarfile

from mockserver.domain.repository import template_files

TEMPLATE_NAME = "__ALGO__"      # the algorithm name a template's files carry
ARCHIVE_NAME = "template.tar.gz"


def template_archive(language: str) -> bytes:
    """The gzipped tar of ``language``'s template files."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(template_files(TEMPLATE_NAME, language).items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()

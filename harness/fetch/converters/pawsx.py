"""PAWS-X (Yang et al. 2019).

Release: ``x-final.tar.gz``, holding ``x-final/{lang}/dev_2k.tsv`` and ``test_2k.tsv`` for the
seven languages, ``x-final/en/train.tsv`` (PAWS-Wiki, English) and the machine-translated
``x-final/{lang}/translated_train.tsv``. Each file is tab separated with the header
``id sentence1 sentence2 label`` and no quoting.

As XTREME keeps it: English training data only (the translated training files are not used) and
the dev and test files of every language, each sentence stripped of surrounding white space.
Unlike XTREME, which drops the ids and writes with Python's csv quoting, the files keep the id
column and are written as plain tab-separated text with the header ``id sentence1 sentence2
label`` (what the ``tsv`` reader reads), and the test labels are kept. The "NS" placeholders
the publisher reports in a few translated dev/test pairs are kept, as in XTREME.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from pathlib import Path

from harness.errors import HarnessError
from harness.fetch.converters._text import utf8
from harness.fetch.converters.squad_v1_1 import release_file, write_bytes

ARCHIVE = "x-final.tar.gz"
LANGUAGES = ("de", "en", "es", "fr", "ja", "ko", "zh")
HEADER = ("id", "sentence1", "sentence2", "label")


def _files() -> list[str]:
    """The converted files, relative to ``x-final/`` in the archive and to ``out``."""
    return ["en/train.tsv"] + [
        f"{lang}/{split}.tsv" for lang in LANGUAGES for split in ("dev_2k", "test_2k")
    ]


def _convert_tsv(data: bytes, where: str) -> tuple[str, int]:
    """The normalised file text and its number of pairs."""
    lines = utf8(data, where).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise HarnessError(f"{where} is empty; expected the header {'<TAB>'.join(HEADER)}")
    header = [field.strip() for field in lines[0].split("\t")]
    # the publisher's format names the last column 'label' ('noisy_label' in some PAWS files)
    if (
        header[:3] != list(HEADER[:3])
        or len(header) != 4
        or header[3] not in ("label", "noisy_label")
    ):
        raise HarnessError(
            f"{where} has the header {header}; a PAWS-X file starts with {'<TAB>'.join(HEADER)}"
        )
    rows = ["\t".join(HEADER)]
    for number, line in enumerate(lines[1:], start=2):
        fields = line.strip().split("\t")
        if len(fields) != 4:
            raise HarnessError(
                f"{where} line {number} has {len(fields)} tab-separated fields; a PAWS-X line "
                "has 4 (id, sentence1, sentence2, label)"
            )
        pair_id, sentence1, sentence2, label = (field.strip() for field in fields)
        if label not in ("0", "1"):
            raise HarnessError(f"{where} line {number}: label {label!r} is not 0 or 1")
        rows.append("\t".join((pair_id, sentence1, sentence2, label)))
    return "\n".join(rows) + "\n", len(rows) - 1


def convert(release: Path, out: Path) -> dict[str, int]:
    path = release_file(release, ARCHIVE)
    counts: dict[str, int] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {m.name.removeprefix("./"): m for m in archive.getmembers()}
            for relative in _files():
                name = f"x-final/{relative}"
                member = members.get(name)
                handle = archive.extractfile(member) if member and member.isfile() else None
                if handle is None:
                    raise HarnessError(
                        f"release file '{ARCHIVE}' has no file member '{name}': is it the "
                        "official PAWS-X archive?"
                    )
                with handle:
                    data = handle.read()
                text, count = _convert_tsv(data, f"'{ARCHIVE}' member '{name}'")
                write_bytes(out, relative, text.encode("utf-8"))
                counts[relative] = count
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise HarnessError(
            f"release file '{ARCHIVE}' is not a readable .tar.gz archive: {exc}"
        ) from exc
    return counts

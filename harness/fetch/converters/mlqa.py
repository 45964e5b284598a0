"""MLQA v1 (Lewis et al. 2020).

Release: ``MLQA_V1.zip``, holding ``MLQA_V1/{dev,test}/{split}-context-{c}-question-{q}.json``
for every pair of the seven languages. XTREME evaluates only the pairs whose context and
question share a language, so those 2 x 7 files are taken out of the archive, checked (SQuAD
JSON; test answers at their offsets, as XTREME asserts) and written unchanged under
``out/MLQA_V1/{split}/``. XTREME's preprocessing also blanks the test answers (against
accidental cheating); here they are kept, since the harness scores the test split itself.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from harness.errors import HarnessError
from harness.fetch.converters.squad_v1_1 import (
    check_spans,
    count_questions,
    parse_squad,
    release_file,
    write_bytes,
)

ARCHIVE = "MLQA_V1.zip"
LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")
SPLITS = ("dev", "test")


def convert(release: Path, out: Path) -> dict[str, int]:
    path = release_file(release, ARCHIVE)
    counts: dict[str, int] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for split in SPLITS:
                for lang in LANGUAGES:
                    relative = f"MLQA_V1/{split}/{split}-context-{lang}-question-{lang}.json"
                    if relative not in names:
                        raise HarnessError(
                            f"release file '{ARCHIVE}' has no member '{relative}': is it the "
                            "official MLQA v1 archive?"
                        )
                    data = archive.read(relative)
                    where = f"'{ARCHIVE}' member '{relative}'"
                    doc = parse_squad(data, where)
                    if split == "test":  # XTREME checks the test answers only
                        check_spans(doc, where)
                    write_bytes(out, relative, data)
                    counts[relative] = count_questions(doc)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise HarnessError(
            f"release file '{ARCHIVE}' is not a readable zip archive: {exc}"
        ) from exc
    return counts

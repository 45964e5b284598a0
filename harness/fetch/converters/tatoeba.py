"""Tatoeba (LASER's test sets, data/tatoeba/v1) -> ``tatoeba.{lang3}-eng.{lang3,eng}``.

Release files: for each language, ``tatoeba.<lang3>-eng.<lang3>`` and ``tatoeba.<lang3>-eng.eng``
of facebookresearch/LASER, line-aligned (line i of one is the translation of line i of the
other), one sentence per line.

What the conversion does, as XTREME's preprocessing does: the 41 languages of XTREME and
XTREME-R are kept, under the ISO 639-3 codes LASER names them with (``pes`` for Persian, ``swh``
for Swahili, ``cmn`` for Chinese, ...; harness.data.readers.TATOEBA_CODES).

Where it differs (kept for our reader, harness.data.readers.read_tatoeba): the files keep
LASER's names (XTREME writes ``<xx>-en.<xx>`` and ``<xx>-en.en``) and the English side keeps its
order, so that line i is still the gold target of query i (XTREME sorts the English side
alphabetically, hiding the alignment, and keeps the gold apart).
"""

from __future__ import annotations

from pathlib import Path

from harness.data.readers import TATOEBA_CODES
from harness.errors import HarnessError
from harness.fetch.converters._text import utf8


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise HarnessError(f"release file '{path}' is missing (see the spec's fetch files).")
    found = utf8(path.read_bytes(), f"release file '{path}'").split("\n")
    if found and found[-1] == "":
        found.pop()
    return found


def convert(release: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for code in sorted(TATOEBA_CODES.values()):
        stem = f"tatoeba.{code}-eng"
        source = _lines(release / f"{stem}.{code}")
        english = _lines(release / f"{stem}.eng")
        if len(source) != len(english):
            raise HarnessError(
                f"release files '{stem}.{code}' ({len(source)} lines) and '{stem}.eng' "
                f"({len(english)} lines) are not line-aligned."
            )
        if not source:
            raise HarnessError(f"release file '{release / f'{stem}.{code}'}' is empty.")
        for name, lines in ((f"{stem}.{code}", source), (f"{stem}.eng", english)):
            if any(not line.strip() for line in lines):
                number = next(i for i, line in enumerate(lines, start=1) if not line.strip())
                raise HarnessError(f"release file '{release / name}' line {number} is empty.")
            (out / name).write_text(
                "".join(f"{line}\n" for line in lines), encoding="utf-8", newline="\n"
            )
            counts[name] = len(lines)
    return dict(sorted(counts.items()))

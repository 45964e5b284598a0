"""COPA (Roemmele et al. 2011) as SuperGLUE distributes it: ``COPA.zip``.

The archive holds ``COPA/train.jsonl`` (400), ``COPA/val.jsonl`` (100) and ``COPA/test.jsonl``
(500, unlabelled); each line has ``premise``, ``choice1``, ``choice2``, ``question``,
``label`` and ``idx``. Train and val are checked and written unchanged to ``train.jsonl`` and
``val.jsonl`` (XCOPA's second English training stage); test has no labels and is left out.

XTREME's download unzips the same archive into its XCOPA folder as ``{train,val,test}-en.jsonl``;
the spec reads the stage from its own folder under the archive's names instead.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.errors import HarnessError
from harness.fetch.converters.xcopa import check_copa_record, jsonl_lines, write_lines

ARCHIVE = "COPA.zip"
MEMBERS = {"train.jsonl": "COPA/train.jsonl", "val.jsonl": "COPA/val.jsonl"}


def open_zip(path: Path) -> zipfile.ZipFile:
    """The archive at ``path``; :class:`HarnessError` when it is missing or not a zip."""
    if not path.is_file():
        raise HarnessError(f"release file '{path}' is missing.")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise HarnessError(f"'{path}' is not a zip archive ({exc}); download it again.") from exc


def read_member(archive: zipfile.ZipFile, member: str, path: Path) -> bytes:
    """The bytes of ``member`` of ``archive`` (read from ``path``), checked by its CRC."""
    try:
        return archive.read(member)
    except KeyError:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        raise HarnessError(
            f"'{path}' has no member '{member}' (it holds {names[:10]}"
            f"{' ...' if len(names) > 10 else ''})."
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise HarnessError(f"'{path}' member '{member}' cannot be read ({exc}).") from exc


def convert(release: Path, out: Path) -> dict[str, int]:
    path = release / ARCHIVE
    counts: dict[str, int] = {}
    with open_zip(path) as archive:
        for target, member in MEMBERS.items():
            where = f"{path}:{member}"
            lines = jsonl_lines(read_member(archive, member, path), where)
            if not lines:
                raise HarnessError(f"'{where}' holds no examples.")
            for number, (_, record) in enumerate(lines, start=1):
                check_copa_record(record, f"'{where}' example {number}")
            write_lines(out / target, [raw for raw, _ in lines])
            counts[target] = len(lines)
    return counts

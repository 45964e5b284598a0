"""XCOPA (Ponti et al. 2020): cambridgeltl/xcopa ``data/<lang>/{val,test}.<lang>.jsonl``.

Release files: ``val.<lang>.jsonl`` and ``test.<lang>.jsonl`` for each XCOPA language present
in the release folder (the published repository has 11 languages and no English). Each line is
a COPA record (``premise``, ``choice1``, ``choice2``, ``question`` = ``cause``/``effect``,
``label`` = 0/1, plus ``idx`` and ``changed``; CRLF line ends). The lines are checked and
written unchanged (but with LF line ends) to ``<lang>/val.<lang>.jsonl`` and
``<lang>/test.<lang>.jsonl``.

XTREME's download renames the files to ``val-<lang>.jsonl``/``test-<lang>.jsonl`` in one folder
and sets every test label to 0; here the per-language folders the spec reads are kept and the
test labels stay (the harness scores test predictions itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fetch.converters._text import json_value, utf8

LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
SPLITS = ("val", "test")


def check_copa_record(record: Any, where: str, labelled: bool = True) -> None:
    """Raise :class:`HarnessError` unless ``record`` is a COPA line (``where``: file and line)."""
    if not isinstance(record, dict):
        raise HarnessError(f"{where} is not a JSON object; a COPA line is one.")
    for key in ("premise", "choice1", "choice2"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise HarnessError(f"{where} has no text in {key!r} (keys: {sorted(record)}).")
    if record.get("question") not in ("cause", "effect"):
        raise HarnessError(
            f"{where}: 'question' is {record.get('question')!r}, not 'cause' or 'effect'."
        )
    if labelled:
        label = record.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            raise HarnessError(f"{where}: 'label' is {label!r}, not 0 or 1.")


def jsonl_lines(data: bytes, name: str) -> list[tuple[bytes, Any]]:
    """The non-blank lines of a JSONL file with their parsed values (``name`` for errors)."""
    text = utf8(data, f"'{name}'")
    out: list[tuple[bytes, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            out.append((line.encode("utf-8"), json_value(line, f"'{name}' line {number}")))
    return out


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def convert(release: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for lang in LANGUAGES:
        names = [f"{split}.{lang}.jsonl" for split in SPLITS]
        present = [(release / name).is_file() for name in names]
        if not any(present):
            continue
        if not all(present):
            missing = [n for n, p in zip(names, present, strict=True) if not p]
            raise HarnessError(
                f"XCOPA release in '{release}' has {lang} files but not {missing}: each "
                "language needs val and test."
            )
        for name in names:
            path = release / name
            lines = jsonl_lines(path.read_bytes(), str(path))
            if not lines:
                raise HarnessError(f"'{path}' holds no examples.")
            for number, (_, record) in enumerate(lines, start=1):
                check_copa_record(record, f"'{path}' example {number}")
            target = f"{lang}/{name}"
            write_lines(out / target, [raw for raw, _ in lines])
            counts[target] = len(lines)
    if not counts:
        raise HarnessError(
            f"no XCOPA files in '{release}': expected val.<lang>.jsonl and test.<lang>.jsonl "
            f"for the languages {list(LANGUAGES)}."
        )
    return counts

"""CCG supertagging from CCGbank (LDC2005T13), which is licensed and read from local files.

Expected input: the CCGbank release folder with its ``data/AUTO/<section>/wsj_<section><nn>.auto``
files (``AUTO`` format: a header line ``ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1`` followed by one
line with the derivation, whose leaves read ``(<L category POS POS word predarg-category>)``).
Standard splits: sections 02-21 train, 00 dev, 23 test.

:func:`prepare_ccg` writes ``train/dev/test.jsonl`` (one sentence per line, ``{"id", "tokens",
"tags"}``, the tags being the lexical categories) and a task spec ``ccg.yaml`` whose labels are
the categories seen in training at least ``min_count`` times plus ``UNK``, which every other
category becomes. Register it with ``harness submit <out>/ccg.yaml``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.io import atomic_write_text

LEAF = re.compile(r"<L (\S+) \S+ \S+ (\S+) \S+>")
SECTIONS = {"train": [f"{s:02d}" for s in range(2, 22)], "dev": ["00"], "test": ["23"]}
UNK = "UNK"


def read_auto(path: Path) -> list[dict[str, Any]]:
    """Sentences of one AUTO file as ``{"id", "tokens", "tags"}``."""
    rows: list[dict[str, Any]] = []
    current = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("ID="):
            current = line.split()[0][3:]
            continue
        if not line.strip():
            continue
        leaves = LEAF.findall(line)
        if current is None or not leaves:
            raise HarnessError(
                f"'{path}' line {number} is not CCGbank AUTO format (an 'ID=' header line, "
                "then a derivation with leaves like '(<L N/N NNP NNP Pierre N_73/N_73>)')."
            )
        rows.append(
            {"id": current, "tokens": [w for _, w in leaves], "tags": [c for c, _ in leaves]}
        )
        current = None
    return rows


def _split_rows(auto_dir: Path, split: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for section in SECTIONS[split]:
        for path in sorted((auto_dir / section).glob("*.auto")):
            rows += read_auto(path)
    if not rows:
        raise HarnessError(
            f"No CCGbank AUTO files for the {split} split (sections {SECTIONS[split]}) under "
            f"'{auto_dir}'. Pass the CCGbank folder that holds data/AUTO/<section>/*.auto."
        )
    return rows


def prepare_ccg(ccgbank: Path, out: Path, min_count: int = 1) -> Path:
    """Convert CCGbank to JSONL splits and a task spec under ``out``; returns the spec path."""
    auto_dir = ccgbank / "data" / "AUTO"
    if not auto_dir.is_dir():
        raise HarnessError(f"'{auto_dir}' does not exist: pass the CCGbank release folder.")
    splits = {split: _split_rows(auto_dir, split) for split in SECTIONS}
    counts = Counter(tag for row in splits["train"] for tag in row["tags"])
    labels = [*sorted(tag for tag, n in counts.items() if n >= min_count), UNK]
    known = set(labels)
    for split, rows in splits.items():
        for row in rows:
            row["tags"] = [t if t in known else UNK for t in row["tags"]]
        atomic_write_text(
            out / f"{split}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        )
    spec = {
        "name": "ccg",
        "role": "intermediate",
        "kind": "tagging",
        "description": (
            "CCG supertagging on CCGbank (Hockenmaier and Steedman 2007): the lexical category "
            f"of every word. Categories seen fewer than {min_count} time(s) in training are UNK."
        ),
        "source": {
            "type": "local",
            "path": out.as_posix(),
            "files": {s: f"{s}.jsonl" for s in SECTIONS},
        },
        "labels": labels,
        "metric": "token_accuracy",
    }
    path = out / "ccg.yaml"
    atomic_write_text(path, yaml.safe_dump(spec, sort_keys=False, width=100))
    return path

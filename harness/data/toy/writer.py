"""Writing the toy benchmark: :func:`generate`, and files that are byte-for-byte
deterministic (UTF-8, ``\\n`` newlines, JSON with sorted keys).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.data.toy.config import (
    INTERMEDIATE_TASKS,
    LANGUAGES,
    TARGET_TASKS,
    ToyConfig,
    check_config,
)
from harness.data.toy.corpus import build_corpus
from harness.data.toy.descriptions import task_json
from harness.data.toy.intermediate import build_intermediate_task
from harness.data.toy.items import Record
from harness.data.toy.languages import language_metadata
from harness.data.toy.readme import readme_text
from harness.data.toy.targets import build_target_task
from harness.data.toy.world import ToyWorld


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _write_json(path: Path, obj: object) -> None:
    _write_text(path, json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n")


def _write_jsonl(path: Path, records: Sequence[Record]) -> None:
    _write_text(
        path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    )


def generate(out_dir: Path, config: ToyConfig) -> None:
    """Write the whole toy benchmark under ``out_dir``.

    ``out_dir`` is created; it must be absent or an empty directory, else ``ValueError``.
    Layout: ``languages.json``, ``README.md``, ``corpus/{lang}.txt``,
    ``tasks/{task}/task.json``, ``tasks/{task}/train.jsonl``, and ``tasks/{task}/dev.jsonl``
    (intermediate tasks) or ``tasks/{task}/dev.{lang}.jsonl`` and ``test.{lang}.jsonl``
    (target tasks).
    """
    out_dir = Path(out_dir)
    check_config(config)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(
            f"toy data output {out_dir} exists and is not an empty directory; "
            "remove it or choose another path"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    world = ToyWorld(config.seed)
    _write_json(out_dir / "languages.json", language_metadata(config))
    for lang in LANGUAGES:
        lines = build_corpus(lang, config, world)
        _write_text(out_dir / "corpus" / f"{lang}.txt", "".join(line + "\n" for line in lines))
    for task in INTERMEDIATE_TASKS:
        splits = build_intermediate_task(task, config, world)
        for split, records in splits.items():
            _write_jsonl(out_dir / "tasks" / task / f"{split}.jsonl", records)
        _write_json(out_dir / "tasks" / task / "task.json", task_json(task, config))
    for task in TARGET_TASKS:
        for split, records in build_target_task(task, config, world).items():
            _write_jsonl(out_dir / "tasks" / task / f"{split}.jsonl", records)
        _write_json(out_dir / "tasks" / task / "task.json", task_json(task, config))
    _write_text(out_dir / "README.md", readme_text(config, world))

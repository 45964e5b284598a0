"""Reading task examples from their source into canonical records.

Every reader returns a list of dicts with the canonical fields of the task kind
(:attr:`harness.kinds.base.TaskKind.fields`) plus ``id``, each checked by the kind
(:meth:`~harness.kinds.base.TaskKind.check_example`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import kinds
from harness.errors import HarnessError
from harness.kinds.base import Example
from harness.tasks import HubSource, LocalSource, TaskSpec

__all__ = ["Example", "load_examples"]


def load_examples(
    spec: TaskSpec, split: str, language: str, root: Path = Path(".")
) -> list[Example]:
    """Examples of one split and language, validated against the spec's kind and labels."""
    if isinstance(spec.source, LocalSource):
        rows = _read_local(spec, spec.source, split, language, root)
    else:
        rows = _read_hub(spec, spec.source, split, language, root)
    if spec.skip_labels:
        column = spec.column("label")
        skip = set(spec.skip_labels)
        rows = [r for r in rows if not (isinstance(column, str) and _value(r, column) in skip)]
    return [_canonical(spec, row, i, split, language) for i, row in enumerate(rows)]


_MISSING = object()


def _value(row: dict[str, Any], column: str) -> Any:
    """``row[column]``; ``""`` names no column (the field is empty in every row), and a dotted
    name reaches into nested mappings (``choices.text``) when no column has that exact name."""
    if column == "":
        return ""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _read_local(
    spec: TaskSpec, source: LocalSource, split: str, language: str, root: Path
) -> list[dict[str, Any]]:
    if split not in source.files:
        raise HarnessError(f"Task '{spec.name}' has no split '{split}' in its source.files.")
    if source.format != "jsonl":
        from harness.data.readers import TATOEBA_CODES, read_local

        name = source.files[split].format(
            language=language, language3=TATOEBA_CODES.get(language, language)
        )
        return read_local(source.format, root / source.path / name, spec.name, language)
    path = root / source.path / source.files[split].format(language=language)
    if not path.is_file():
        raise HarnessError(
            f"Data file '{path}' for task '{spec.name}' ({split}, {language}) is missing. "
            "For the toy profile run `harness data`; otherwise `dvc pull` the data snapshot "
            "or fix source.path in the task spec."
        )
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(
                    f"'{path}' line {number} is not valid JSON ({exc.msg}); regenerate or "
                    "re-fetch the file."
                ) from exc
            if not isinstance(row, dict):
                raise HarnessError(f"'{path}' line {number} must be a JSON object.")
            rows.append(row)
    return rows


def _read_hub(
    spec: TaskSpec, source: HubSource, split: str, language: str, root: Path = Path(".")
) -> list[dict[str, Any]]:
    """Load from the fetched snapshot (``source.snapshot``), or from the Hugging Face Hub at
    the pinned revision."""
    if split not in source.splits:
        raise HarnessError(f"Task '{spec.name}' has no split '{split}' in its source.splits.")
    import datasets  # heavy import, only where the Hub is used

    config = source.config.format(language=language) if source.config else None
    if source.snapshot is not None:
        folder = root / source.snapshot
        if not folder.is_dir():
            raise HarnessError(
                f"Task '{spec.name}' reads '{source.id}' from its snapshot '{folder}', which is "
                f"missing. Run `harness fetch --task {spec.name}` (or `dvc pull` the pinned data)."
            )
        try:
            data = datasets.load_dataset(str(folder), config, split=source.splits[split])
        except Exception as exc:  # a damaged or foreign folder: refetch it
            raise HarnessError(
                f"Could not read the snapshot '{folder}' of '{source.id}' (config {config}, "
                f"split {source.splits[split]}) for task '{spec.name}': {exc}. Fetch it again: "
                f"`harness fetch --task {spec.name} --force`."
            ) from exc
        return [dict(row) for row in data]
    try:
        data = datasets.load_dataset(
            source.id, config, split=source.splits[split], revision=source.revision
        )
    except Exception as exc:  # network, auth, missing revision: all user-fixable
        raise HarnessError(
            f"Could not load '{source.id}' (config {config}, split {source.splits[split]}, "
            f"revision {source.revision}) for task '{spec.name}': {exc}. On a machine without "
            "Hub access, pre-fetch the dataset into the Hugging Face cache on a machine with "
            "access (or `dvc pull` the team's data snapshot) and set HF_DATASETS_OFFLINE=1."
        ) from exc
    return [dict(row) for row in data]


def _canonical(
    spec: TaskSpec, row: dict[str, Any], index: int, split: str, language: str
) -> Example:
    out: Example = {"id": str(row.get("id", f"{split}-{language}-{index}"))}
    where = f"Task '{spec.name}' ({split}, {language}) row {index}"
    kind = kinds.of(spec)
    for field in kind.fields:
        column = spec.column(field)
        names = [column] if isinstance(column, str) else column
        values = [_value(row, c) for c in names]
        missing = [c for c, v in zip(names, values, strict=True) if v is _MISSING]
        if missing:
            raise HarnessError(
                f"{where} has no column {missing[0]!r} for field '{field}'. Columns present: "
                f"{sorted(row)}. Fix `columns` in the spec."
            )
        out[field] = values[0] if isinstance(column, str) else values
        if field in spec.value_map:
            out[field] = _mapped(spec, field, out[field], where)
    kind.check_example(spec, out, where)
    return out


def _mapped(spec: TaskSpec, field: str, value: Any, where: str) -> str:
    """``value`` of ``field`` through the spec's ``value_map`` (an unlisted value is refused)."""
    mapping = spec.value_map[field]
    if not isinstance(value, str) or value not in mapping:
        raise HarnessError(
            f"{where} has {value!r} in field '{field}', which the spec's value_map.{field} does "
            f"not list ({sorted(mapping)}). Add the value to value_map, or fix the data."
        )
    return mapping[value]

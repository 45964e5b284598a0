"""The result files: one module that their writers and readers both import.

* The per-cell **result file** (``results/cells/<setting>-<target>-s<seed>.json``, written by
  the evaluate and retrieve stages through :func:`write_result`, read by :func:`read_result`):
  a cell's scores per language, split and metric, and its provenance; beside it the
  **per-example file** (:func:`examples_path`, one :func:`example_line` per language, split and
  metric) holding every example's sufficient statistics.
* The **difficulty file** (``results/difficulty/<task>.json``, :func:`write_difficulty`,
  :func:`read_difficulty_file`): the difficulty measures of one intermediate task.

From schema version 3 a result file carries ``checksum``: ``sha256:<hex>`` of its canonical
content (every other field, as :func:`canonical_json` writes it). :func:`read_result` verifies
it, so a result file altered or damaged after it was written is never validated or ingested.
Files of schema versions 1 and 2 (written before checksums) are still read, unverified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.config import BASELINE
from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.strict import field_problems, load_json, parse_json, read_bytes

RESULT_SCHEMA_VERSION = 3  # 3: a checksum over the canonical content
"""The result-file schema version this harness writes."""
DIFFICULTY_SCHEMA_VERSION = 1
RESULT_BYTES = 64 * 1024 * 1024
"""Size limit of one result or difficulty file (the paper profile's largest, a 40-language
cell, is well under 1 MiB)."""


INT32 = (-(2**31), 2**31 - 1)
"""The range of the store's INTEGER columns (seed, n_examples)."""
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
"""The one timestamp format of result files: ISO 8601's extended form with a UTC offset, as
``datetime.isoformat`` writes it (``2026-12-03T13:15:55+00:00``). Python accepts more forms
(``2026-W49-3``, ``20261203T131555``) that DuckDB's TIMESTAMPTZ does not."""


class _Strict(BaseModel):
    # strict types: a boolean is no number and "0.5" no float (lax pydantic would store
    # ``true`` as a score of 100 %)
    model_config = ConfigDict(extra="forbid", strict=True)


ORACLE_SPLIT = "test_oracle"
"""The split name of test scores of the target-dev oracle's model (Keung et al. 2020: the
checkpoint with the best target-language dev score), beside ``test`` (the English-dev selected
model's)."""


class Score(_Strict):
    language: str = Field(min_length=1)
    split: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    # ranges, NaN and completeness are content checks (harness.results.validate), reported row
    # by row; the schema only fixes fields and types
    value: float | None
    n_examples: int = Field(ge=0, le=INT32[1])


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    git_commit: str | None
    git_dirty: bool | None
    params_hash: str
    harness_version: str
    packages: dict[str, str]
    hardware: dict[str, Any]
    started_at: str = Field(pattern=TIMESTAMP)
    finished_at: str = Field(pattern=TIMESTAMP)
    # schema version 2
    dvc_stage_hash: str | None = None
    """Hash of the cell's DVC-tracked inputs (their DVC md5s, as dvc.lock records them) and its
    parameters hash."""
    inputs: dict[str, str] | None = None
    """DVC md5 of each input folder (checkpoint, task data) by path."""
    container_image: str | None = None
    """Digest of the container image the stage ran in (XTRANSFER_IMAGE_DIGEST); None outside."""
    timings: dict[str, float] | None = None
    """Seconds per step: phase-1 and phase-2 training, evaluation."""
    params: dict[str, Any] | None = None
    """The parameters that can change the cell's scores (what ``params_hash`` hashes)."""
    # schema version 3
    replication: dict[str, Any] | None = None
    """Whether the result is an exact replication (``exact``) and if not, why (``reasons``):
    uncommitted code, data differing from data.dvc's snapshot, unpinned Hub revisions."""
    selection: dict[str, Any] | None = None
    """Best-checkpoint selection of the cell's training runs (``phase1`` / ``phase2``: metric,
    dev data, selected step, its English dev score, checks, the target-dev oracle); absent
    when the last step's model was kept (:func:`harness.stages.cells.selection_record`)."""
    throughput: dict[str, Any] | None = None
    """Per run of the cell (``phase1``, ``phase2``, ``evaluate``): real and padded tokens,
    padding fraction, tokens/s, model TFLOP/s, MFU against the device's peak, device-hours
    (:meth:`harness.model.throughput.Meter.record`)."""


CHECKSUM_FROM_VERSION = 3
"""The first result-file schema version whose files must carry a checksum."""
MAX_SCHEMA_VERSION = RESULT_SCHEMA_VERSION
"""The newest result-file schema version this harness reads."""


def canonical_json(content: dict[str, Any]) -> str:
    """The canonical text a result file's checksum covers: every field but ``checksum``, keys
    sorted, no whitespace, non-ASCII kept."""
    body = {k: v for k, v in content.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_checksum(content: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def with_checksum(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with its ``checksum`` field set (write this)."""
    return {**content, "checksum": content_checksum(content)}


def verify_checksum(path: Path, raw: Any) -> None:
    """Raise :class:`HarnessError` if parsed result file ``raw`` fails its checksum, or if its
    schema version requires a checksum it lacks."""
    if not isinstance(raw, dict):
        return  # the schema check reports it
    stored = raw.get("checksum")
    version = raw.get("schema_version")
    if stored is None:
        if isinstance(version, int) and CHECKSUM_FROM_VERSION <= version <= MAX_SCHEMA_VERSION:
            raise HarnessError(
                f"Result file '{path}' (schema version {version}) has no checksum, so its "
                "integrity cannot be checked; it is not used. Regenerate it: delete it and run "
                "`dvc repro` (or the `harness evaluate` command of its cell)."
            )
        return
    actual = content_checksum(raw)
    if stored != actual:
        raise HarnessError(
            f"Result file '{path}' fails its checksum: its content changed after it was written "
            f"(recorded {str(stored)[:80]}, content hashes to {actual}). It is not used. "
            "Regenerate it: delete it and run `dvc repro` (or the `harness evaluate` command of "
            "its cell)."
        )


class ResultFile(_Strict):
    schema_version: int = Field(ge=1, le=MAX_SCHEMA_VERSION)
    run_id: str = Field(min_length=1)
    model: str = Field(min_length=1)
    intermediate_task: str | None
    target_task: str = Field(min_length=1)
    seed: int = Field(ge=INT32[0], le=INT32[1])
    primary_metric: str
    scores: list[Score] = Field(min_length=1)
    provenance: Provenance
    checksum: str | None = None
    """``sha256:<hex>`` of the canonical content (schema version 3 on); verified on read."""


def read_result(path: Path) -> ResultFile:
    """Parse and validate one result file; raise :class:`HarnessError` naming the problem."""
    data = read_bytes(path, "Result file", RESULT_BYTES)
    try:
        raw = parse_json(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(
            f"Result file '{path}' is not valid JSON ({exc}); it may be truncated. Rerun the "
            "evaluate stage that writes it (`dvc repro`)."
        ) from exc
    except ValueError as exc:
        raise HarnessError(f"Result file '{path}' is refused: {exc}.") from exc
    verify_checksum(path, raw)
    try:
        result = ResultFile.model_validate(raw)
    except ValidationError as exc:
        problems = field_problems(exc, most=5)
        raise HarnessError(f"Result file '{path}' is invalid: {problems}.") from exc
    return result


def run_key(result: ResultFile) -> str:
    """One row per (model, intermediate, target, seed): the leaderboard's unit."""
    return (
        f"{result.model}/{result.intermediate_task or BASELINE}/{result.target_task}/s{result.seed}"
    )


# ---------------------------------------------------------------------------------------------
# writing a cell's result


def examples_path(result_file: Path) -> Path:
    """The per-example file beside a result file: ``X.json`` -> ``X.examples.jsonl`` (one line
    per language, split and metric, with every example's sufficient statistics)."""
    return result_file.with_name(result_file.stem + ".examples.jsonl")


def example_line(
    language: str, split: str, metric: str, ids: Sequence[str], rows: Sequence[Sequence[float]]
) -> str:
    """One line of the per-example file: the statistics rows of one language, split, metric."""
    return json.dumps(
        {
            "language": language,
            "split": split,
            "metric": metric,
            "ids": list(ids),
            "stats": [list(r) for r in rows],
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def score_row(language: str, split: str, metric: str, value: float, n: int) -> dict[str, Any]:
    """One entry of a result file's ``scores``."""
    return {"language": language, "split": split, "metric": metric, "value": value, "n_examples": n}


def new_result(
    run_id: str,
    model: str,
    intermediate: str | None,
    target: str,
    seed: int,
    primary_metric: str,
    scores: Sequence[dict[str, Any]],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The content of a result file (``intermediate`` None for the baseline), checksummed."""
    return with_checksum(
        {
            "schema_version": RESULT_SCHEMA_VERSION,
            "run_id": run_id,
            "model": model,
            "intermediate_task": intermediate,
            "target_task": target,
            "seed": seed,
            "primary_metric": primary_metric,
            "scores": list(scores),
            "provenance": provenance,
        }
    )


def write_result(out_file: Path, result: dict[str, Any], example_lines: Sequence[str]) -> None:
    """Write the per-example file, then the result file (each atomically): a result file on
    disk always has its per-example file beside it."""
    atomic_write_text(examples_path(out_file), "".join(line + "\n" for line in example_lines))
    atomic_write_text(out_file, json.dumps(result, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------
# the difficulty file

DifficultyRow = tuple[str, str, float, str, int]
"""``(task, measure, value, model, seed)``: one stored difficulty value."""


def write_difficulty(out_file: Path, content: dict[str, Any]) -> dict[str, Any]:
    """Write one task's difficulty file (``content`` as the difficulty stage builds it: task,
    model, seed, measures, details, params, timestamps); returns what was written."""
    body = {"schema_version": DIFFICULTY_SCHEMA_VERSION, **content}
    atomic_write_text(out_file, json.dumps(body, indent=2, sort_keys=True) + "\n")
    return body


class DifficultyFile(BaseModel):
    """What :func:`read_difficulty_file` needs of a difficulty file (other fields are kept by
    the writer for people and ignored here)."""

    model_config = ConfigDict(extra="allow", strict=True)

    task: str = Field(min_length=1)
    model: str = Field(min_length=1)
    seed: int = Field(ge=INT32[0], le=INT32[1])
    measures: dict[str, float] = Field(min_length=1)


def read_difficulty_file(path: Path) -> list[DifficultyRow]:
    """Rows ``(task, measure, value, model, seed)`` of one difficulty result file."""
    rerun = "rerun its stage (`dvc repro difficulty`)"
    try:
        raw = load_json(path, "Difficulty file", RESULT_BYTES)
    except HarnessError as exc:
        raise HarnessError(f"{exc} Fix the file or {rerun}.") from exc
    try:
        parsed = DifficultyFile.model_validate(raw)
    except ValidationError as exc:
        problems = field_problems(exc, most=5)
        raise HarnessError(f"Difficulty file '{path}' is invalid: {problems}; {rerun}.") from exc
    # (non-finite numbers were refused by the reader)
    return [
        (parsed.task, measure, value, parsed.model, parsed.seed)
        for measure, value in parsed.measures.items()
    ]

"""The per-cell result file (JSON) and its validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Score(_Strict):
    language: str = Field(min_length=1)
    split: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    # ranges, NaN and completeness are content checks (harness.results.validate), reported row
    # by row; the schema only fixes fields and types
    value: float | None
    n_examples: int


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    git_commit: str | None
    git_dirty: bool | None
    params_hash: str
    harness_version: str
    packages: dict[str, str]
    hardware: dict[str, Any]
    started_at: str
    finished_at: str
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


class ResultFile(_Strict):
    schema_version: int = Field(ge=1, le=2)
    run_id: str = Field(min_length=1)
    model: str = Field(min_length=1)
    intermediate_task: str | None
    target_task: str = Field(min_length=1)
    seed: int
    primary_metric: str
    scores: list[Score] = Field(min_length=1)
    provenance: Provenance


def read_result(path: Path) -> ResultFile:
    """Parse and validate one result file; raise :class:`HarnessError` naming the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HarnessError(f"Result file '{path}' does not exist.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(
            f"Result file '{path}' is not valid JSON ({exc}); it may be truncated. Rerun the "
            "evaluate stage that writes it (`dvc repro`)."
        ) from exc
    try:
        result = ResultFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise HarnessError(f"Result file '{path}' is invalid: {problems}.") from exc
    return result

"""Stage ``evaluate@I-T-S``: the phase-2 model of one grid cell scored zero-shot on every
language and evaluation split of its target; one result file per cell (with a per-example file
beside it) and, on request, every test prediction in the XTREME submission layout's input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness import kinds
from harness.config import Params
from harness.data.sources import load_examples
from harness.device import pick_device
from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.kinds.base import EvalSettings
from harness.model.encoders import ORACLE_DIR, load_tokenizer, read_phase
from harness.model.heads import load_trained
from harness.model.predict import predict_and_score
from harness.model.throughput import prediction_record, start_prediction_meter
from harness.provenance import now
from harness.results.schema import ORACLE_SPLIT, example_line, score_row
from harness.stages.cells import (
    cell_params,
    evaluation_splits,
    selection_record,
    training_seconds,
    training_throughput,
    write_cell_result,
)
from harness.tasks import Registry


def evaluate_cell(
    params: Params,
    registry: Registry,
    intermediate: str,
    task: str,
    model_dir: Path,
    out_file: Path,
    predictions_dir: Path | None = None,
) -> dict[str, Any]:
    """Score the phase-2 model of one grid cell on every language and write its result file;
    with ``predictions_dir``, also every test example's prediction, one file per language at
    ``predictions_dir/{task}/{language}.jsonl`` (``{"id", "prediction"}`` per line, in test
    order), which ``harness export --format xtreme`` turns into an XTREME submission. A model
    folder with the target-dev oracle's model (``oracle/``, ``selection.oracle``) also gets that
    model's test scores, as split ``test_oracle``."""
    started, clock = now(), time.monotonic()
    start_prediction_meter()
    spec = registry.get(task, role="target")
    kind = kinds.of(spec)
    phase2 = read_phase(model_dir)
    tp = params.phase2_params(task)
    tokenizer = load_tokenizer(model_dir)
    model = load_trained(model_dir, spec)
    settings = EvalSettings.of(tp, params.evaluation)
    scores = []
    example_lines: list[str] = []
    for language in spec.languages:
        for split in evaluation_splits(spec, params.evaluation.splits):
            examples = load_examples(spec, split, language)
            if not examples:
                raise HarnessError(f"Task '{task}' has no {split} examples for '{language}'.")
            stats: dict[str, list[list[float]]] = {}
            predicted: list[Any] = []
            values = predict_and_score(
                model,
                tokenizer,
                spec,
                examples,
                params.evaluation.batch_size,
                kind.eval_max_length(tp, params.evaluation),
                f"eval {task} {split} {language}",
                params.paths.cache,
                stats,
                settings,
                language,
                predicted,
            )
            ids = [str(ex.get("id", i)) for i, ex in enumerate(examples)]
            if predictions_dir is not None and split == "test":
                rows = [
                    json.dumps({"id": i, "prediction": p}, ensure_ascii=False)
                    for i, p in zip(ids, predicted, strict=True)
                ]
                path = predictions_dir / task / f"{language}.jsonl"
                atomic_write_text(path, "".join(row + "\n" for row in rows))
            example_lines += [
                example_line(language, split, metric, ids, rows) for metric, rows in stats.items()
            ]
            scores += [
                score_row(language, split, metric, value, len(examples))
                for metric, value in values.items()
            ]
    oracle_dir = model_dir / ORACLE_DIR
    if oracle_dir.is_dir() and "test" in evaluation_splits(spec, params.evaluation.splits):
        # the target-dev oracle's model (selection.oracle), on the test split: beside the
        # English-dev selected model's scores, as split ORACLE_SPLIT
        oracle = load_trained(oracle_dir, spec)
        for language in spec.languages:
            examples = load_examples(spec, "test", language)
            values = predict_and_score(
                oracle,
                tokenizer,
                spec,
                examples,
                params.evaluation.batch_size,
                kind.eval_max_length(tp, params.evaluation),
                f"eval {task} test {language} (oracle)",
                params.paths.cache,
                settings=settings,
                language=language,
            )
            scores += [
                score_row(language, ORACLE_SPLIT, metric, value, len(examples))
                for metric, value in values.items()
            ]
    return write_cell_result(
        params,
        registry,
        intermediate,
        spec,
        [model_dir],
        scores,
        example_lines,
        out_file,
        started,
        {**training_seconds(phase2), "evaluate": round(time.monotonic() - clock, 3)},
        cell_params(params, intermediate, task),
        selection_record(phase2),
        {**training_throughput(phase2), "evaluate": prediction_record(model, pick_device())},
    )

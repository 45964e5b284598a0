"""Prediction: a head model's outputs on features, and the scores of a set of examples."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from harness import kinds
from harness.data.cache import cached_featurize
from harness.device import pick_device
from harness.kinds.base import Batch, EvalSettings, Example, feature_length, pad_sequences
from harness.model import throughput
from harness.model.packing import PackedForward, collate_packed
from harness.model.throughput import sequence_lengths
from harness.progress import progress_bar
from harness.tasks import TaskSpec


@torch.no_grad()
def predict(
    model: Any,
    features: Sequence[Any],
    pad_id: int,
    batch_size: int,
    description: str,
    collate_fn: Callable[[Sequence[Any]], Batch] | None = None,
    logits_of: Callable[[Any], torch.Tensor] | None = None,
    quiet: bool = False,
) -> list[torch.Tensor]:
    """Model outputs per feature; batches are built from length-sorted features (little
    padding). ``collate_fn`` and ``logits_of`` are the kind's (:meth:`~harness.kinds.base.
    TaskKind.collate`, :meth:`~harness.kinds.base.TaskKind.logits`; default: one sequence per
    feature and the output's ``logits``). Sequence heads: (labels,) logits; multiple choice:
    (choices,); token heads: (tokens, labels); extractive QA: (tokens, 2), the start and end
    logits. ``quiet``: no progress bar (a pass inside training, whose bar is showing)."""
    device = pick_device()
    model.to(device)
    model.eval()
    collate_fn = collate_fn or (lambda fs: pad_sequences(fs, pad_id))
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    out: list[torch.Tensor | None] = [None] * len(features)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with (
        nullcontext(lambda _: None) if quiet else progress_bar(description, len(batches)) as advance
    ):
        for indices in batches:
            chosen = [features[i] for i in indices]
            began = time.perf_counter()
            batch = collate_fn(chosen)
            if "segments" in batch:  # packed (harness.model.packing): every input but labels
                output = model(**{k: v.to(device) for k, v in batch.items() if k != "labels"})
            else:
                output = model(
                    input_ids=batch["input_ids"].to(device),
                    attention_mask=batch["attention_mask"].to(device),
                )
            logits = logits_of(output) if logits_of is not None else output.logits
            logits = logits.float().cpu()
            meter = throughput.PREDICTION
            meter.add((n for f in chosen for n in sequence_lengths(f)), batch["input_ids"].numel())
            meter.seconds += time.perf_counter() - began
            for row, i in enumerate(indices):
                out[i] = (
                    logits[row, : len(features[i].input_ids)] if logits.dim() == 3 else logits[row]
                )
            advance(None)
    return [t for t in out if t is not None]


def predict_and_score(
    model: Any,
    tokenizer: Any,
    spec: TaskSpec,
    examples: Sequence[Example],
    batch_size: int,
    max_length: int,
    description: str,
    cache_dir: Path | None = None,
    per_example: dict[str, list[list[float]]] | None = None,
    settings: EvalSettings | None = None,
    language: str | None = None,
    predictions_out: list[Any] | None = None,
    quiet: bool = False,
) -> dict[str, float]:
    """Scores of ``examples`` (of ``language``; MLQA's normalisation depends on it); when
    ``per_example`` is given, it receives each metric's per-example sufficient statistics
    (:meth:`~harness.kinds.base.TaskKind.example_stats`); ``predictions_out`` receives the
    prediction of every example, in order, as the XTREME submission layout takes it
    (:func:`harness.results.xtreme.export_xtreme`): a label (multiple choice: the spec's label
    of the chosen choice, XCOPA's ``0``/``1``), a tag list, or an answer text."""
    kind = kinds.of(spec)
    settings = settings or EvalSettings()
    features = cached_featurize(spec, examples, tokenizer, max_length, cache_dir, settings.features)
    pad_id = tokenizer.pad_token_id
    collate: Callable[[Sequence[Any]], Batch] = lambda fs: kind.collate(fs, pad_id)  # noqa: E731
    runner = model
    # packed prediction calls a Hugging Face head model's own modules; a multi-task model's
    # task view (harness.model.heads.TaskView) predicts on padded batches
    if settings.packing and kind.packable and hasattr(model, "base_model"):
        width, token_level = max(settings.packing, max_length), kind.token_level
        collate = lambda fs: collate_packed(fs, width, pad_id, token_level)  # noqa: E731
        runner = PackedForward(model, kind)
    logits = predict(runner, features, pad_id, batch_size, description, collate, kind.logits, quiet)
    predictions = kind.decode(spec, features, logits, examples, settings, language)
    golds = kind.golds(examples)
    if predictions_out is not None:
        predictions_out.extend(predictions)
    if per_example is not None:
        per_example.update(kind.example_stats(spec, predictions, golds, language))
    return kind.score(spec, predictions, golds, language)

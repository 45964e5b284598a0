"""What the training stages share: checkpoint settings and fitting a fresh head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import kinds
from harness.config import Params, TrainParams
from harness.data.cache import cached_featurize
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.kinds.base import FeatureSettings
from harness.model.encoders import load_tokenizer
from harness.model.heads import head_model
from harness.model.train import Checkpointing, checkpoint_folder, clear_checkpoints, train
from harness.seeding import seed_everything
from harness.tasks import TaskSpec, training_spec


def checkpointing(params: Params, out_dir: Path) -> Checkpointing:
    """The crash-resume checkpoints of the stage writing ``out_dir`` (``params.checkpoint``)."""
    cp = params.checkpoint
    return Checkpointing(
        folder=checkpoint_folder(out_dir),
        every_steps=cp.every_steps,
        every_seconds=cp.every_minutes * 60,
        keep=cp.keep,
    )


def fit(
    params: Params, spec: TaskSpec, encoder: Path, tp: TrainParams, label: str, out_dir: Path
) -> tuple[Any, dict[str, Any], Any]:
    """Train a fresh head on ``encoder`` for ``spec``; returns (model, training summary,
    tokenizer). A task trained on other English data (``english_training``) trains on every
    stage in order, the same model carrying on from one stage to the next (XCOPA: SIQA, then
    COPA); a stage whose label set differs from the task's is refused for the kinds whose head
    size depends on it."""
    generator = seed_everything(params.seed)
    tokenizer = load_tokenizer(encoder)
    stages = (
        [training_spec(spec, i) for i in range(len(spec.english_training))]
        if spec.english_training
        else [spec]
    )
    kind = kinds.of(spec)
    model = head_model(encoder, spec, params.seed)
    pad = tokenizer.pad_token_id
    settings = FeatureSettings(tp.doc_stride, tp.max_query_length)
    summaries: list[dict[str, Any]] = []
    for number, stage in enumerate(stages):
        if kind.fixed_label_set and stage.labels != spec.labels:
            raise HarnessError(
                f"English training stage {number + 1} of '{spec.name}' has labels "
                f"{stage.labels}, the task {spec.labels}; a {spec.kind} head needs the same "
                "label set in every stage. Remove `labels` from that english_training stage."
            )
        examples = load_examples(stage, "train", stage.train_language)
        features = cached_featurize(
            stage, examples, tokenizer, tp.max_length, params.paths.cache, settings
        )
        several = len(stages) > 1
        name = spec.english_training[number].name if spec.english_training else spec.name
        stage_dir = out_dir.with_name(f"{out_dir.name}.stage{number + 1}") if several else out_dir
        summary = train(
            model,
            features,
            lambda fs: kind.collate(fs, pad),
            tp,
            generator,
            f"{label} ({name})" if several else label,
            checkpointing=checkpointing(params, stage_dir),
        )
        summaries.append(summary.as_dict())
        if several:
            clear_checkpoints(stage_dir)
    if len(summaries) == 1:
        return model, summaries[0], tokenizer
    total = {
        **summaries[-1],
        "stages": summaries,
        "seconds": sum(float(s["seconds"]) for s in summaries),
    }
    return model, total, tokenizer

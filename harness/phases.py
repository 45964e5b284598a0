"""Phase 1 (intermediate task) and phase 2 (target task) training runs.

Encoders live in ``models/encoders/{setting}``: ``none`` is the pretrained encoder (the
baseline), any other setting is the pretrained encoder after phase-1 training on that task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import BASELINE, Params, TrainParams
from harness.data.cache import cached_featurize
from harness.data.features import FeatureSettings, collate_for
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.evaluate import EvalSettings, predict_and_score
from harness.io import staged_output
from harness.modeling import head_model, load_tokenizer, read_phase, save_encoder, write_phase
from harness.provenance import now
from harness.seeding import seed_everything
from harness.tasks import Registry, TaskSpec, training_spec
from harness.train import Checkpointing, checkpoint_folder, clear_checkpoints, train


def run_intermediate(
    params: Params, registry: Registry, task: str, pretrained: Path, out_dir: Path
) -> dict[str, Any]:
    """Phase 1: train the pretrained encoder on an English intermediate task; save the encoder
    (without the task head) and the task's English dev score."""
    if task == BASELINE:
        raise HarnessError(
            f"'{BASELINE}' is the baseline: its phase-1 encoder is the pretrained one, nothing "
            "to train."
        )
    read_phase(pretrained)  # fails clearly if the pretrained encoder is missing
    spec = registry.get(task, role="intermediate")
    tp = params.phase1_params(task)
    started = now()
    model, summary, tokenizer = _fit(params, spec, pretrained, tp, f"phase 1: {task}", out_dir)
    dev = predict_and_score(
        model,
        tokenizer,
        spec,
        load_examples(spec, "dev", spec.train_language),
        params.evaluation.batch_size,
        tp.max_length,
        f"dev {task}",
        params.paths.cache,
        settings=EvalSettings.of(tp, params.evaluation),
        language=spec.train_language,
    )
    info = {
        "phase": 1,
        "task": task,
        "from": str(pretrained),
        "dev": dev,
        "train": summary,
        "started_at": started,
        "finished_at": now(),
    }
    with staged_output(out_dir) as staging:
        save_encoder(model, tokenizer, staging)
        write_phase(staging, info)
    clear_checkpoints(out_dir)
    return info


def run_target(
    params: Params, registry: Registry, intermediate: str, task: str, encoder: Path, out_dir: Path
) -> dict[str, Any]:
    """Phase 2: fine-tune the phase-1 encoder with a fresh head on the target's English data."""
    spec = registry.get(task, role="target")
    read_phase(encoder)
    tp = params.phase2_params(task)
    started = now()
    model, summary, tokenizer = _fit(
        params, spec, encoder, tp, f"phase 2: {intermediate} -> {task}", out_dir
    )
    info = {
        "phase": 2,
        "intermediate": intermediate,
        "task": task,
        "from": str(encoder),
        "train": summary,
        "started_at": started,
        "finished_at": now(),
    }
    with staged_output(out_dir) as staging:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_phase(staging, info)
    clear_checkpoints(out_dir)
    return info


def checkpointing(params: Params, out_dir: Path) -> Checkpointing:
    """The crash-resume checkpoints of the stage writing ``out_dir`` (``params.checkpoint``)."""
    cp = params.checkpoint
    return Checkpointing(
        folder=checkpoint_folder(out_dir),
        every_steps=cp.every_steps,
        every_seconds=cp.every_minutes * 60,
        keep=cp.keep,
    )


def _fit(
    params: Params, spec: TaskSpec, encoder: Path, tp: TrainParams, label: str, out_dir: Path
) -> tuple[Any, dict[str, Any], Any]:
    """Train a fresh head on ``encoder`` for ``spec``. A task trained on other English data
    (``english_training``) trains on every stage in order, the same model carrying on from one
    stage to the next (XCOPA: SIQA, then COPA); a stage whose label count differs from the
    task's is refused for classification and tagging, whose head size depends on it."""
    generator = seed_everything(params.seed)
    tokenizer = load_tokenizer(encoder)
    stages = (
        [training_spec(spec, i) for i in range(len(spec.english_training))]
        if spec.english_training
        else [spec]
    )
    model = head_model(encoder, spec, params.seed)
    collate = collate_for(spec.kind, tokenizer.pad_token_id)
    settings = FeatureSettings(tp.doc_stride, tp.max_query_length)
    summaries: list[dict[str, Any]] = []
    for number, stage in enumerate(stages):
        if (
            spec.kind in ("classification", "pair_classification", "tagging")
            and stage.labels != spec.labels
        ):
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
            collate,
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

"""Stage ``intermediate@T`` (and ``multitask@M``): phase 1, an English intermediate task (or
several at once) trained on the pretrained encoder.

The encoder is saved without its head(s), with the English dev score of every task it was
trained on, so phase 2 and the retrieval cells read a single-task and a multi-task encoder the
same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import BASELINE, Params
from harness.data.cache import cached_featurize
from harness.data.mixture import mixture, pooled_batches, sampling_weights, slot_counts
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.io import staged_output
from harness.kinds.base import EvalSettings, FeatureSettings, feature_length
from harness.model.encoders import (
    load_encoder,
    load_tokenizer,
    read_phase,
    save_encoder,
    write_phase,
)
from harness.model.heads import MultitaskModel, TaskFeature, TaskView
from harness.model.predict import predict_and_score
from harness.model.train import Selection, clear_checkpoints, train
from harness.provenance import now
from harness.seeding import seed_everything
from harness.stages.common import checkpointing, fit, selection
from harness.tasks import Registry


def run_phase1(
    params: Params, registry: Registry, task: str, pretrained: Path, out_dir: Path
) -> dict[str, Any]:
    """Phase 1 of ``task``: a single intermediate task, or a multi-task setting."""
    if task in params.multitask:
        return run_multitask(params, registry, task, pretrained, out_dir)
    return run_intermediate(params, registry, task, pretrained, out_dir)


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
    model, summary, tokenizer, _ = fit(params, spec, pretrained, tp, f"phase 1: {task}", out_dir)
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


def run_multitask(
    params: Params, registry: Registry, name: str, pretrained: Path, out_dir: Path
) -> dict[str, Any]:
    """Train the pretrained encoder on every task of setting ``name`` at once (one head per
    task, or one shared head; :mod:`harness.data.mixture` mixes the examples and orders the
    batches: classification and tagging rows share batches, a multiple-choice or QA task's
    batches hold that task alone); save the encoder and each task's English dev score, scored
    as its kind scores it. Checkpointed like a single-task run (``checkpoint``): a killed run
    resumes from its newest checkpoint. With ``selection`` on, the kept encoder is the one whose
    mean English dev score over the tasks (each its primary metric, as jiant aggregates a
    multi-task validation) is best."""
    setting = params.multitask[name]
    read_phase(pretrained)
    specs = [registry.get(t, role="intermediate") for t in setting.tasks]
    started = now()
    generator = seed_everything(params.seed)
    tokenizer = load_tokenizer(pretrained)
    feature_settings = FeatureSettings(setting.doc_stride, setting.max_query_length)
    per_task = []
    for spec in specs:
        examples = load_examples(spec, "train", spec.train_language)
        per_task.append(
            cached_featurize(
                spec, examples, tokenizer, setting.max_length, params.paths.cache, feature_settings
            )
        )
    sizes = [len(f) for f in per_task]
    weights = sampling_weights(sizes, setting.sampling, setting.temperature)
    counts = slot_counts(weights, sum(sizes))
    mixed = [TaskFeature(t, per_task[t][i]) for t, i in mixture(sizes, counts, generator)]
    encoder, _, _ = load_encoder(pretrained)
    model = MultitaskModel(encoder, specs, params.seed, setting.shared_head)
    pad = tokenizer.pad_token_id
    choosers = [
        selection(params, setting, TaskView(model, index), tokenizer, spec)
        for index, spec in enumerate(specs)
    ]
    chooser = None
    if all(c is not None for c in choosers):
        parts = [c for c in choosers if c is not None]
        chooser = Selection(
            every_steps=parts[0].every_steps,
            score=lambda: sum(c.score() for c in parts) / len(parts),
            metric="mean of " + ", ".join(f"{s.name} {s.primary_metric}" for s in specs),
            data="; ".join(c.data for c in parts),
            patience=parts[0].patience,
        )
    order = pooled_batches(
        [item.task for item in mixed],
        model.shares_batches,
        [feature_length(item.feature) for item in mixed],
        setting.batch_size,
        setting.group_by_length,
    )
    summary = train(
        model,
        mixed,
        lambda items: model.collate(items, pad, setting.packing),
        setting,
        generator,
        f"phase 1: {name}",
        checkpointing=checkpointing(params, out_dir),
        batch_order=order,
        selection=chooser,
    )
    dev = {
        spec.name: predict_and_score(
            TaskView(model, index),
            tokenizer,
            spec,
            load_examples(spec, "dev", spec.train_language),
            params.evaluation.batch_size,
            setting.max_length,
            f"dev {spec.name}",
            params.paths.cache,
            settings=EvalSettings.of(setting, params.evaluation),
            language=spec.train_language,
        )
        for index, spec in enumerate(specs)
    }
    info = {
        "phase": 1,
        "task": name,
        "multitask": {
            "tasks": list(setting.tasks),
            "sampling": setting.sampling,
            "temperature": setting.temperature,
            "shared_head": setting.shared_head,
            "train_sizes": dict(zip(setting.tasks, sizes, strict=True)),
            "weights": dict(zip(setting.tasks, weights, strict=True)),
            "examples_per_epoch": dict(zip(setting.tasks, counts, strict=True)),
        },
        "from": str(pretrained),
        "dev": dev,
        "train": summary.as_dict(),
        "started_at": started,
        "finished_at": now(),
    }
    with staged_output(out_dir) as staging:
        encoder.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_phase(staging, info)
    clear_checkpoints(out_dir)
    return info

"""What the training stages share: checkpoint settings, best-checkpoint selection and fitting a
fresh head."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import kinds
from harness.config import Params, TrainParams
from harness.data.cache import cached_featurize
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.kinds.base import Batch, EvalSettings, Example, FeatureSettings, TaskKind
from harness.model.encoders import load_tokenizer
from harness.model.heads import head_model
from harness.model.packing import PackedForward, collate_packed
from harness.model.predict import predict_and_score
from harness.model.train import (
    Checkpointing,
    Selection,
    checkpointing_of,
    clear_checkpoints,
    train,
)
from harness.seeding import seed_everything
from harness.tasks import TaskSpec, training_spec


def training_batches(
    kind: TaskKind, model: Any, tp: TrainParams, pad: int
) -> tuple[Callable[[Sequence[Any]], Batch], PackedForward | None]:
    """How a single-task run's batches are built and run: packed (``tp.packing``, for the
    kinds that can be: the packed collate and the :class:`PackedForward` around ``model``), or
    the kind's padded batches run by the model itself (None)."""
    if tp.packing and kind.packable:
        width, token_level = tp.packing, kind.token_level
        return (
            lambda fs: collate_packed(fs, width, pad, token_level),
            PackedForward(model, kind),
        )
    return (lambda fs: kind.collate(fs, pad)), None


def checkpointing(params: Params, out_dir: Path) -> Checkpointing:
    """The crash-resume checkpoints of the stage writing ``out_dir`` (``params.checkpoint``)."""
    return checkpointing_of(params.checkpoint, out_dir)


def _dev(spec: TaskSpec, language: str, subset: int) -> list[Example]:
    examples = load_examples(spec, "dev", language)
    return examples[:subset] if subset else examples


def selection(
    params: Params,
    tp: TrainParams,
    model: Any,
    tokenizer: Any,
    scored: TaskSpec,
    oracle: TaskSpec | None = None,
) -> Selection | None:
    """The best-checkpoint selection of a training run (``tp.selection``; None when off):
    ``scored``'s English dev split (the first ``subset`` examples), its primary metric; with
    ``oracle`` (a target, and ``selection.oracle``), that target's dev split in every other
    language it has one for is scored at each check too (Keung et al. 2020's oracle)."""
    chosen = tp.selection
    if not chosen.every_steps:
        return None
    settings = EvalSettings.of(tp, params.evaluation)
    language = scored.train_language
    dev = _dev(scored, language, chosen.subset)
    if not dev:
        raise HarnessError(
            f"Best-checkpoint selection scores the English dev split of '{scored.name}', which "
            "has no examples: give the task a dev split, or set selection.every_steps: 0."
        )

    def score_of(spec: TaskSpec, examples: list[Example], lang: str) -> float:
        values = predict_and_score(
            model,
            tokenizer,
            spec,
            examples,
            params.evaluation.batch_size,
            tp.max_length,
            f"select {spec.name} dev {lang}",
            params.paths.cache,
            settings=settings,
            language=lang,
            quiet=True,
        )
        return values[spec.primary_metric]

    observe = None
    if chosen.oracle and oracle is not None:
        target = oracle
        per_language = {}
        for lang in target.languages:
            if lang == target.train_language or "dev" not in target.split_names:
                continue
            try:
                examples = _dev(target, lang, chosen.subset)
            except HarnessError:  # a language without a dev split (UD's test-only treebanks)
                continue
            if examples:
                per_language[lang] = examples

        def observe() -> dict[str, float]:
            return {
                lang: score_of(target, examples, lang) for lang, examples in per_language.items()
            }

    subset = f" (first {len(dev)})" if chosen.subset else ""
    return Selection(
        every_steps=chosen.every_steps,
        score=lambda: score_of(scored, dev, language),
        metric=scored.primary_metric,
        data=f"{scored.name} dev {language}{subset}",
        patience=chosen.patience,
        observe=observe,
    )


def fit(
    params: Params, spec: TaskSpec, encoder: Path, tp: TrainParams, label: str, out_dir: Path
) -> tuple[Any, dict[str, Any], Any, dict[str, Any] | None]:
    """Train a fresh head on ``encoder`` for ``spec``; returns (model, training summary,
    tokenizer, the target-dev oracle's model state or None). A task trained on other English
    data (``english_training``) trains on every stage in order, the same model carrying on from
    one stage to the next (XCOPA: SIQA, then COPA); a stage whose label set differs from the
    task's is refused for the kinds whose head size depends on it. With ``tp.selection`` on,
    each stage ends in its best-checkpoint selected state (:func:`selection`): scored on its own
    English dev data (``dev: training``) or, for the last stage, on the target's (``dev:
    target``); the last stage of a target also records the target-dev oracle when
    ``selection.oracle`` is set."""
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
    oracle_state = None
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
        last = number == len(stages) - 1
        scored = spec if last and tp.selection.dev == "target" else stage
        is_target = spec.role == "target"
        chooser = selection(
            params, tp, model, tokenizer, scored, spec if last and is_target else None
        )
        collate, runner = training_batches(kind, model, tp, pad)
        summary = train(
            model,
            features,
            collate,
            tp,
            generator,
            f"{label} ({name})" if several else label,
            checkpointing=checkpointing(params, stage_dir),
            selection=chooser,
            forward_module=runner,
        )
        summaries.append(summary.as_dict())
        oracle_state = summary.oracle_state
        if several:
            clear_checkpoints(stage_dir)
    if len(summaries) == 1:
        return model, summaries[0], tokenizer, oracle_state
    total = {
        **summaries[-1],
        "stages": summaries,
        "seconds": sum(float(s["seconds"]) for s in summaries),
    }
    return model, total, tokenizer, oracle_state

"""Stage ``difficulty@T``: the difficulty measures of an English intermediate task, one
difficulty file per task (:mod:`harness.results.schema`).

Every measure is stored oriented so that **higher means harder**, as the leaderboard and the
analysis read them (tier 1 = easiest):

``neg_mean_pvi``
    Minus the V-usable information of the task for the encoder (Ethayarajh et al., ICML 2022,
    "Understanding Dataset Difficulty with V-Usable Information"), estimated as the mean
    pointwise V-information over the held-out (dev) examples::

        PVI(x -> y) = -log2 g_null(y | null input) + log2 g(y | x)

    where ``g`` is the pretrained encoder fine-tuned on the real training inputs (all, or a seeded
    sample of ``difficulty.train_examples``) and ``g_null``
    the same encoder fine-tuned, with the same hyperparameters and seed, on the training labels
    with *null* inputs (empty sentences). The mean PVI is in bits; a task whose labels the model
    can read off the input has high PVI (easy), noise or an unlearnable rule gives ~0 (hard).
    V-information takes the best predictor of the family (an infimum of cross-entropy), so each
    of ``g`` and ``g_null`` is read at the epoch with the lowest cross-entropy on training
    examples held out of the sample (as many as dev has; the last epoch when the sample is the
    whole training set): an over-fitted last epoch would understate it. Dev never selects.
``baseline_error``
    ``1 -`` the task's own English dev score (primary metric) after phase 1, read from the
    phase-1 encoder's ``phase.json``.
``hard_to_learn``
    Dataset cartography (Swayamdipta et al., EMNLP 2020): during the fine-tuning of ``g`` the
    gold-label probability of every (sampled) training example is measured after each epoch;
    *confidence* is its mean over epochs and *variability* its standard deviation. The measure
    is the share of examples in the hard-to-learn region: confidence below
    ``difficulty.hard_confidence`` and variability below ``difficulty.hard_variability``.

The file also records the raw mean PVI, the per-epoch dev accuracy of ``g`` and the
cartography summary. Both models are trained by the one training loop
(:func:`harness.model.train.train`), probed after each epoch through its hook, on plain
shuffled batches (``group_by_length`` does not apply, so the measured values keep their
definition) and for a whole number of epochs (``phase1.<task>.epochs`` rounded up). The
measures apply to the kinds with one label per example and a null input
(:attr:`~harness.kinds.base.TaskKind.supports_pvi`); a task of another kind gets its baseline
error only. :func:`harness.results.stats.tiers` groups tasks into tiers per measure.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness import kinds
from harness.config import BASELINE, DifficultyParams, Params, TrainParams
from harness.data.cache import cached_featurize
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.kinds.base import Example, Feature
from harness.metrics.difficulty import (
    MEASURES,
    cartography,
    hard_to_learn_share,
    mean_log_loss,
    pointwise_v_information,
)
from harness.model.encoders import load_tokenizer, read_phase
from harness.model.heads import head_model
from harness.model.predict import predict
from harness.model.train import train
from harness.provenance import now
from harness.results.schema import write_difficulty
from harness.seeding import seed_everything
from harness.tasks import Registry, TaskSpec


def null_examples(spec: TaskSpec, examples: Sequence[Example]) -> list[Example]:
    """The examples with their inputs emptied (labels kept): the null input of V-information."""
    kind = kinds.of(spec)
    return [kind.null_example(ex) for ex in examples]


def gold_probabilities(
    model: Any, features: Sequence[Feature], pad_id: int, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """p(gold label | input) for every feature, in input order (float64), and whether the
    predicted label is the gold one."""
    logits = predict(model, features, pad_id, batch_size, "gold probabilities")
    probs = np.empty(len(features), dtype=np.float64)
    correct = np.empty(len(features), dtype=bool)
    for i, (lg, feature) in enumerate(zip(logits, features, strict=True)):
        assert isinstance(feature.label, int)
        probs[i] = float(torch.softmax(lg.double(), dim=-1)[feature.label])
        correct[i] = int(lg.argmax()) == feature.label
    return probs, correct


def baseline_error(phase1: dict[str, Any], metric: str) -> float:
    dev = phase1.get("dev") or {}
    if metric not in dev:
        raise HarnessError(
            f"The phase-1 record has no dev '{metric}' score; rerun the intermediate stage."
        )
    return 1.0 - float(dev[metric])


def _subset(n: int, k: int, seed: int) -> list[int]:
    """A seeded sample of ``min(n, k)`` indices (sorted), or all when ``k`` is 0."""
    if k <= 0 or k >= n:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), k))


def _train_and_probe(
    params: Params,
    spec: TaskSpec,
    pretrained: Path,
    tp: TrainParams,
    train_examples: Sequence[Example],
    dev_examples: Sequence[Example],
    probe: Sequence[int],
    label: str,
    heldout_examples: Sequence[Example] = (),
) -> tuple[np.ndarray, np.ndarray, list[float], int]:
    """Fine-tune a fresh head on ``pretrained``; return (gold probabilities of the ``probe``
    training examples after each epoch, shape (epochs, len(probe)); gold probabilities on dev
    at the selected epoch; dev accuracy after each epoch; the selected epoch, 0-based).

    The selected epoch is the one with the lowest cross-entropy on ``heldout_examples``
    (training examples left out of the fine-tuning; dev is never used to select), or the last
    epoch when there are none: V-information is the infimum of the cross-entropy over the model
    family, and an over-fitted late epoch is a worse estimate of it than an earlier one."""
    generator = seed_everything(params.seed)
    tokenizer = load_tokenizer(pretrained)
    pad = tokenizer.pad_token_id
    cache = params.paths.cache
    train_features = cached_featurize(spec, train_examples, tokenizer, tp.max_length, cache)
    dev = cached_featurize(spec, dev_examples, tokenizer, tp.max_length, cache)
    heldout = (
        cached_featurize(spec, heldout_examples, tokenizer, tp.max_length, cache)
        if heldout_examples
        else []
    )
    probe_features = [train_features[i] for i in probe]
    model = head_model(pretrained, spec, params.seed)
    batch = params.evaluation.batch_size
    by_epoch: list[np.ndarray] = []
    dev_accuracy: list[float] = []

    selected_dev: list[np.ndarray] = []
    best = {"loss": math.inf, "epoch": -1}

    def on_epoch_end(epoch: int) -> None:
        if probe_features:
            by_epoch.append(gold_probabilities(model, probe_features, pad, batch)[0])
        probs, correct = gold_probabilities(model, dev, pad, batch)
        dev_accuracy.append(float(correct.mean()))
        loss = mean_log_loss(gold_probabilities(model, heldout, pad, batch)[0]) if heldout else 0.0
        if not heldout or loss < best["loss"]:
            best.update(loss=loss, epoch=epoch)
            selected_dev[:] = [probs]

    # the one training loop, for whole epochs, on plain shuffled batches (module docstring)
    fit_params = tp.model_copy(
        update={"epochs": max(1, math.ceil(tp.epochs)), "group_by_length": 0}
    )
    if not train_features:
        raise HarnessError(f"{label}: no training examples.")
    train(
        model,
        train_features,
        lambda fs: kinds.of(spec).collate(fs, pad),
        fit_params,
        generator,
        label,
        on_epoch_end=on_epoch_end,
    )
    probe_probs = np.stack(by_epoch) if by_epoch else np.zeros((0, 0))
    return probe_probs, selected_dev[0], dev_accuracy, int(best["epoch"])


def measure_task(
    params: Params,
    registry: Registry,
    task: str,
    pretrained: Path,
    phase1_dir: Path,
    out_file: Path,
) -> dict[str, Any]:
    """Compute every difficulty measure of one intermediate task and write its result file."""
    if task == BASELINE:
        raise HarnessError(f"'{BASELINE}' is the baseline, not an intermediate task to measure.")
    spec = registry.get(task, role="intermediate")
    dp: DifficultyParams = params.difficulty
    tp = params.phase1_params(task)
    started, clock = now(), time.monotonic()
    phase1 = read_phase(phase1_dir)
    error = baseline_error(phase1, spec.primary_metric)
    if not kinds.of(spec).supports_pvi:
        # PVI and cartography are implemented for one label per example; a tagging, multiple
        # choice or QA intermediate task gets the measure that needs no second model
        content = {
            "task": task,
            "model": params.model.name,
            "seed": params.seed,
            "measures": {"baseline_error": error},
            "details": {
                "phase1_dev": phase1.get("dev"),
                "not_measured": {
                    m: f"defined here for sequence classification only (task kind {spec.kind})"
                    for m in MEASURES
                    if m != "baseline_error"
                },
            },
            "params": {"phase1": tp.model_dump(mode="json")},
            "started_at": started,
            "finished_at": now(),
            "seconds": round(time.monotonic() - clock, 3),
        }
        return write_difficulty(out_file, content)
    train_examples = load_examples(spec, "train", spec.train_language)
    dev_examples = load_examples(spec, "dev", spec.train_language)
    heldout_examples: list[Example] = []
    if dp.train_examples:
        chosen = _subset(len(train_examples), dp.train_examples, params.seed + 1)
        # training examples left out of the sample select the epoch (as many as dev has)
        rest = sorted(set(range(len(train_examples))) - set(chosen))
        picked = _subset(len(rest), len(dev_examples), params.seed + 2)
        heldout_examples = [train_examples[rest[i]] for i in picked]
        train_examples = [train_examples[i] for i in chosen]
    probe = _subset(len(train_examples), dp.cartography_examples, params.seed)
    by_epoch, p_model, dev_accuracy, epoch = _train_and_probe(
        params,
        spec,
        pretrained,
        tp,
        train_examples,
        dev_examples,
        probe,
        f"difficulty: {task}",
        heldout_examples,
    )
    _, p_null, _, null_epoch = _train_and_probe(
        params,
        spec,
        pretrained,
        tp,
        null_examples(spec, train_examples),
        null_examples(spec, dev_examples),
        [],
        f"difficulty: {task} (null inputs)",
        null_examples(spec, heldout_examples),
    )
    pvi = pointwise_v_information(p_model, p_null)
    confidence, variability = cartography(by_epoch)
    hard = hard_to_learn_share(confidence, variability, dp.hard_confidence, dp.hard_variability)
    mean_pvi = float(pvi.mean())
    content = {
        "task": task,
        "model": params.model.name,
        "seed": params.seed,
        "measures": {"neg_mean_pvi": -mean_pvi, "baseline_error": error, "hard_to_learn": hard},
        "details": {
            "mean_pvi_bits": mean_pvi,
            "pvi_quartiles": [float(q) for q in np.percentile(pvi, [25, 50, 75])],
            "n_dev": len(dev_examples),
            "dev_accuracy_by_epoch": dev_accuracy,
            "selected_epoch": epoch + 1,
            "selected_epoch_null": null_epoch + 1,
            "heldout_examples": len(heldout_examples),
            "phase1_dev": phase1.get("dev"),
            "cartography_examples": len(probe),
            "train_examples": len(train_examples),
            "epochs": int(by_epoch.shape[0]),
            "mean_confidence": float(confidence.mean()) if len(confidence) else None,
            "mean_variability": float(variability.mean()) if len(variability) else None,
            "hard_confidence": dp.hard_confidence,
            "hard_variability": dp.hard_variability,
        },
        "params": {
            "phase1": tp.model_dump(mode="json"),
            "difficulty": dp.model_dump(mode="json"),
        },
        "started_at": started,
        "finished_at": now(),
        "seconds": round(time.monotonic() - clock, 3),
    }
    return write_difficulty(out_file, content)

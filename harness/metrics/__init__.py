"""Task metrics. Values are fractions in [0, 1].

The official XTREME / XTREME-R semantics live in the submodules: :mod:`.qa` (SQuAD v1.1 and
MLQA normalisation, EM/F1), :mod:`.tagging` (seqeval span F1 as the XTREME evaluation computes
it), :mod:`.retrieval` (BUCC F1, mAP@k, Mewsli-X) and :mod:`.benchmark` (task languages per
benchmark version, group and overall averages). :mod:`harness.results.xtreme` applies them to files
in the XTREME submission layout; :mod:`.difficulty` defines the difficulty measures.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.metrics.qa import (
    exact_match,
    normalize_mlqa,
    normalize_squad,
    qa_f1,
    qa_scores,
)
from harness.metrics.retrieval import (
    average_precision_at_k,
    bucc_scores,
    mean_average_precision_at_k,
    mewslix_map_at_k,
)
from harness.metrics.tagging import seqeval_scores

__all__ = [
    "accuracy",
    "average_precision_at_k",
    "bucc_scores",
    "exact_match",
    "mean_average_precision_at_k",
    "mewslix_map_at_k",
    "normalize_mlqa",
    "normalize_squad",
    "qa_f1",
    "qa_scores",
    "seqeval_scores",
    "span_f1",
    "token_accuracy",
]


def accuracy(predictions: Sequence[str], golds: Sequence[str]) -> float:
    if len(predictions) != len(golds) or not golds:
        raise ValueError("accuracy needs equally many predictions and gold labels (at least one)")
    return sum(p == g for p, g in zip(predictions, golds, strict=True)) / len(golds)


def span_f1(predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]]) -> float:
    """Entity-level F1 over BIO tags, as seqeval (and so the XTREME evaluation) computes it."""
    from seqeval.metrics import f1_score

    return float(f1_score([list(g) for g in golds], [list(p) for p in predictions]))


def token_accuracy(predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]]) -> float:
    flat_p = [t for seq in predictions for t in seq]
    flat_g = [t for seq in golds for t in seq]
    return accuracy(flat_p, flat_g)

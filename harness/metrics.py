"""Task metrics. Values are fractions in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence


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


def score(kind: str, predictions: Sequence[object], golds: Sequence[object]) -> dict[str, float]:
    """Every metric of a task kind."""
    if kind == "tagging":
        p = [list(x) for x in predictions]  # type: ignore[call-overload]
        g = [list(x) for x in golds]  # type: ignore[call-overload]
        return {"f1": span_f1(p, g), "token_accuracy": token_accuracy(p, g)}
    return {"accuracy": accuracy([str(x) for x in predictions], [str(x) for x in golds])}

"""Retrieval metrics of XTREME / XTREME-R: BUCC F1 on id pairs, Tatoeba accuracy, mAP@k.

* **BUCC 2018**: precision, recall and F1 of the *set* of predicted (source id, target id) pairs
  against the set of gold pairs (duplicates count once); all three are 0 when no pair is right.
* **Tatoeba**: accuracy of the predicted target index per source sentence.
* **mAP@k** (LAReQA, k=20): per query, walk the top-k ranked candidates; each correct candidate
  seen for the first time adds (correct ones so far) / rank; divide by min(#correct, k); mean
  over queries. A repeated candidate is not counted again. This is the definition of the
  XTREME LAReQA evaluation.
* **Mewsli-X** (XTREME-R reports it as mAP@20): exactly one gold entity per mention, so AP@20
  is the reciprocal rank of the gold entity within the top 20 (0 if absent); the official
  scorer uses only the first listed gold entity (stripped) and gives 0 to a mention without
  predictions.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence


def bucc_scores(
    predictions: Sequence[tuple[str, ...]], golds: Sequence[tuple[str, ...]]
) -> dict[str, float]:
    """Precision, recall, F1 (fractions) of predicted id pairs against gold id pairs."""
    gold_set = set(golds)
    pred_set = set(predictions)
    correct = len(gold_set & pred_set)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision = correct / len(pred_set)
    recall = correct / len(gold_set)
    return {
        "f1": 2 * precision * recall / (precision + recall),
        "precision": precision,
        "recall": recall,
    }


def average_precision_at_k(
    targets: Sequence[Hashable] | set[Hashable], ranked: Sequence[Hashable], k: int | None = 20
) -> float:
    """AP@k of one ranked candidate list against its set of correct candidates."""
    target_set = set(targets)
    if not target_set:
        raise ValueError("average precision needs at least one correct candidate")
    if k is not None:
        ranked = ranked[:k]
    seen: set[Hashable] = set()
    hits = 0
    total = 0.0
    for rank, candidate in enumerate(ranked, start=1):
        if candidate in target_set and candidate not in seen:
            hits += 1
            total += hits / rank
        seen.add(candidate)
    divisor = min(len(target_set), k) if k else len(target_set)
    return total / divisor


def mean_average_precision_at_k(
    golds: Mapping[str, Sequence[str]], predictions: Mapping[str, Sequence[str]], k: int = 20
) -> float:
    """mAP@k over every query of ``golds`` (query id -> correct candidate ids); a query without
    predictions scores 0, predictions for unknown queries are ignored."""
    if not golds:
        raise ValueError("mAP needs at least one query")
    total = 0.0
    for qid, targets in golds.items():
        total += average_precision_at_k(targets, list(predictions.get(qid, [])), k)
    return total / len(golds)


def mewslix_map_at_k(
    golds: Mapping[str, Sequence[str]], predictions: Mapping[str, Sequence[str]], k: int = 20
) -> float:
    """Mewsli-X's official mAP@20 (= MRR@20): the first gold entity only, stripped."""
    if not golds:
        raise ValueError("Mewsli-X scoring needs at least one mention")
    total = 0.0
    for qid, labels in golds.items():
        if not labels:
            raise ValueError(f"mention {qid!r} has no gold entity")
        gold = labels[0].strip()
        for rank, candidate in enumerate(list(predictions.get(qid, []))[:k], start=1):
            if candidate == gold:
                total += 1.0 / rank
                break
    return total / len(golds)

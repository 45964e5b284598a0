"""Sequence-labelling metrics as the official XTREME evaluation computes them.

The official evaluation scores PAN-X *and* UD-POS with seqeval's entity-level micro F1 in its
default (non-strict, IOB-guessing) mode, so we call seqeval itself. For POS tags this has a
known quirk: seqeval reads the first character of a tag as its chunk prefix and the rest as its
type, so consecutive equal POS tags form one "chunk" (``NOUN NOUN`` is one span, ``NOUN VERB``
two), and a tag starting with ``B``/``S`` (``SCONJ``, ``SYM``) always opens a new span. Token
accuracy is reported alongside for POS.
"""

from __future__ import annotations

from collections.abc import Sequence


def _lists(seqs: Sequence[Sequence[str]]) -> list[list[str]]:
    return [list(s) for s in seqs]


def _check(predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]]) -> None:
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predicted sentences for {len(golds)} gold sentences")
    for i, (p, g) in enumerate(zip(predictions, golds, strict=True)):
        if len(p) != len(g):
            raise ValueError(f"sentence {i + 1}: {len(p)} predicted tags for {len(g)} gold tags")


def seqeval_scores(
    predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]]
) -> dict[str, float]:
    """seqeval micro precision, recall and F1 (fractions); 0 where undefined."""
    import warnings

    from seqeval.metrics import f1_score, precision_score, recall_score

    _check(predictions, golds)
    g, p = _lists(golds), _lists(predictions)
    with warnings.catch_warnings():
        # seqeval warns on tags without a B-/I- prefix (POS) and on 0/0: both expected here
        warnings.simplefilter("ignore")
        return {
            "f1": float(f1_score(g, p)),
            "precision": float(precision_score(g, p)),
            "recall": float(recall_score(g, p)),
        }

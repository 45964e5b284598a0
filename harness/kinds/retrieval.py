"""Retrieval (``retrieval``: BUCC, Tatoeba, LAReQA, Mewsli-X, the toy retrieval task): no task
head and no phase 2; sentences are encoded by a phase-1 encoder (mean-pooled hidden states of
one layer, :class:`harness.model.pooling.SentenceEncoder`) and compared by cosine similarity.

This module holds the kind's definition and its decoding and scoring, as pure functions of the
sentence vectors:

* ``accuracy`` (Tatoeba, the toy retrieval task): each query's nearest target
  (:func:`bitext_accuracy`); English, the language everything is retrieved from, is not scored
  (:meth:`Retrieval.scored_languages`).
* ``f1`` (BUCC 2018): margin-based mining as LASER's / XTREME's ``mine_bitext``
  (:func:`margin_candidates`, :func:`mine_pairs`), the threshold that maximises F1 on dev
  (:func:`best_threshold`), per-sentence statistics (:func:`bucc_stats`).
* ``map@20`` (LAReQA, Mewsli-X): each query's top-k candidates (:func:`ranked_ids`).

Nearest neighbours are exact: similarities are computed block by block (``block`` rows of each
side) keeping a running top-k, so memory stays bounded for real BUCC (hundreds of thousands of
sentences) and Mewsli-X (a million entities) without a faiss dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

import numpy as np

from harness.kinds.base import TaskKind

if TYPE_CHECKING:
    import torch

    from harness.tasks.spec import TaskSpec

BITEXT_METRICS = ("accuracy", "f1")
"""Primary metrics of the tasks that retrieve English from another language."""


class TextEncoder(Protocol):
    """What mining needs of a sentence encoder: vectors of texts, and the device to search on."""

    device: torch.device

    def encode(self, texts: Sequence[str]) -> torch.Tensor: ...

    def forget(self) -> None:
        """Drop whatever the encoder keeps of texts it will not be asked for again."""


class Retrieval(TaskKind):
    name = "retrieval"
    # a query sentence and the sentence it should retrieve (parallel or question/answer pairs)
    fields = ("query", "target")
    field_types = MappingProxyType({"query": "text", "target": "text"})
    primary_metrics = ("f1", "accuracy", "map@20")
    reported_metrics = frozenset({"f1", "precision", "recall", "accuracy", "map@20"})
    trainable = False

    def required_splits(self, role: str) -> list[str]:
        # a target is evaluated straight from the phase-1 encoder: no training split of its own
        return ["test"] if role == "target" else super().required_splits(role)

    def train_language_scored(self, role: str) -> bool:
        # a retrieval target's train_language is the language of its targets (English for
        # Tatoeba-style pairs): retrieving it from itself is trivial, so it may be left out
        return role != "target"

    def scored_languages(self, spec: TaskSpec) -> list[str]:
        """Bitext tasks (Tatoeba-style accuracy, BUCC F1) leave out English, the language
        everything is retrieved from; the others score every language."""
        if spec.primary_metric in BITEXT_METRICS:
            return [lang for lang in spec.languages if lang != spec.train_language]
        return list(spec.languages)


RETRIEVAL = Retrieval()


def normalize(x: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.nn.functional.normalize(x.float(), dim=-1)


def topk_cosine(
    queries: torch.Tensor,
    keys: torch.Tensor,
    k: int,
    block: int = 8192,
    device: torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(similarities, indices), each (len(queries), k) on the CPU, of every query's k most
    similar keys by cosine, best first; computed on ``device`` block by block (``block`` rows
    of each side) with a running top-k: exact, and memory stays O(block^2)."""
    import torch

    q, c = normalize(queries).to(device), normalize(keys).to(device)
    k = min(k, c.shape[0])
    sims = torch.empty(q.shape[0], k)
    idx = torch.empty(q.shape[0], k, dtype=torch.long)
    for qs in range(0, q.shape[0], block):
        qb = q[qs : qs + block]
        best_s = torch.full((qb.shape[0], 0), float("-inf"), device=q.device)
        best_i = torch.zeros(qb.shape[0], 0, dtype=torch.long, device=q.device)
        for cs in range(0, c.shape[0], block):
            s = qb @ c[cs : cs + block].T
            top_s, top_i = s.topk(min(k, s.shape[1]), dim=1)
            best_s = torch.cat([best_s, top_s], dim=1)
            best_i = torch.cat([best_i, top_i + cs], dim=1)
            keep_s, keep = best_s.topk(min(k, best_s.shape[1]), dim=1)
            best_s, best_i = keep_s, best_i.gather(1, keep)
        sims[qs : qs + block], idx[qs : qs + block] = best_s.cpu(), best_i.cpu()
    return sims, idx


def nearest(
    queries: torch.Tensor,
    keys: torch.Tensor,
    block: int = 8192,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Index of each query's most similar key by cosine (on ties the first key), computed on
    ``device`` block by block."""
    import torch

    q, c = normalize(queries).to(device), normalize(keys).to(device)
    out = torch.empty(q.shape[0], dtype=torch.long)
    for qs in range(0, q.shape[0], block):
        qb = q[qs : qs + block]
        best_s = torch.full((qb.shape[0],), float("-inf"), device=q.device)
        best_i = torch.zeros(qb.shape[0], dtype=torch.long, device=q.device)
        for cs in range(0, c.shape[0], block):
            s, i = (qb @ c[cs : cs + block].T).max(dim=1)
            better = s > best_s  # strictly: an earlier block wins a tie
            best_s = torch.where(better, s, best_s)
            best_i = torch.where(better, i + cs, best_i)
        out[qs : qs + block] = best_i.cpu()
    return out


def bitext_accuracy(
    queries: torch.Tensor,
    targets: torch.Tensor,
    block: int = 8192,
    device: torch.device | None = None,
) -> list[float]:
    """Per query (row i, whose translation is target row i): 1.0 when its nearest target by
    cosine is its own translation, else 0.0."""
    predicted = nearest(queries, targets, block, device)
    return [float(p == i) for i, p in enumerate(predicted.tolist())]


def margin_candidates(
    x: torch.Tensor,
    y: torch.Tensor,
    k: int = 4,
    block: int = 8192,
    device: torch.device | None = None,
) -> list[tuple[int, int, float]]:
    """Mined (x row, y row, ratio-margin score) pairs, best first: LASER's ``mine_bitext``
    with ``mode='mine'``, ``retrieval='max'``, ``margin='ratio'``, threshold 0."""
    import torch

    x2y_sim, x2y_ind = topk_cosine(x, y, k, block, device)
    y2x_sim, y2x_ind = topk_cosine(y, x, k, block, device)
    x2y_mean, y2x_mean = x2y_sim.mean(dim=1), y2x_sim.mean(dim=1)
    fwd = x2y_sim / ((x2y_mean.unsqueeze(1) + y2x_mean[x2y_ind]) / 2)
    bwd = y2x_sim / ((y2x_mean.unsqueeze(1) + x2y_mean[y2x_ind]) / 2)
    fwd_score, fwd_arg = fwd.max(dim=1)
    bwd_score, bwd_arg = bwd.max(dim=1)
    fwd_best = x2y_ind.gather(1, fwd_arg.unsqueeze(1)).squeeze(1)
    bwd_best = y2x_ind.gather(1, bwd_arg.unsqueeze(1)).squeeze(1)
    src = torch.cat([torch.arange(x.shape[0]), bwd_best]).tolist()
    trg = torch.cat([fwd_best, torch.arange(y.shape[0])]).tolist()
    scores = torch.cat([fwd_score, bwd_score]).double().numpy()
    seen_src: set[int] = set()
    seen_trg: set[int] = set()
    mined = []
    for i in np.argsort(-scores, kind="stable").tolist():
        s, t = src[i], trg[i]
        if s in seen_src or t in seen_trg:
            continue
        seen_src.add(s)
        seen_trg.add(t)
        if scores[i] > 0:
            mined.append((s, t, float(scores[i])))
    return mined


def unique_ids(sentences: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(distinct texts in first-seen order, text -> id for texts under exactly one id)."""
    texts: dict[str, list[str]] = {}
    for sid, text in sentences.items():
        texts.setdefault(text, []).append(sid)
    return list(texts), {t: ids[0] for t, ids in texts.items() if len(ids) == 1}


def mine_pairs(
    encoder: TextEncoder,
    source: dict[str, str],
    english: dict[str, str],
    k: int,
    block: int = 8192,
) -> dict[tuple[str, str], float]:
    """Candidate (source id, English id) pairs with their margin scores."""
    src_texts, src_id = unique_ids(source)
    trg_texts, trg_id = unique_ids(english)
    x, y = encoder.encode(src_texts), encoder.encode(trg_texts)
    candidates: dict[tuple[str, str], float] = {}
    for s, t, score in margin_candidates(x, y, k, block, encoder.device):
        if src_texts[s] in src_id and trg_texts[t] in trg_id:
            pair = (src_id[src_texts[s]], trg_id[trg_texts[t]])
            candidates[pair] = max(score, candidates.get(pair, score))
    return candidates


def best_threshold(
    candidates: dict[tuple[str, str], float], gold: Sequence[tuple[str, str]]
) -> float:
    """The score threshold (keep pairs scoring >= it) that maximises F1 against ``gold``: the
    midpoint between the last kept and the first dropped score (XTREME's ``bucc_optimize``;
    cuts only between distinct scores). 0.0 when no candidate is right (keeps every pair)."""
    gold_set = set(gold)
    items = sorted(candidates.items(), key=lambda kv: (-kv[1], kv[0]))
    best_f1, threshold, correct = 0.0, 0.0, 0
    for i, (pair, score) in enumerate(items):
        correct += pair in gold_set
        last = i + 1 == len(items)
        if not last and items[i + 1][1] == score:
            continue
        if correct:
            f1 = 2 * correct / (i + 1 + len(gold_set))
            if f1 > best_f1:
                best_f1 = f1
                threshold = score if last else (score + items[i + 1][1]) / 2
    return threshold


def bucc_stats(
    source_ids: Sequence[str],
    predicted: set[tuple[str, str]],
    gold: Sequence[tuple[str, str]],
) -> list[list[float]]:
    """Per source sentence: [correct pairs, predicted pairs, gold pairs] (column sums give
    F1 = 2 tp / (predicted + gold), :func:`harness.results.stats.metric_from_sums`)."""
    gold_set = set(gold)
    rows = {sid: [0.0, 0.0, 0.0] for sid in source_ids}
    for pair in predicted:
        rows[pair[0]][1] += 1
        rows[pair[0]][0] += pair in gold_set
    for pair in gold_set:
        rows[pair[0]][2] += 1
    return [rows[sid] for sid in source_ids]


def ranked_ids(
    queries: torch.Tensor,
    pool: torch.Tensor,
    pool_ids: Sequence[str],
    k: int,
    block: int,
    device: torch.device | None = None,
) -> list[list[str]]:
    """Each query's top-k candidate ids by cosine."""
    _, idx = topk_cosine(queries, pool, k, block, device)
    return [[pool_ids[j] for j in row] for row in idx.tolist()]

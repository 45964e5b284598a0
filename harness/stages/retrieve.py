"""Stage ``retrieve@I-T``: a retrieval target scored from the phase-1 encoder of setting ``I``,
on every scored language and evaluation split; one result file per cell.

Sentences are mean-pooled hidden states of ``retrieval.layer`` (:mod:`harness.model.pooling`),
searched by cosine similarity (:mod:`harness.kinds.retrieval`); a task listed in
``retrieval.fine_tune`` (LAReQA, Mewsli-X, as XTREME-R runs them) is first trained as a dual
encoder on its English (query, target) pairs and scored with its pooled vectors
(:mod:`harness.model.dual`). The spec's primary metric picks
the protocol:

* ``accuracy`` (Tatoeba-style): each query retrieves among the split's targets (or the other
  way with ``retrieval.accuracy_direction: target_to_query``, as XTREME's
  ``similarity_search`` does); correct when it finds its own translation (by position).
* ``f1`` (BUCC 2018): margin mining on the distinct texts of each side; a text that occurs
  under several ids is dropped (as XTREME's ``read_sent2id``). The threshold that maximises F1
  on the dev split is applied to the test split; dev reports its F1 at its own best threshold.
  (XTREME's script re-optimises on its "test" split, the BUCC training data, whose gold it has;
  we do not.)
* ``map@20`` (LAReQA, Mewsli-X): every query ranks the candidate pool
  (:func:`harness.data.pools.map_pool`); AP@k per query (Mewsli-X: the official first-gold-only
  reciprocal rank).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import kinds
from harness.config import BASELINE, Params, TrainParams
from harness.data.pools import bucc_corpus, local_source, map_pool
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.kinds.retrieval import (
    Retrieval,
    TextEncoder,
    best_threshold,
    bitext_accuracy,
    bucc_stats,
    mine_pairs,
    ranked_ids,
)
from harness.metrics.retrieval import average_precision_at_k, bucc_scores, mewslix_map_at_k
from harness.model.dual import DualEncoder, DualTextEncoder, collate_pairs, featurize_pairs
from harness.model.encoders import load_encoder
from harness.model.pooling import SentenceEncoder, resolve_layer
from harness.model.train import checkpointing_of, clear_checkpoints, train
from harness.provenance import now
from harness.results.schema import example_line, score_row
from harness.seeding import seed_everything
from harness.stages.cells import (
    evaluation_splits,
    retrieval_cell_params,
    selection_record,
    write_cell_result,
)
from harness.tasks import Registry, TaskSpec, training_spec

Scored = tuple[dict[str, float], str, list[str], list[list[float]], int]
"""(metric values, stats metric, example ids, stats rows, n_examples) of one language/split."""


def retrieve_cell(
    params: Params,
    registry: Registry,
    intermediate: str,
    task: str,
    encoder_dir: Path,
    out_file: Path,
) -> dict[str, Any]:
    """Score a retrieval target from the phase-1 encoder of ``intermediate`` on every language
    and evaluation split; write the result file and its per-example file."""
    started, clock = now(), time.monotonic()
    spec = registry.get(task, role="target")
    kind = kinds.of(spec)
    if not isinstance(kind, Retrieval):
        raise HarnessError(
            f"Task '{task}' is a {spec.kind} task; `harness retrieve` scores retrieval tasks "
            "only. Use `harness evaluate` for it."
        )
    splits = evaluation_splits(spec, params.evaluation.splits)
    if "test" not in splits:
        raise HarnessError(
            f"Task '{task}' is not scored on a test split: its source names splits "
            f"{sorted(spec.split_names)} and params.yaml evaluation.splits is "
            f"{params.evaluation.splits}. Add 'test' to both."
        )
    if intermediate != BASELINE:
        registry.get(intermediate)  # a known task: its name goes into the result
    model, tokenizer, info = load_encoder(encoder_dir)
    r = params.retrieval
    tuned = r.fine_tune.get(task)
    layer: int | None = None
    trained: dict[str, Any] | None = None
    encoder: TextEncoder
    queries: TextEncoder
    if tuned is None:
        layer = resolve_layer(r.layer, int(model.config.num_hidden_layers))
        encoder = SentenceEncoder(
            model, tokenizer, layer, r.batch_size, r.max_length, f"encode {task}"
        )
        queries = encoder
    else:
        dual, trained = fine_tune(params, spec, model, tokenizer, tuned, intermediate, out_file)
        encoder = DualTextEncoder(dual, tokenizer, r.batch_size, tuned.max_length, f"encode {task}")
        queries = DualTextEncoder(
            dual, tokenizer, r.batch_size, tuned.max_query_length, f"encode {task} queries"
        )
    results: dict[tuple[str, str], Scored] = {}
    metric = spec.primary_metric
    if metric == "accuracy":
        for language in kind.scored_languages(spec):
            for split in splits:
                results[(language, split)] = score_accuracy(params, spec, encoder, split, language)
    elif metric == "f1":
        for language in kind.scored_languages(spec):
            for split, scored in score_bucc(params, spec, encoder, splits, language).items():
                results[(language, split)] = scored
    else:
        for split in splits:
            for language, scored in score_mean_ap(params, spec, encoder, split, queries).items():
                results[(language, split)] = scored
    scores: list[dict[str, Any]] = []
    lines: list[str] = []
    for (language, split), (values, stats_metric, ids, rows, n) in results.items():
        scores += [score_row(language, split, m, v, n) for m, v in values.items()]
        lines.append(example_line(language, split, stats_metric, ids, rows))
    timings = {"retrieve": round(time.monotonic() - clock, 3)}
    if info.get("phase") == 1 and isinstance(info.get("train"), dict):
        timings["phase1_train"] = float(info["train"].get("seconds", 0.0))
    if trained is not None:
        timings["phase2_train"] = float(trained["seconds"])
    parameters = retrieval_cell_params(params, intermediate)
    parameters["layer"] = layer
    return write_cell_result(
        params,
        registry,
        intermediate,
        spec,
        [encoder_dir],
        scores,
        lines,
        out_file,
        started,
        timings,
        parameters,
        selection_record({"from": str(encoder_dir)}),
    )


def fine_tune(
    params: Params,
    spec: TaskSpec,
    model: Any,
    tokenizer: Any,
    tp: TrainParams,
    intermediate: str,
    out_file: Path,
) -> tuple[DualEncoder, dict[str, Any]]:
    """Train a dual encoder on ``model`` (the phase-1 encoder) from the (query, target) pairs of
    the task's English training data (``retrieval.fine_tune``; :mod:`harness.model.dual`), with
    crash-resume checkpoints like every training run; returns it and its training record."""
    if not spec.english_training:
        raise HarnessError(
            f"retrieval.fine_tune lists '{spec.name}', whose spec has no english_training data "
            "to train a dual encoder on: add its English (query, target) pairs to the spec, or "
            f"remove '{spec.name}' from retrieval.fine_tune."
        )
    generator = seed_everything(params.seed)
    dual = DualEncoder(model, params.seed)
    pairs: list[tuple[str, str]] = []
    for number in range(len(spec.english_training)):
        stage = training_spec(spec, number)
        pairs += [
            (str(ex["query"]), str(ex["target"]))
            for ex in load_examples(stage, "train", stage.train_language)
        ]
    features = featurize_pairs(pairs, tokenizer, tp.max_query_length, tp.max_length)
    # checkpoints beside where a phase-2 model of this cell would be (outside DVC)
    anchor = params.paths.models / "retrieval" / out_file.stem
    pad = tokenizer.pad_token_id
    summary = train(
        dual,
        features,
        lambda fs: collate_pairs(fs, pad),
        tp,
        generator,
        f"dual encoder: {intermediate} -> {spec.name}",
        checkpointing=checkpointing_of(params.checkpoint, anchor),
    )
    clear_checkpoints(anchor)
    return dual, summary.as_dict()


def score_accuracy(
    params: Params, spec: TaskSpec, encoder: TextEncoder, split: str, language: str
) -> Scored:
    examples = load_examples(spec, split, language)
    if not examples:
        raise HarnessError(f"Task '{spec.name}' has no {split} examples for {language}.")
    q = encoder.encode([str(ex["query"]) for ex in examples])
    t = encoder.encode([str(ex["target"]) for ex in examples])
    if params.retrieval.accuracy_direction == "target_to_query":
        q, t = t, q
    correct = bitext_accuracy(q, t, params.retrieval.block_size, encoder.device)
    ids = [str(ex["id"]) for ex in examples]
    value = sum(correct) / len(correct)
    return {"accuracy": value}, "accuracy", ids, [[c] for c in correct], len(ids)


def score_bucc(
    params: Params,
    spec: TaskSpec,
    encoder: TextEncoder,
    splits: Sequence[str],
    language: str,
) -> dict[str, Scored]:
    """Mine dev and the requested splits; tune the threshold on dev, apply it to each."""
    r = params.retrieval
    mined = {}
    corpora = {}
    for split in ["dev", *[s for s in splits if s != "dev"]]:
        corpora[split] = bucc_corpus(spec, split, language)
        src, eng, _ = corpora[split]
        mined[split] = mine_pairs(encoder, src, eng, r.bucc_margin_k, r.block_size)
    threshold = best_threshold(mined["dev"], corpora["dev"][2])
    out: dict[str, Scored] = {}
    for split in splits:
        src, _, gold = corpora[split]
        predicted = {pair for pair, score in mined[split].items() if score >= threshold}
        values = bucc_scores(sorted(predicted), gold)
        ids = list(src)
        out[split] = (values, "f1", ids, bucc_stats(ids, predicted, gold), len(ids))
    encoder.forget()  # no other language pair shares these corpora
    return out


def score_mean_ap(
    params: Params,
    spec: TaskSpec,
    encoder: TextEncoder,
    split: str,
    query_encoder: TextEncoder | None = None,
) -> dict[str, Scored]:
    """mAP@k of every language's queries against the pool; ``query_encoder`` (default
    ``encoder``) encodes the queries: a dual encoder cuts queries and candidates to their own
    lengths."""
    query_encoder = query_encoder or encoder
    queries, pool_ids, pool_texts = map_pool(spec, split)
    pool = encoder.encode(pool_texts)
    mewslix = local_source(spec).format == "mewslix"
    metric = spec.primary_metric
    k = int(metric.partition("@")[2])
    out: dict[str, Scored] = {}
    for language, rows in queries.items():
        if not rows:
            raise HarnessError(f"Task '{spec.name}' has no {split} queries for '{language}'.")
        vectors = query_encoder.encode([text for _, text, _ in rows])
        ranked = ranked_ids(vectors, pool, pool_ids, k, params.retrieval.block_size, encoder.device)
        aps = [
            mewslix_map_at_k({qid: sorted(gold)}, {qid: top}, k)
            if mewslix
            else average_precision_at_k(sorted(gold), top, k)
            for (qid, _, gold), top in zip(rows, ranked, strict=True)
        ]
        ids = [qid for qid, _, _ in rows]
        out[language] = (
            {metric: sum(aps) / len(aps)},
            metric,
            ids,
            [[ap, 1.0] for ap in aps],
            len(ids),
        )
    return out

"""Retrieval targets scored straight from a phase-1 encoder (no phase 2).

Sentences are represented by the attention-mask weighted mean of one layer's hidden states
(:class:`SentenceEncoder`; special tokens included, as XTREME's ``mean_pool_embedding``) and
compared by cosine similarity. Each distinct text is encoded once per run, whichever languages
and splits it appears in (one cache per cell; BUCC forgets a language pair's corpora when it is
done, since no other language shares them). Batches are built from length-sorted inputs with
dynamic padding.

Scoring follows the spec's primary metric:

* ``accuracy`` (Tatoeba, the toy retrieval task): for every language but English, each query's
  nearest target (its English translation) among the split's targets; correct when it is its
  own (by position, as XTREME compares indices). ``retrieval.accuracy_direction`` can search
  the other way (XTREME's ``similarity_search`` searches the non-English sentences with the
  English ones). English itself is not scored (retrieving English from English is trivial;
  the XTREME Tatoeba and BUCC data have no English-English set).
* ``f1`` (BUCC 2018): margin-based mining as LASER's / XTREME's ``mine_bitext`` (ratio margin
  over the ``bucc_margin_k`` nearest neighbours both ways, ``retrieval='max'``: every source's
  and every target's best candidate, greedily one-to-one by descending score, scores > 0), on
  the distinct texts of each side; a text that occurs under several ids is dropped, as
  XTREME's ``read_sent2id`` does. The threshold that maximises F1 on the dev split is applied to
  the test split; dev reports its F1 at its own best threshold. (XTREME's script re-optimises
  on its "test" split, the BUCC training data, whose gold it has; we do not.)
* ``map@20`` (LAReQA, Mewsli-X): every query ranks the whole candidate pool; AP@k per query with
  :mod:`harness.metrics.retrieval`. LAReQA (XQuAD-R, ``squad_json``): the pool is every
  sentence (``sentence_breaks``) of every paragraph of every language, a question's correct
  candidates its answer sentence in each language (XTREME's ``utils_lareqa``; the candidate is
  encoded from its sentence alone). Mewsli-X: the pool is ``candidate_set_entities.jsonl``
  beside the mentions (entity descriptions), scored with the official first-gold-only
  reciprocal rank. Another local jsonl task: the pool is the distinct targets of the split over
  all languages.

Nearest neighbours are exact: similarities are computed block by block (``block_size`` rows
of each side) keeping a running top-k, so memory stays bounded for real BUCC (hundreds of
thousands of sentences) and Mewsli-X (a million entities) without a faiss dependency.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config import BASELINE, Params
from harness.errors import HarnessError

if TYPE_CHECKING:
    import torch

    from harness.tasks import LocalSource, Registry, TaskSpec

BITEXT_METRICS = ("accuracy", "f1")
"""Primary metrics of the tasks that retrieve English from another language."""


def scored_languages(spec: TaskSpec) -> list[str]:
    """The languages a retrieval task is scored on: bitext tasks (Tatoeba-style accuracy, BUCC
    F1) leave out English, the language everything is retrieved from."""
    if spec.kind == "retrieval" and spec.primary_metric in BITEXT_METRICS:
        return [lang for lang in spec.languages if lang != spec.train_language]
    return list(spec.languages)


# --------------------------------------------------------------------------------------------
# encoding


class SentenceEncoder:
    """Mean-pooled hidden states of ``layer`` (0 = embeddings, ``L`` = last layer), cached by
    text: each distinct text runs through the model once."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        layer: int,
        batch_size: int,
        max_length: int,
        description: str = "encode",
    ) -> None:
        import torch

        from harness.train import pick_device

        layers = int(model.config.num_hidden_layers)
        if not 0 <= layer <= layers:
            raise HarnessError(
                f"retrieval.layer {layer} is out of range: the encoder has {layers} layers "
                f"(0 = embedding output ... {layers} = last layer); fix retrieval.layer in "
                "params.yaml (null = the middle layer)."
            )
        self.layer = layer
        self.device = pick_device()
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.description = description
        self._rows: dict[str, int] = {}
        self._matrix = torch.zeros(0, int(model.config.hidden_size))
        self.encoded = 0
        """Texts run through the model so far."""
        self.forward_calls = 0

    def forget(self) -> None:
        """Drop the cache (the texts seen so far will not be asked for again)."""
        import torch

        self._rows = {}
        self._matrix = torch.zeros(0, self._matrix.shape[1])

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), hidden) float32 vectors on the CPU, not normalised."""
        import torch

        new = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if new:
            vectors = self._run(new)
            start = self._matrix.shape[0]
            self._matrix = torch.cat([self._matrix, vectors])
            self._rows.update({t: start + i for i, t in enumerate(new)})
        index = torch.tensor([self._rows[t] for t in texts], dtype=torch.long)
        return self._matrix[index]

    def _run(self, texts: list[str]) -> torch.Tensor:
        import torch

        from harness.progress import progress_bar

        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out = torch.zeros(len(texts), self._matrix.shape[1])
        pad = self.tokenizer.pad_token_id
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        with torch.no_grad(), progress_bar(self.description, len(batches)) as advance:
            for batch in batches:
                width = max(len(ids[i]) for i in batch)
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                out[batch] = self._pool(input_ids.to(self.device), mask.to(self.device)).cpu()
                advance(None)
        self.encoded += len(texts)
        return out

    def _pool(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.forward_calls += 1
        outputs = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        states = outputs.hidden_states[self.layer].float()
        weights = mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def load_encoder(encoder_dir: Path) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, phase info) of a phase-1 (or pretrained) encoder folder."""
    from transformers import AutoModel

    from harness.modeling import attention_implementation, load_tokenizer, read_phase

    if not encoder_dir.is_dir():
        raise HarnessError(
            f"Encoder folder '{encoder_dir}' does not exist. Pass the phase-1 encoder "
            "(models/encoders/<intermediate>) and run the stage that writes it first."
        )
    info = read_phase(encoder_dir)
    tokenizer = load_tokenizer(encoder_dir)
    try:
        model = AutoModel.from_pretrained(
            str(encoder_dir),
            attn_implementation=attention_implementation(),
            add_pooling_layer=False,  # mean pooling; the encoder was saved without a pooler
        )
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"No encoder checkpoint in '{encoder_dir}': {exc}. Rerun the stage that writes it."
        ) from exc
    return model, tokenizer, info


def resolve_layer(layer: int | None, num_layers: int) -> int:
    """``retrieval.layer``, or the middle layer when it is None."""
    return num_layers // 2 if layer is None else layer


# --------------------------------------------------------------------------------------------
# nearest neighbours


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


# --------------------------------------------------------------------------------------------
# scoring


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


def _unique_ids(sentences: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(distinct texts in first-seen order, text -> id for texts under exactly one id)."""
    texts: dict[str, list[str]] = {}
    for sid, text in sentences.items():
        texts.setdefault(text, []).append(sid)
    return list(texts), {t: ids[0] for t, ids in texts.items() if len(ids) == 1}


def mine_pairs(
    encoder: SentenceEncoder,
    source: dict[str, str],
    english: dict[str, str],
    k: int,
    block: int = 8192,
) -> dict[tuple[str, str], float]:
    """Candidate (source id, English id) pairs with their margin scores."""
    src_texts, src_id = _unique_ids(source)
    trg_texts, trg_id = _unique_ids(english)
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
    F1 = 2 tp / (predicted + gold), :func:`harness.analysis.metric_from_sums`)."""
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


# --------------------------------------------------------------------------------------------
# one cell


Scored = tuple[dict[str, float], str, list[str], list[list[float]], int]
"""(metric values, stats metric, example ids, stats rows, n_examples) of one language/split."""


Pool = tuple[dict[str, list[tuple[str, str, set[str]]]], list[str], list[str]]
"""Per language its queries (id, text, correct candidate ids); the pool's ids and texts."""


class _Cell:
    def __init__(self, params: Params, spec: TaskSpec, encoder: SentenceEncoder) -> None:
        self.params = params
        self.spec = spec
        self.encoder = encoder
        self.r = params.retrieval

    def _source(self) -> LocalSource:
        from harness.tasks import LocalSource

        if not isinstance(self.spec.source, LocalSource):
            raise HarnessError(
                f"Task '{self.spec.name}' ({self.spec.primary_metric}) reads a Hub source; "
                "this metric needs the local files (set source.type local)."
            )
        return self.spec.source

    # accuracy -----------------------------------------------------------------------------
    def accuracy(self, split: str, language: str) -> Scored:
        from harness.data.sources import load_examples

        examples = load_examples(self.spec, split, language)
        if not examples:
            raise HarnessError(f"Task '{self.spec.name}' has no {split} examples for {language}.")
        q = self.encoder.encode([str(ex["query"]) for ex in examples])
        t = self.encoder.encode([str(ex["target"]) for ex in examples])
        if self.r.accuracy_direction == "target_to_query":
            q, t = t, q
        correct = bitext_accuracy(q, t, self.r.block_size, self.encoder.device)
        ids = [str(ex["id"]) for ex in examples]
        value = sum(correct) / len(correct)
        return {"accuracy": value}, "accuracy", ids, [[c] for c in correct], len(ids)

    # BUCC ---------------------------------------------------------------------------------
    def bucc_corpus(
        self, split: str, language: str
    ) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
        from harness.data.readers import read_bucc_corpus

        source = self._source()
        if split not in source.files:
            raise HarnessError(
                f"Task '{self.spec.name}' has no '{split}' split in source.files; BUCC mining "
                "tunes its threshold on dev and applies it to test, so it needs both."
            )
        stem = source.path / source.files[split].format(language=language)
        src, eng, gold = read_bucc_corpus(stem, self.spec.name, language)
        if not gold:
            raise HarnessError(
                f"BUCC {split} split '{stem}' has no gold pairs ('{stem.name}.gold' missing or "
                "empty), so it cannot be scored. The official test gold is not public; XTREME "
                "evaluates on the released training data as its test split: point "
                "source.files.test at '{language}-en.training' in the task spec."
            )
        return src, eng, gold

    def bucc(self, splits: Sequence[str], language: str) -> dict[str, Scored]:
        """Mine dev and the requested splits; tune the threshold on dev, apply it to each."""
        from harness.metrics.retrieval import bucc_scores

        mined = {}
        corpora = {}
        for split in ["dev", *[s for s in splits if s != "dev"]]:
            corpora[split] = self.bucc_corpus(split, language)
            src, eng, _ = corpora[split]
            mined[split] = mine_pairs(
                self.encoder, src, eng, self.r.bucc_margin_k, self.r.block_size
            )
        threshold = best_threshold(mined["dev"], corpora["dev"][2])
        out: dict[str, Scored] = {}
        for split in splits:
            src, _, gold = corpora[split]
            predicted = {pair for pair, score in mined[split].items() if score >= threshold}
            values = bucc_scores(sorted(predicted), gold)
            ids = list(src)
            out[split] = (values, "f1", ids, bucc_stats(ids, predicted, gold), len(ids))
        self.encoder.forget()  # no other language pair shares these corpora
        return out

    # mAP ----------------------------------------------------------------------------------
    def map_pool(self, split: str) -> Pool:
        """Per language, its queries (id, text, correct candidate ids); the pool's ids and
        texts (shared by every language of the split)."""
        source = self._source()
        if source.format == "squad_json":
            return self._lareqa_pool(source, split)
        if source.format == "mewslix":
            return self._mewslix_pool(source, split)
        from harness.data.sources import load_examples

        queries: dict[str, list[tuple[str, str, set[str]]]] = {}
        pool: dict[str, None] = {}
        for language in scored_languages(self.spec):
            examples = load_examples(self.spec, split, language)
            queries[language] = [
                (str(ex["id"]), str(ex["query"]), {str(ex["target"])}) for ex in examples
            ]
            pool.update(dict.fromkeys(str(ex["target"]) for ex in examples))
        return queries, list(pool), list(pool)

    def _lareqa_pool(self, source: LocalSource, split: str) -> Pool:
        questions: dict[str, list[tuple[str, str, str]]] = {}  # lang -> (qid, text, xling id)
        answers: dict[str, set[str]] = {}  # xling id -> candidate uids (one per language)
        pool_ids: list[str] = []
        pool_texts: list[str] = []
        for language in self.spec.languages:
            path = source.path / source.files[split].format(language=language)
            if not path.is_file():
                raise HarnessError(
                    f"Data file '{path}' for task '{self.spec.name}' ({split}, {language}) is "
                    "missing; `dvc pull` the data snapshot or fix source.path in the spec."
                )
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                questions[language] = []
                paragraph_no = 0
                for article in data["data"]:
                    for paragraph in article["paragraphs"]:
                        paragraph_no += 1
                        context = paragraph["context"]
                        breaks = [(int(a), int(b)) for a, b in paragraph["sentence_breaks"]]
                        uids = [f"{language}_{paragraph_no}_{i}" for i in range(len(breaks))]
                        pool_ids += uids
                        pool_texts += [context[a:b] for a, b in breaks]
                        for qa in paragraph["qas"]:
                            start = int(qa["answers"][0]["answer_start"])
                            hit = [i for i, (a, b) in enumerate(breaks) if a <= start < b]
                            if not hit:
                                continue  # no sentence holds the answer (as XTREME skips it)
                            xling = str(qa["id"])
                            answers.setdefault(xling, set()).add(uids[hit[0]])
                            questions[language].append((xling, str(qa["question"]), xling))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
                raise HarnessError(
                    f"'{path}' is not XQuAD-R JSON (SQuAD with sentence_breaks per paragraph "
                    f"and one answer per question): {exc!r}."
                ) from exc
        queries = {
            lang: [(qid, text, answers[x]) for qid, text, x in rows]
            for lang, rows in questions.items()
        }
        return queries, pool_ids, pool_texts

    def _mewslix_pool(self, source: LocalSource, split: str) -> Pool:
        from harness.data.readers import read_mewslix_entities
        from harness.data.sources import load_examples

        path = source.path / "candidate_set_entities.jsonl"
        if not path.is_file():
            raise HarnessError(
                f"Mewsli-X candidate entities '{path}' are missing; download them with the "
                "mentions (candidate_set_entities.jsonl) or `dvc pull` the data snapshot."
            )
        entities = read_mewslix_entities(path, self.spec.name)
        queries = {
            language: [
                (str(ex["id"]), str(ex["query"]), {str(ex["target"])})
                for ex in load_examples(self.spec, split, language)
            ]
            for language in self.spec.languages
        }
        return queries, list(entities), list(entities.values())

    def mean_ap(self, split: str) -> dict[str, Scored]:
        from harness.metrics.retrieval import average_precision_at_k, mewslix_map_at_k

        queries, pool_ids, pool_texts = self.map_pool(split)
        pool = self.encoder.encode(pool_texts)
        mewslix = self._source().format == "mewslix"
        metric = self.spec.primary_metric
        k = int(metric.partition("@")[2])
        out: dict[str, Scored] = {}
        for language, rows in queries.items():
            if not rows:
                raise HarnessError(
                    f"Task '{self.spec.name}' has no {split} queries for '{language}'."
                )
            vectors = self.encoder.encode([text for _, text, _ in rows])
            ranked = ranked_ids(vectors, pool, pool_ids, k, self.r.block_size, self.encoder.device)
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


def retrieval_cell_params(params: Params, intermediate: str) -> dict[str, Any]:
    """Every parameter that can change a retrieval cell's scores."""
    from harness.evaluate import encoder_params

    return {
        **encoder_params(params, intermediate),
        "retrieval": params.retrieval.model_dump(mode="json"),
        "splits": list(params.evaluation.splits),
    }


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
    from harness.evaluate import _splits, example_line, write_cell_result
    from harness.provenance import now

    started, clock = now(), time.monotonic()
    spec = registry.get(task, role="target")
    if spec.kind != "retrieval":
        raise HarnessError(
            f"Task '{task}' is a {spec.kind} task; `harness retrieve` scores retrieval tasks "
            "only. Use `harness evaluate` for it."
        )
    splits = _splits(spec, params.evaluation.splits)
    if "test" not in splits:
        raise HarnessError(
            f"Task '{task}' is not scored on a test split: its source names splits "
            f"{sorted(_split_names(spec))} and params.yaml evaluation.splits is "
            f"{params.evaluation.splits}. Add 'test' to both."
        )
    if intermediate != BASELINE:
        registry.get(intermediate)  # a known task: its name goes into the result
    model, tokenizer, info = load_encoder(encoder_dir)
    layers = int(model.config.num_hidden_layers)
    layer = resolve_layer(params.retrieval.layer, layers)
    encoder = SentenceEncoder(
        model,
        tokenizer,
        layer,
        params.retrieval.batch_size,
        params.retrieval.max_length,
        f"encode {task}",
    )
    cell = _Cell(params, spec, encoder)
    results: dict[tuple[str, str], Scored] = {}
    metric = spec.primary_metric
    if metric == "accuracy":
        for language in scored_languages(spec):
            for split in splits:
                results[(language, split)] = cell.accuracy(split, language)
    elif metric == "f1":
        for language in scored_languages(spec):
            for split, scored in cell.bucc(splits, language).items():
                results[(language, split)] = scored
    else:
        for split in splits:
            for language, scored in cell.mean_ap(split).items():
                results[(language, split)] = scored
    scores: list[dict[str, Any]] = []
    lines: list[str] = []
    for (language, split), (values, stats_metric, ids, rows, n) in results.items():
        scores += [
            {"language": language, "split": split, "metric": m, "value": v, "n_examples": n}
            for m, v in values.items()
        ]
        lines.append(example_line(language, split, stats_metric, ids, rows))
    timings = {"retrieve": round(time.monotonic() - clock, 3)}
    if info.get("phase") == 1 and isinstance(info.get("train"), dict):
        timings["phase1_train"] = float(info["train"].get("seconds", 0.0))
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
    )


def _split_names(spec: TaskSpec) -> list[str]:
    from harness.tasks import LocalSource

    source = spec.source
    return list(source.files if isinstance(source, LocalSource) else source.splits)

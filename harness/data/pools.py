"""What a retrieval target searches: queries with their correct candidates, and the pool.

* BUCC (``bucc`` files): each language pair's comparable corpora and gold pairs
  (:func:`bucc_corpus`).
* mAP@k tasks (:func:`map_pool`): LAReQA (XQuAD-R, ``squad_json``): the pool is every sentence
  (``sentence_breaks``) of every paragraph of every language, a question's correct candidates its
  answer sentence in each language (XTREME's ``utils_lareqa``; a candidate is encoded as its
  sentence followed by its paragraph, as XTREME-R's ``evaluate_retrieval.py``). Mewsli-X: the
  pool is ``candidate_set_entities.jsonl`` beside the mentions (entity descriptions). Any other
  local jsonl task: the pool is the distinct targets of the split over all languages.
"""

from __future__ import annotations

import json

from harness import kinds
from harness.data.readers import lareqa_candidate
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.tasks import LocalSource, TaskSpec

Queries = dict[str, list[tuple[str, str, set[str]]]]
"""Per language its queries: (id, text, correct candidate ids)."""
Pool = tuple[Queries, list[str], list[str]]
"""The queries per language; the pool's ids and texts (shared by every language of the split)."""


def local_source(spec: TaskSpec) -> LocalSource:
    """The local files of a retrieval task whose metric needs them (BUCC, mAP@k pools)."""
    if not isinstance(spec.source, LocalSource):
        raise HarnessError(
            f"Task '{spec.name}' ({spec.primary_metric}) reads a Hub source; this metric needs "
            "the local files (set source.type local)."
        )
    return spec.source


def bucc_corpus(
    spec: TaskSpec, split: str, language: str
) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """(source sentences by id, English sentences by id, gold pairs) of one BUCC split."""
    from harness.data.readers import read_bucc_corpus

    source = local_source(spec)
    if split not in source.files:
        raise HarnessError(
            f"Task '{spec.name}' has no '{split}' split in source.files; BUCC mining tunes its "
            "threshold on dev and applies it to test, so it needs both."
        )
    stem = source.path / source.files[split].format(language=language)
    src, eng, gold = read_bucc_corpus(stem, spec.name, language)
    if not gold:
        raise HarnessError(
            f"BUCC {split} split '{stem}' has no gold pairs ('{stem.name}.gold' missing or "
            "empty), so it cannot be scored. The official test gold is not public; XTREME "
            "evaluates on the released training data as its test split: point "
            "source.files.test at '{language}-en.training' in the task spec."
        )
    return src, eng, gold


def map_pool(spec: TaskSpec, split: str) -> Pool:
    """The queries of every scored language and the candidate pool of one split."""
    source = local_source(spec)
    if source.format == "squad_json":
        return _lareqa_pool(spec, source, split)
    if source.format == "mewslix":
        return _mewslix_pool(spec, source, split)
    queries: Queries = {}
    pool: dict[str, None] = {}
    for language in kinds.of(spec).scored_languages(spec):
        examples = load_examples(spec, split, language)
        queries[language] = [
            (str(ex["id"]), str(ex["query"]), {str(ex["target"])}) for ex in examples
        ]
        pool.update(dict.fromkeys(str(ex["target"]) for ex in examples))
    return queries, list(pool), list(pool)


def _lareqa_pool(spec: TaskSpec, source: LocalSource, split: str) -> Pool:
    questions: dict[str, list[tuple[str, str, str]]] = {}  # lang -> (qid, text, xling id)
    answers: dict[str, set[str]] = {}  # xling id -> candidate uids (one per language)
    pool_ids: list[str] = []
    pool_texts: list[str] = []
    for language in spec.languages:
        path = source.path / source.files[split].format(language=language)
        if not path.is_file():
            raise HarnessError(
                f"Data file '{path}' for task '{spec.name}' ({split}, {language}) is missing; "
                "`dvc pull` the data snapshot or fix source.path in the spec."
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
                    # a candidate is its sentence followed by the paragraph, as XTREME-R encodes it
                    pool_texts += [lareqa_candidate(context[a:b], context) for a, b in breaks]
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
                f"'{path}' is not XQuAD-R JSON (SQuAD with sentence_breaks per paragraph and "
                f"one answer per question): {exc!r}."
            ) from exc
    queries = {
        lang: [(qid, text, answers[x]) for qid, text, x in rows] for lang, rows in questions.items()
    }
    return queries, pool_ids, pool_texts


def _mewslix_pool(spec: TaskSpec, source: LocalSource, split: str) -> Pool:
    from harness.data.readers import read_mewslix_entities

    path = source.path / "candidate_set_entities.jsonl"
    if not path.is_file():
        raise HarnessError(
            f"Mewsli-X candidate entities '{path}' are missing; download them with the mentions "
            "(candidate_set_entities.jsonl) or `dvc pull` the data snapshot."
        )
    entities = read_mewslix_entities(path, spec.name)
    queries = {
        language: [
            (str(ex["id"]), str(ex["query"]), {str(ex["target"])})
            for ex in load_examples(spec, split, language)
        ]
        for language in spec.languages
    }
    return queries, list(entities), list(entities.values())

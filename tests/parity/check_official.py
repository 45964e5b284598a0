"""Differential check of ``harness score`` against the official XTREME scorers.

Not collected by pytest: it needs a checkout of google-research/xtreme (its ``evaluate.py``
and ``third_party/``), which this repository does not ship. Run::

    python -m tests.parity.check_official --xtreme-repo PATH [--cases 300] [--seed 0]

It writes random prediction and label files in the submission layout (multilingual answers
with Chinese, Arabic, Unicode and ASCII punctuation, articles, empty and punctuation-only
answers, missing and extra predictions; BIO and POS tag sequences with repeated tags and empty
sentences; BUCC pairs with duplicates; ranked id lists), scores each with the official code and
with :func:`harness.results.xtreme.score_files`, and prints the largest absolute difference per
task.
Exit status 1 if any difference exceeds 1e-9.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.results.xtreme import score_files

_WORDS = [
    "the", "a", "an", "The", "cat", "Paris", "de", "der", "die", "Hund", "la", "casa", "los",
    "của", "cái", "bàn", "الكتاب", "قال", "كتاب،", "北京", "北京市", "手机", "iPhone", "。",
    "\uff0c", "«hola»", "$100", "€5", "!!!", "...", "-", "theatre", "1990", "Ünïcode", "Σ",
    "\u2013", "'s",
]  # fmt: skip
_TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "NOUN", "VERB",
         "SCONJ", "SYM", "ADJ", "DET", "PUNCT", "X", "INTJ"]  # fmt: skip


def _phrase(rng: random.Random) -> str:
    n = rng.choice([0, 1, 1, 2, 3, 4])
    sep = rng.choice([" ", " ", "", "  "])
    return sep.join(rng.choice(_WORDS) for _ in range(n))


def _qa_case(rng: random.Random, d: Path) -> None:
    qas, preds = [], {}
    for i in range(rng.randint(1, 6)):
        answers = [{"text": _phrase(rng), "answer_start": 0} for _ in range(rng.randint(1, 3))]
        qas.append({"id": f"q{i}", "question": "?", "answers": answers})
        if rng.random() < 0.85:
            preds[f"q{i}"] = _phrase(rng)
    if rng.random() < 0.2:
        preds["extra"] = "x"
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "", "qas": qas}]}]}
    (d / "labels.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (d / "preds.json").write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")


def _label_case(rng: random.Random, d: Path) -> None:
    n = rng.randint(1, 20)
    labels = [rng.choice(["entailment", "neutral", "contradiction", "0", "1"]) for _ in range(n)]
    preds = [rng.choice(["entailment", "neutral", "contradiction", "0", "1"]) for _ in range(n)]
    (d / "labels.tsv").write_text("".join(f"{x}\n" for x in labels), encoding="utf-8")
    (d / "preds.tsv").write_text("".join(f"{x}\n" for x in preds), encoding="utf-8")


def _tag_case(rng: random.Random, d: Path) -> None:
    gold_text, pred_text = [], []
    for _ in range(rng.randint(1, 5)):
        n = rng.randint(0, 8)  # 0: an empty sentence (two blank lines in a row)
        gold = [rng.choice(_TAGS) for _ in range(n)]
        pred = [t if rng.random() < 0.6 else rng.choice(_TAGS) for t in gold]
        gold_text.append("".join(f"{t}\n" for t in gold) + "\n")
        pred_text.append("".join(f"{t}\n" for t in pred) + "\n")
    (d / "labels.tsv").write_text("".join(gold_text), encoding="utf-8")
    (d / "preds.tsv").write_text("".join(pred_text), encoding="utf-8")


def _bucc_case(rng: random.Random, d: Path) -> None:
    gold = [(f"de-{i}", f"en-{rng.randint(0, 9)}") for i in range(rng.randint(1, 8))]
    pred = [
        (f"de-{rng.randint(0, 9)}", f"en-{rng.randint(0, 9)}") for _ in range(rng.randint(1, 8))
    ]
    pred += rng.sample(gold, k=rng.randint(0, len(gold)))
    (d / "labels.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in gold), encoding="utf-8")
    (d / "preds.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in pred), encoding="utf-8")


def _ranking_case(rng: random.Random, d: Path, multi: bool) -> None:
    gold, pred = {}, {}
    for i in range(rng.randint(1, 6)):
        k = rng.randint(1, 25) if multi else 1
        gold[f"m{i}"] = [f"Q{rng.randint(0, 30)}" for _ in range(k)]
        gold[f"m{i}"] = list(dict.fromkeys(gold[f"m{i}"]))
        if rng.random() < 0.85:
            pred[f"m{i}"] = [f"Q{rng.randint(0, 30)}" for _ in range(rng.randint(0, 30))]
    (d / "labels.json").write_text(json.dumps(gold), encoding="utf-8")
    (d / "preds.json").write_text(json.dumps(pred), encoding="utf-8")


def _official(repo: Path, task: str, lang: str, d: Path, suffix: str) -> dict[str, float]:
    pred, gold = d / f"preds.{suffix}", d / f"labels.{suffix}"
    if task == "mewslix":
        mewslix = importlib.import_module("third_party.utils_mewslix")
        g, p = json.loads(gold.read_text()), json.loads(pred.read_text())
        return {"map@20": mewslix.evaluate(g, p, k=20) * 100}
    if task == "lareqa":
        lareqa = importlib.import_module("third_party.utils_lareqa")
        g, p = json.loads(gold.read_text()), json.loads(pred.read_text())
        aps = [lareqa.average_precision_at_k(g[q], p.get(q, []), 20) for q in g]
        return {"map@20": sum(aps) / len(aps) * 100}
    evaluate = importlib.import_module("evaluate")
    result: dict[str, float] = evaluate.evaluate_one_task(str(pred), str(gold), task, lang)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xtreme-repo", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(args.xtreme_repo.resolve()))
    rng = random.Random(args.seed)
    plan: list[tuple[str, str, Any, str]] = [
        ("xquad", "zh", _qa_case, "json"),
        ("tydiqa", "ar", _qa_case, "json"),
        *[("mlqa", lang, _qa_case, "json") for lang in ("en", "es", "de", "ar", "hi", "vi", "zh")],
        ("xnli", "en", _label_case, "tsv"),
        ("panx", "en", _tag_case, "tsv"),
        ("udpos", "en", _tag_case, "tsv"),
        ("bucc2018", "de", _bucc_case, "tsv"),
        ("mewslix", "en", lambda r, d: _ranking_case(r, d, False), "json"),
        ("lareqa", "en", lambda r, d: _ranking_case(r, d, True), "json"),
    ]
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            for task, lang, make, suffix in plan:
                d = Path(tmp) / f"{case}-{task}-{lang}"
                d.mkdir()
                make(rng, d)
                ours = score_files(task, lang, d / f"preds.{suffix}", d / f"labels.{suffix}")
                theirs = _official(args.xtreme_repo, task, lang, d, suffix)
                if set(ours) != set(theirs):
                    print(f"{task}/{lang} case {case}: metric keys {ours} vs {theirs}")
                    return 1
                diff = max(abs(ours[k] - theirs[k]) for k in ours)
                key = f"{task}/{lang}"
                worst[key] = max(worst.get(key, 0.0), diff)
    for key, diff in worst.items():
        print(f"{key:14} max |ours - official| = {diff:.3g}")
    bad = {k: v for k, v in worst.items() if v > 1e-9}
    print(f"{args.cases} cases per task: {'FAIL ' + str(bad) if bad else 'all within 1e-9'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

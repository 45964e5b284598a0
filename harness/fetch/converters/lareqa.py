"""XQuAD-R (LAReQA, Roy et al. 2020): google-research-datasets/lareqa ``xquad-r/<lang>.json``.

Release files: ``<lang>.json`` for each of the 11 XQuAD-R languages present in the release
folder. Each is SQuAD v1.1 JSON (``{"data": [{"title", "paragraphs": [{"context", "qas",
"sentences", "sentence_breaks"}]}], "version"}``) with one answer per question; 1,190
questions per language. The files are checked and written byte for byte to
``xquad-r/<lang>.json``, the layout XTREME's download also leaves (it unpacks the repository
archive and keeps its ``xquad-r/`` folder).

A question whose answer starts outside every ``sentence_breaks`` span has no answer sentence;
XTREME skips such questions when it builds the retrieval pool, and the harness reader falls
back to the whole paragraph. The published files have none (checked on commit 9bc8c7f).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fetch.converters._text import json_value

LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def _check(data: Any, path: Path) -> int:
    """The number of questions of an XQuAD-R file, after checking its structure."""
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list) or not articles:
        raise HarnessError(f"'{path}' is not SQuAD JSON: expected {{\"data\": [articles]}}.")
    questions = 0
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise HarnessError(f"'{path}' data[{a}] has no 'paragraphs' list.")
        for p, paragraph in enumerate(paragraphs):
            where = f"'{path}' data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict):
                raise HarnessError(f"{where} is not a JSON object.")
            missing = [
                k for k in ("context", "qas", "sentences", "sentence_breaks") if k not in paragraph
            ]
            if missing:
                raise HarnessError(
                    f"{where} has no {missing}: an XQuAD-R paragraph has context, qas, "
                    "sentences and sentence_breaks."
                )
            breaks, sentences = paragraph["sentence_breaks"], paragraph["sentences"]
            if not isinstance(breaks, list) or not isinstance(sentences, list):
                raise HarnessError(f"{where}: sentences and sentence_breaks must be lists.")
            if len(breaks) != len(sentences):
                raise HarnessError(
                    f"{where} has {len(sentences)} sentences but {len(breaks)} sentence_breaks."
                )
            for b in breaks:
                if not (isinstance(b, list) and len(b) == 2 and all(isinstance(x, int) for x in b)):
                    raise HarnessError(f"{where}: sentence break {b!r} is not [start, end].")
            for q, qa in enumerate(paragraph["qas"]):
                answers = qa.get("answers") if isinstance(qa, dict) else None
                if not isinstance(qa, dict) or "id" not in qa or "question" not in qa:
                    raise HarnessError(f"{where}.qas[{q}] needs 'id', 'question' and 'answers'.")
                if not isinstance(answers, list) or not answers:
                    raise HarnessError(f"{where}.qas[{q}] ({qa['id']}) has no answers.")
                for answer in answers:
                    start = answer.get("answer_start") if isinstance(answer, dict) else None
                    if not isinstance(start, int) or "text" not in answer:
                        raise HarnessError(
                            f"{where}.qas[{q}] ({qa['id']}): an answer needs 'text' and an "
                            "integer 'answer_start'."
                        )
                questions += 1
    return questions


def convert(release: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for lang in LANGUAGES:
        path = release / f"{lang}.json"
        if not path.is_file():
            continue
        raw = path.read_bytes()
        data = json_value(raw, f"'{path}'")
        target = f"xquad-r/{lang}.json"
        counts[target] = _check(data, path)
        (out / "xquad-r").mkdir(parents=True, exist_ok=True)
        (out / target).write_bytes(raw)
    if not counts:
        raise HarnessError(
            f"no XQuAD-R files in '{release}': expected <lang>.json for {list(LANGUAGES)}."
        )
    return counts

"""SQuAD v1.1 (Rajpurkar et al. 2016), the English training set of XQuAD, MLQA and LAReQA.

Release: ``train-v1.1.json`` and ``dev-v1.1.json`` as published in the SQuAD-explorer
repository. XTREME's download script only downloads them, so the conversion is a checked copy:
both files are parsed as SQuAD JSON and written unchanged to ``out/``.

The helpers here (:func:`parse_squad`, :func:`count_questions`, :func:`check_spans`) are shared
with the other SQuAD-format converters (MLQA, TyDiQA-GoldP).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fetch.converters._text import json_value

FILES = ("train-v1.1.json", "dev-v1.1.json")


def release_file(release: Path, name: str) -> Path:
    """``release / name``, or a :class:`HarnessError` saying the file is missing."""
    path = release / name
    if not path.is_file():
        raise HarnessError(
            f"release file '{name}' is missing from '{release}': download it from the URL in "
            "the task spec's fetch[].files"
        )
    return path


def parse_squad(data: bytes, where: str) -> dict[str, Any]:
    """The SQuAD JSON document in ``data``, checked for the v1.1 structure (``where`` names the
    file in error messages): ``{"data": [{"paragraphs": [{"context", "qas": [{"id",
    "question", "answers": [{"text", "answer_start"}]}]}]}]}``."""
    doc = json_value(data, where)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise HarnessError(f"{where} is not SQuAD JSON: expected an object with a 'data' list")
    for a, article in enumerate(doc["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise HarnessError(f"{where} data[{a}] has no 'paragraphs' list")
        for p, paragraph in enumerate(paragraphs):
            at = f"{where} data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict):
                raise HarnessError(f"{at} is not an object")
            if not isinstance(paragraph.get("context"), str):
                raise HarnessError(f"{at} has no 'context' string")
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise HarnessError(f"{at} has no 'qas' list")
            for q, qa in enumerate(qas):
                if not isinstance(qa, dict) or not all(k in qa for k in ("id", "question")):
                    raise HarnessError(f"{at}.qas[{q}] needs 'id' and 'question'")
                answers = qa.get("answers")
                if not isinstance(answers, list) or not all(
                    isinstance(x, dict)
                    and isinstance(x.get("text"), str)
                    and isinstance(x.get("answer_start"), int)
                    for x in answers
                ):
                    raise HarnessError(
                        f"{at}.qas[{q}] (id {qa['id']!r}) needs 'answers': a list of "
                        "{'text': string, 'answer_start': integer}"
                    )
    return doc


def questions(doc: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(paragraph, qa) for every question of a document checked by :func:`parse_squad`."""
    return [
        (paragraph, qa)
        for article in doc["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def count_questions(doc: dict[str, Any]) -> int:
    return len(questions(doc))


def check_spans(doc: dict[str, Any], where: str) -> None:
    """Every answer is the context's text at its ``answer_start`` (XTREME asserts this for the
    MLQA and TyDiQA-GoldP files)."""
    for paragraph, qa in questions(doc):
        context = paragraph["context"]
        for answer in qa["answers"]:
            start, text = answer["answer_start"], answer["text"]
            if context[start : start + len(text)] != text:
                raise HarnessError(
                    f"{where}: question {qa['id']!r} has answer {text!r} at {start}, but the "
                    f"context there reads {context[start : start + len(text)]!r}"
                )


def write_bytes(out: Path, relative: str, data: bytes) -> None:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def convert(release: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in FILES:
        data = release_file(release, name).read_bytes()
        doc = parse_squad(data, f"release file '{name}'")
        write_bytes(out, name, data)
        counts[name] = count_questions(doc)
    return counts

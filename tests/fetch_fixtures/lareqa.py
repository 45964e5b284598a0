"""google-research-datasets/lareqa ``xquad-r/<lang>.json`` in miniature for three languages:
SQuAD v1.1 JSON on one line, keys sorted, paragraphs with ``sentences`` and
``sentence_breaks`` (``[start, end]`` into ``context``), one answer per question.
``every_language=True`` writes all eleven XQuAD-R languages (for the paper-smoke run; the
others reuse the English articles: the format is what is tested)."""

from __future__ import annotations

import json
from pathlib import Path

#: language -> [(title, [(sentences, [(question id, question, answer text)])])]
Paragraph = tuple[list[str], list[tuple[str, str, str]]]
DATA: dict[str, list[tuple[str, list[Paragraph]]]] = {
    "en": [
        ("Rhine", [
            (["The Rhine rises in the Swiss Alps.", "It flows into the North Sea."],
             [("q1", "Where does the Rhine rise?", "the Swiss Alps"),
              ("q2", "Where does the Rhine end?", "the North Sea")]),
            (["Basel lies on the Rhine."], [("q3", "Which city lies on the Rhine?", "Basel")]),
        ]),
    ],
    "de": [
        ("Rhein", [
            (["Der Rhein entspringt in den Schweizer Alpen.", "Er mündet in die Nordsee."],
             [("q1", "Wo entspringt der Rhein?", "den Schweizer Alpen"),
              ("q2", "Wo mündet der Rhein?", "die Nordsee")]),
            (["Basel liegt am Rhein."], [("q3", "Welche Stadt liegt am Rhein?", "Basel")]),
        ]),
    ],
    "zh": [
        ("莱茵河", [
            (["莱茵河发源于瑞士阿尔卑斯山。", "它流入北海。"],
             [("q1", "莱茵河发源于哪里?", "瑞士阿尔卑斯山"), ("q2", "莱茵河流入哪里?", "北海")]),
        ]),
    ],
}  # fmt: skip


#: the languages of the published XQuAD-R
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def document(lang: str) -> dict[str, object]:
    articles = []
    for title, paragraphs in DATA.get(lang, DATA["en"]):
        out = []
        for sentences, questions in paragraphs:
            sep = "" if lang == "zh" else " "
            context = sep.join(sentences)
            breaks, at = [], 0
            for sentence in sentences:
                start = context.index(sentence, at)
                breaks.append([start, start + len(sentence)])
                at = start + len(sentence)
            qas = [
                {"answers": [{"answer_start": context.index(text), "text": text}],
                 "id": qid, "question": question}
                for qid, question, text in questions
            ]  # fmt: skip
            out.append(
                {"context": context, "qas": qas, "sentence_breaks": breaks, "sentences": sentences}
            )
        articles.append({"paragraphs": out, "title": title})
    return {"data": articles, "version": "1.1"}


def build(release: Path, every_language: bool = False) -> None:
    release.mkdir(parents=True, exist_ok=True)
    for lang in LANGUAGES if every_language else DATA:
        text = json.dumps(document(lang), sort_keys=True)
        (release / f"{lang}.json").write_bytes(text.encode("utf-8"))


COUNTS = {
    f"xquad-r/{lang}.json": sum(len(qs) for _, paras in articles for _, qs in paras)
    for lang, articles in DATA.items()
}

"""MLQA v1 in miniature: ``MLQA_V1.zip`` with the real member layout
(``MLQA_V1/{dev,test}/{split}-context-{c}-question-{q}.json``, SQuAD JSON with ``"version":
1.0``, titles, 40-hex question ids). English, German and Chinese hold a few questions each; the
other languages one each; one cross-language file (not converted) is included as in the real
archive, which holds all 49 language pairs."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")
DATE = (2019, 10, 1, 0, 0, 0)


def _qid(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _doc(title: str, context: str, qas: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "title": title,
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "question": question,
                                "answers": [
                                    {"text": a, "answer_start": context.index(a)} for a in answers
                                ],
                                "id": _qid(title + question),
                            }
                            for question, answers in qas
                        ],
                    }
                ],
            }
        ],
        "version": 1.0,
    }


FILES: dict[str, dict[str, Any]] = {
    "dev/dev-context-en-question-en.json": _doc(
        "Mount St. Helens",
        "On March 27, one or two explosions threw ash 3050 to 3350 meters above the crater.",
        [("How high was the ash thrown?", ["3050 to 3350 meters"])],
    ),
    "dev/dev-context-de-question-de.json": _doc(
        "Mount St. Helens",
        "Am 27. M\u00e4rz schleuderten Dampfexplosionen Asche 3050 bis 3350 Meter hoch.",
        [
            ("Wie hoch wurde die Asche geschleudert?", ["3050 bis 3350 Meter"]),
            ("Wann gab es die Explosionen?", ["27. M\u00e4rz"]),
        ],
    ),
    "dev/dev-context-zh-question-zh.json": _doc(
        "\u5317\u4eac",
        "\u5317\u4eac\u662f\u4e2d\u534e\u4eba\u6c11\u5171\u548c\u56fd\u7684\u9996\u90fd\u3002",
        [("\u4e2d\u56fd\u7684\u9996\u90fd\u662f\u54ea\u91cc\uff1f", ["\u5317\u4eac"])],
    ),
    "test/test-context-en-question-en.json": _doc(
        "Lake Baikal",
        "Lake Baikal is the deepest lake in the world, at 1642 meters.",
        [
            ("How deep is Lake Baikal?", ["1642 meters", "1642"]),
            ("What is the deepest lake in the world?", ["Lake Baikal"]),
            ("Which superlative describes Lake Baikal?", ["the deepest lake in the world"]),
        ],
    ),
    "test/test-context-de-question-de.json": _doc(
        "Baikalsee",
        "Der Baikalsee ist mit 1642 Metern der tiefste See der Erde.",
        [("Wie tief ist der Baikalsee?", ["1642 Metern"])],
    ),
    "test/test-context-zh-question-zh.json": _doc(
        "\u8d1d\u52a0\u5c14\u6e56",
        "\u8d1d\u52a0\u5c14\u6e56\u6df1\u8fbe1642\u7c73\u3002",
        [("\u8d1d\u52a0\u5c14\u6e56\u6709\u591a\u6df1\uff1f", ["1642\u7c73"])],
    ),
}
for _split in ("dev", "test"):
    for _lang in LANGUAGES:
        FILES.setdefault(
            f"{_split}/{_split}-context-{_lang}-question-{_lang}.json",
            _doc(f"{_lang} {_split}", f"Context {_lang} 42.", [(f"Question {_lang}?", ["42"])]),
        )

CROSS = {"dev/dev-context-de-question-en.json": _doc("X", "Es ist 42.", [("What?", ["42"])])}

COUNTS: dict[str, int] = {
    f"MLQA_V1/{name}": sum(len(p["qas"]) for a in doc["data"] for p in a["paragraphs"])
    for name, doc in FILES.items()
}


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    return info


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(release / "MLQA_V1.zip", "w") as archive:
        for folder in ("MLQA_V1/", "MLQA_V1/dev/", "MLQA_V1/test/"):
            archive.writestr(_entry(folder), b"")
        for name, doc in sorted({**FILES, **CROSS}.items()):
            archive.writestr(_entry(f"MLQA_V1/{name}"), json.dumps(doc).encode("utf-8"))

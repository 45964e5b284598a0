"""TyDiQA-GoldP v1.1 in miniature: ``tydiqa-goldp-v1.1-train.json`` (all languages in one SQuAD
file, ``"version": "TyDiQA-GoldP-1.1-for-SQuAD-1.1"``, one paragraph per article, ids
``{language name}-{signed hash}-{n}``) and ``tydiqa-goldp-v1.1-dev.tgz`` holding
``tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{language name}.json`` for the nine languages.
English, Finnish and Arabic hold a few questions; the other languages one each."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

VERSION = "TyDiQA-GoldP-1.1-for-SQuAD-1.1"
NAMES = (
    "arabic", "bengali", "english", "finnish", "indonesian", "korean", "russian", "swahili",
    "telugu",
)  # fmt: skip
MTIME = 1583020800  # 2020-03-01


def _article(qa_id: str, title: str, context: str, question: str, answer: str) -> dict[str, Any]:
    return {
        "title": title,
        "paragraphs": [
            {
                "context": context,
                "qas": [
                    {
                        "answers": [{"answer_start": context.index(answer), "text": answer}],
                        "id": qa_id,
                        "question": question,
                    }
                ],
            }
        ],
    }


TRAIN_ARTICLES = [
    _article(
        "english--3215621880858840488-2",
        "Wound healing",
        "Wound care encourages and speeds wound healing via cleaning and protection.",
        "What is a way to increase your wound healing speed?",
        "Wound care",
    ),
    _article(
        "finnish-7040155203236226025-0",
        "Helsinki",
        "Helsinki on Suomen p\u00e4\u00e4kaupunki vuodesta 1812.",
        "Mik\u00e4 on Suomen p\u00e4\u00e4kaupunki?",
        "Helsinki",
    ),
    _article(
        "english-5398342591848519146-0",
        "Nile",
        "The Nile is a major north-flowing river in northeastern Africa, about 6,650 km long.",
        "How long is the Nile?",
        "about 6,650 km",
    ),
    _article(
        "arabic-2387335860751143628-1",
        "\u0643\u0623\u0633 \u0627\u0644\u0639\u0627\u0644\u0645",
        "\u0641\u0627\u0632\u062a \u0627\u0644\u0623\u0648\u0631\u0648\u063a\u0648\u0627\u064a "
        "\u0628\u0637\u0648\u0644\u062a\u064a\u0646.",
        "\u0643\u0645 \u0645\u0631\u0629 \u0641\u0627\u0632\u062a "
        "\u0627\u0644\u0623\u0648\u0631\u0648\u063a\u0648\u0627\u064a\u061f",
        "\u0628\u0637\u0648\u0644\u062a\u064a\u0646",
    ),
    _article(
        "english--8045513541276426364-1",
        "Mercury (planet)",
        "Mercury is the smallest planet in the Solar System and the closest to the Sun.",
        "Which planet is closest to the Sun?",
        "Mercury",
    ),
]
TRAIN: dict[str, Any] = {"data": TRAIN_ARTICLES, "version": VERSION}

DEV: dict[str, list[dict[str, Any]]] = {
    "english": [
        _article(
            "english-1024957286473612934-0",
            "Mount Everest",
            "Mount Everest is Earth's highest mountain, at 8,849 metres above sea level.",
            "How high is Mount Everest?",
            "8,849 metres",
        ),
        _article(
            "english--276543210987654321-3",
            "Amazon River",
            "The Amazon River in South America is the largest river by discharge volume.",
            "Where is the Amazon River?",
            "South America",
        ),
    ],
    "finnish": [
        _article(
            "finnish--6273374982469868808-0",
            "Sibelius",
            "Jean Sibelius syntyi H\u00e4meenlinnassa vuonna 1865.",
            "Miss\u00e4 Jean Sibelius syntyi?",
            "H\u00e4meenlinnassa",
        ),
        _article(
            "finnish-1234567890123456789-1",
            "Sibelius",
            "Jean Sibelius syntyi H\u00e4meenlinnassa vuonna 1865.",
            "Milloin Jean Sibelius syntyi?",
            "1865",
        ),
    ],
    "arabic": [
        _article(
            "arabic-90210-0",
            "\u0627\u0644\u0642\u0627\u0647\u0631\u0629",
            "\u0627\u0644\u0642\u0627\u0647\u0631\u0629 \u0639\u0627\u0635\u0645\u0629 "
            "\u0645\u0635\u0631.",
            "\u0645\u0627 \u0639\u0627\u0635\u0645\u0629 \u0645\u0635\u0631\u061f",
            "\u0627\u0644\u0642\u0627\u0647\u0631\u0629",
        )
    ],
}
for _name in NAMES:
    DEV.setdefault(
        _name, [_article(f"{_name}-1-0", _name, f"{_name} context 7.", f"{_name}?", "7")]
    )

CODES = {
    "arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id",
    "korean": "ko", "russian": "ru", "swahili": "sw", "telugu": "te",
}  # fmt: skip

COUNTS: dict[str, int] = {
    "tydiqa-goldp-v1.1-train/tydiqa.en.train.json": 3,
    **{f"tydiqa-goldp-v1.1-dev/tydiqa.goldp.{CODES[n]}.dev.json": len(DEV[n]) for n in NAMES},
}


def tar_gz(path: Path, members: dict[str, bytes], folders: tuple[str, ...] = ()) -> None:
    """A .tar.gz with fixed mtimes and owners (deterministic bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, MTIME
            archive.addfile(info, io.BytesIO(data))
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=MTIME) as gz:
        gz.write(buffer.getvalue())


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    (release / "tydiqa-goldp-v1.1-train.json").write_text(json.dumps(TRAIN), encoding="ascii")
    members = {
        f"tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{name}.json": json.dumps(
            {"data": DEV[name], "version": VERSION}
        ).encode("ascii")
        for name in NAMES
    }
    tar_gz(release / "tydiqa-goldp-v1.1-dev.tgz", members, ("tydiqa-goldp-v1.1-dev",))

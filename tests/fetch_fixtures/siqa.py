"""AI2's ``socialiqa-train-dev.zip`` in miniature: ``socialiqa-train-dev/{train,dev}.jsonl``
(``context``, ``question``, ``answerA``-``answerC``) and ``{train,dev}-labels.lst`` (1-3)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fetch_fixtures.copa import write_zip

TRAIN = [
    ("Tracy didn't go home that evening and resisted Riley's attacks.",
     "What does Tracy need to do before this?",
     ("make a new plan", "Go home and see Riley", "Find somewhere to go"), "3"),
    ("Sydney walked past a homeless woman asking for change but did not have any money.",
     "How would you describe Sydney?",
     ("sympathetic", "like a person who was unable to help", "incredulous"), "1"),
    ("Jordan wanted to be a doctor so he studied every night.",
     "Why did Jordan do this?",
     ("to pass his exams", "to sleep more", "to become a chef"), "1"),
]  # fmt: skip
DEV = [
    ("Kai gave Ash a ride to the airport before dawn.",
     "How would Ash feel as a result?",
     ("annoyed at Kai", "grateful to Kai", "lost at sea"), "2"),
    ("Remy left the stove on and the soup burned.",
     "What will Remy want to do next?",
     ("eat the soup", "go for a swim", "clean the pot"), "3"),
]  # fmt: skip


def _files(rows: list[tuple[str, str, tuple[str, str, str], str]]) -> tuple[bytes, bytes]:
    lines = [
        json.dumps({"context": c, "question": q, "answerA": a, "answerB": b, "answerC": d}).encode()
        + b"\n"
        for c, q, (a, b, d), _ in rows
    ]
    labels = [label.encode() + b"\n" for *_, label in rows]
    return b"".join(lines), b"".join(labels)


def build(release: Path) -> None:
    train, train_labels = _files(TRAIN)
    dev, dev_labels = _files(DEV)
    release.mkdir(parents=True, exist_ok=True)
    write_zip(
        release / "socialiqa-train-dev.zip",
        {
            "socialiqa-train-dev/": None,
            "socialiqa-train-dev/train.jsonl": train,
            "socialiqa-train-dev/train-labels.lst": train_labels,
            "socialiqa-train-dev/dev.jsonl": dev,
            "socialiqa-train-dev/dev-labels.lst": dev_labels,
        },
    )


COUNTS = {"train.jsonl": len(TRAIN), "dev.jsonl": len(DEV)}

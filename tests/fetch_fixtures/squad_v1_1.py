"""SQuAD v1.1 release files in miniature: ``train-v1.1.json`` (one answer per question, as in
the real training set) and ``dev-v1.1.json`` (several answers per question), with the
``version`` field, titles and paragraphs of the real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRAIN: dict[str, Any] = {
    "data": [
        {
            "title": "University_of_Notre_Dame",
            "paragraphs": [
                {
                    "context": "The college was founded in 1842 by a priest. Its main building "
                    "has a golden dome.",
                    "qas": [
                        {
                            "answers": [{"answer_start": 27, "text": "1842"}],
                            "question": "When was the college founded?",
                            "id": "5733be284776f41900661182",
                        },
                        {
                            "answers": [{"answer_start": 69, "text": "golden dome"}],
                            "question": "What does the main building have?",
                            "id": "5733be284776f4190066117f",
                        },
                    ],
                }
            ],
        },
        {
            "title": "Beyonc\u00e9",
            "paragraphs": [
                {
                    "context": "Beyonc\u00e9 rose to fame in the late 1990s as lead singer of "
                    "Destiny's Child.",
                    "qas": [
                        {
                            "answers": [{"answer_start": 57, "text": "Destiny's Child"}],
                            "question": "Which group did Beyonc\u00e9 lead?",
                            "id": "56be85543aeaaa14008c9063",
                        }
                    ],
                },
                {
                    "context": "Her debut album was Dangerously in Love.",
                    "qas": [
                        {
                            "answers": [{"answer_start": 20, "text": "Dangerously in Love"}],
                            "question": "What was her debut album?",
                            "id": "56be86cf3aeaaa14008c9076",
                        }
                    ],
                },
            ],
        },
    ],
    "version": "1.1",
}

DEV: dict[str, Any] = {
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was played on February 7, 2016, at Levi's "
                    "Stadium in Santa Clara, California.",
                    "qas": [
                        {
                            "answers": [
                                {"answer_start": 28, "text": "February 7, 2016"},
                                {"answer_start": 28, "text": "February 7"},
                                {"answer_start": 28, "text": "February 7, 2016"},
                            ],
                            "question": "When was Super Bowl 50 played?",
                            "id": "56be4db0acb8001400a502ec",
                        },
                        {
                            "answers": [
                                {"answer_start": 49, "text": "Levi's Stadium"},
                                {"answer_start": 49, "text": "Levi's Stadium in Santa Clara"},
                                {"answer_start": 67, "text": "Santa Clara, California"},
                            ],
                            "question": "Where was Super Bowl 50 played?",
                            "id": "56be4db0acb8001400a502ed",
                        },
                    ],
                }
            ],
        }
    ],
    "version": "1.1",
}

COUNTS: dict[str, int] = {"train-v1.1.json": 4, "dev-v1.1.json": 2}


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    for name, doc in (("train-v1.1.json", TRAIN), ("dev-v1.1.json", DEV)):
        # the real files are one line of ASCII JSON
        (release / name).write_text(json.dumps(doc), encoding="ascii")

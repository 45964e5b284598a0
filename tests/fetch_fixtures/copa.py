"""SuperGLUE ``COPA.zip`` in miniature: ``COPA/{train,val,test}.jsonl`` (test unlabelled)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

#: fixed timestamp of every archive member (deterministic bytes)
DATE = (2020, 1, 1, 0, 0, 0)


def write_zip(path: Path, members: dict[str, bytes | None]) -> None:
    """A zip at ``path`` with ``members`` in order (``None``: a directory entry)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=DATE)
            if data is None:
                info.external_attr = 0o40755 << 16
                archive.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)


TRAIN = [
    ("The man broke his toe.", "He dropped a hammer on his foot.", "He got a hole in his sock.",
     "cause", 0),
    ("I tipped the bottle.", "The liquid in the bottle froze.", "The liquid poured out.",
     "effect", 1),
    ("The sun was setting.", "The street lights came on.", "The birds woke up.", "effect", 0),
]  # fmt: skip
VAL = [
    ("The woman lost her keys.", "She searched her bag.", "She painted the door.", "effect", 0),
    ("The ice melted.", "It was put in the freezer.", "It was left in the sun.", "cause", 1),
]  # fmt: skip
TEST = [("The child cried.", "He scraped his knee.", "He ate an apple.", "cause")]


def _lines(rows: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def build(release: Path) -> None:
    def labelled(rows: list[tuple[str, str, str, str, int]]) -> list[dict[str, object]]:
        return [
            {"premise": p, "choice1": c1, "choice2": c2, "question": q, "label": y, "idx": i}
            for i, (p, c1, c2, q, y) in enumerate(rows)
        ]

    test = [
        {"premise": p, "choice1": c1, "choice2": c2, "question": q, "idx": i}
        for i, (p, c1, c2, q) in enumerate(TEST)
    ]
    release.mkdir(parents=True, exist_ok=True)
    write_zip(
        release / "COPA.zip",
        {
            "COPA/": None,
            "COPA/train.jsonl": _lines(labelled(TRAIN)),
            "COPA/val.jsonl": _lines(labelled(VAL)),
            "COPA/test.jsonl": _lines(test),
        },
    )


COUNTS = {"train.jsonl": len(TRAIN), "val.jsonl": len(VAL)}

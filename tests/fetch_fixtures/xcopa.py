"""cambridgeltl/xcopa ``data/<lang>/{val,test}.<lang>.jsonl`` in miniature for three languages
(UTF-8, CRLF line ends and the key order of the published files); ``every_language=True``
writes all eleven (for the paper-smoke run: the other languages reuse the Estonian rows, since
the format is what is tested, and every file gets at least two rows)."""

from __future__ import annotations

import json
from pathlib import Path

#: language -> split -> (premise, choice1, choice2, question, label)
DATA: dict[str, dict[str, list[tuple[str, str, str, str, int]]]] = {
    "et": {
        "val": [
            ("Poiss kukkus jalgrattalt.", "Ta kriimustas põlve.", "Ta sõi õuna.", "effect", 0),
            ("Lumi sulas.", "Ilm läks külmaks.", "Päike paistis.", "cause", 1),
        ],
        "test": [
            ("Naine avas akna.", "Tuba oli lämbe.", "Tuba oli pime.", "cause", 0),
            ("Koer haukus.", "Postiljon tuli.", "Kass magas.", "cause", 0),
            ("Ma jätsin vihmavarju koju.", "Ma sain märjaks.", "Ma jäin kuivaks.", "effect", 0),
        ],
    },
    "ht": {
        "val": [("Ti fi a te grangou.", "Li te manje.", "Li te kouri.", "effect", 0)],
        "test": [
            ("Machin nan te kraze.", "Li te tonbe.", "Li te lave.", "cause", 0),
            ("Solèy la leve.", "Li te fè nwa.", "Li te fè klè.", "effect", 1),
        ],
    },
    "zh": {
        "val": [("那人打开水龙头。", "厕所里满是水。", "水从水龙头流出。", "effect", 1)],
        "test": [("我的眼睛又红又肿。", "我哭了。", "我笑了。", "cause", 0)],
    },
}


#: the languages of the published release
LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")


def all_languages() -> dict[str, dict[str, list[tuple[str, str, str, str, int]]]]:
    """DATA for all of LANGUAGES, each split padded with Estonian rows to at least two."""
    out = {}
    for lang in LANGUAGES:
        own = DATA.get(lang, {})
        out[lang] = {
            split: (own.get(split, []) + DATA["et"][split])[: max(2, len(own.get(split, [])))]
            for split in ("val", "test")
        }
    return out


def build(release: Path, every_language: bool = False) -> None:
    release.mkdir(parents=True, exist_ok=True)
    data = all_languages() if every_language else DATA
    for lang, splits in data.items():
        for split, rows in splits.items():
            lines = [
                json.dumps(
                    {"premise": p, "choice1": c1, "choice2": c2, "question": q, "label": y,
                     "idx": i, "changed": False},
                    ensure_ascii=False,
                )
                for i, (p, c1, c2, q, y) in enumerate(rows)
            ]  # fmt: skip
            (release / f"{split}.{lang}.jsonl").write_bytes(
                "".join(line + "\r\n" for line in lines).encode("utf-8")
            )


COUNTS = {
    f"{lang}/{split}.{lang}.jsonl": len(rows)
    for lang, splits in DATA.items()
    for split, rows in splits.items()
}

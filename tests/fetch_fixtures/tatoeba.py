# ruff: noqa: RUF001  (sentences in their own scripts)
"""Small Tatoeba files as facebookresearch/LASER publishes them (data/tatoeba/v1):
``tatoeba.<lang3>-eng.<lang3>`` and ``tatoeba.<lang3>-eng.eng``, one sentence per line, utf-8,
Unix line ends, line i of one the translation of line i of the other (format checked against
LASER commit 74bc6ae7ffb7cba670fe0f428d0ede9f666fb821). German, Chinese and Persian (``pes``)
hold a few pairs; every other language of XTREME / XTREME-R two."""

from __future__ import annotations

from pathlib import Path

from harness.data.readers import TATOEBA_CODES

DETAILED: dict[str, tuple[list[str], list[str]]] = {
    "deu": (
        ["Tom schläft.", "Ich habe Hunger.", "Wo ist der Bahnhof?"],
        ["Tom is sleeping.", "I'm hungry.", "Where is the station?"],
    ),
    "cmn": (["我很好。", "你叫什么名字？"], ["I'm fine.", "What's your name?"]),
    "pes": (["سلام.", "متشکرم.", "خداحافظ.", "بله."], ["Hello.", "Thank you.", "Goodbye.", "Yes."]),
}


def _pairs(code: str) -> tuple[list[str], list[str]]:
    return DETAILED.get(code, ([f"{code} one.", f"{code} two."], ["One.", "Two."]))


COUNTS: dict[str, int] = {
    name: len(lines)
    for code in sorted(TATOEBA_CODES.values())
    for name, lines in zip(
        (f"tatoeba.{code}-eng.{code}", f"tatoeba.{code}-eng.eng"), _pairs(code), strict=True
    )
}


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    for code in sorted(TATOEBA_CODES.values()):
        source, english = _pairs(code)
        stem = f"tatoeba.{code}-eng"
        (release / f"{stem}.{code}").write_bytes("".join(f"{s}\n" for s in source).encode())
        (release / f"{stem}.eng").write_bytes("".join(f"{e}\n" for e in english).encode())

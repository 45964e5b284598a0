"""Small BUCC 2018 archives as the organisers distribute them:
``bucc2018-<lang>-en.{sample,training}-gold.tar.bz2`` holding ``bucc2018/<lang>-en/`` with
``<lang>-en.<stem>.<lang>`` and ``.en`` (``id<TAB>sentence``, ids a language code, a dash and
nine digits, utf-8 with Unix line ends) and ``.gold`` (``<lang>-id<TAB>en-id``).
German and Chinese hold a few sentences and pairs (sentences without a pair, a pair whose
sentences are not on the same line), French and Russian one pair per archive."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

MTIME = 1_513_900_000

DETAILED: dict[tuple[str, str], dict[str, list[str]]] = {
    ("de", "sample"): {
        "de": ["de-000000001\tDas Wetter ist schön.", "de-000000002\tIch lese ein Buch.",
               "de-000000003\tDer Zug ist spät."],
        "en": ["en-000000001\tI am reading a book.", "en-000000002\tThe cat sleeps."],
        "gold": ["de-000000002\ten-000000001"],
    },
    ("de", "training"): {
        "de": ["de-000000001\tGuten Morgen.", "de-000000002\tWo ist der Bahnhof?",
               "de-000000003\tEr kommt morgen."],
        "en": ["en-000000001\tHe comes tomorrow.", "en-000000002\tGood morning.",
               "en-000000003\tPrices rose."],
        "gold": ["de-000000001\ten-000000002", "de-000000003\ten-000000001"],
    },
    ("zh", "sample"): {
        "zh": ["zh-000000001\t我喜欢茶。", "zh-000000002\t今天下雨。"],
        "en": ["en-000000001\tIt rains today.", "en-000000002\tI like coffee."],
        "gold": ["zh-000000002\ten-000000001"],
    },
    ("zh", "training"): {
        "zh": ["zh-000000001\t他是老师。"],
        "en": ["en-000000001\tHe is a teacher.", "en-000000002\tShe is a doctor."],
        "gold": ["zh-000000001\ten-000000001"],
    },
}  # fmt: skip

LANGUAGES = ("de", "fr", "ru", "zh")
STEMS = ("sample", "training")


def _files(lang: str, stem: str) -> dict[str, list[str]]:
    if (lang, stem) in DETAILED:
        return DETAILED[(lang, stem)]
    return {
        lang: [f"{lang}-000000001\t{lang} {stem} sentence"],
        "en": [f"en-000000001\tEnglish {stem} sentence"],
        "gold": [f"{lang}-000000001\ten-000000001"],
    }


COUNTS: dict[str, int] = {
    f"{lang}-en.{stem}.{suffix}": len(_files(lang, stem)[suffix])
    for lang in LANGUAGES
    for stem in STEMS
    for suffix in (lang, "en", "gold")
}


def _info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.uname = info.gname = "bucc"
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = 0 if directory else size
    return info


def write_tbz2(path: Path, lang: str, stem: str, files: dict[str, list[str]]) -> None:
    with tarfile.open(path, "w:bz2", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(_info("bucc2018", directory=True))
        tar.addfile(_info(f"bucc2018/{lang}-en", directory=True))
        for suffix, lines in files.items():
            data = "".join(f"{line}\n" for line in lines).encode("utf-8")
            name = f"bucc2018/{lang}-en/{lang}-en.{stem}.{suffix}"
            tar.addfile(_info(name, len(data)), io.BytesIO(data))


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    for lang in LANGUAGES:
        for stem in STEMS:
            path = release / f"bucc2018-{lang}-en.{stem}-gold.tar.bz2"
            write_tbz2(path, lang, stem, _files(lang, stem))

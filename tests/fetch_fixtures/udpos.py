# ruff: noqa: RUF001  (sentences in their own scripts)
"""Small ``ud-treebanks-v2.5.tgz`` and ``ud-treebanks-v2.7.tgz`` in the layout LINDAT
distributes (``ud-treebanks-v2.x/UD_<Language>-<Treebank>/<lang>_<tb>-ud-<split>.conllu`` plus
README, LICENSE and stats.xml), CoNLL-U as the UD repositories write it (checked against
UniversalDependencies/UD_Afrikaans-AfriBooms at tag r2.5).

Tricky cases: several English treebanks (ESL with its forms withheld, EWT, GUM, the test-only
PUD), a multi-word token range and an empty node, a German fused preposition (``zum``), a Persian
form with a zero-width non-joiner, a language XTREME does not take (Czech), and an English
treebank in the v2.7 archive (XTREME takes English from v2.5 only).

``every_language=True`` adds, for the paper-smoke run, a small treebank with train, dev and test
files for each of the other 33 XTREME(-R) languages (in the archive of its UD version), so that
every language of the udpos spec has every split.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

MTIME = 1_573_000_000  # fixed, for deterministic archives


def _tok(i: str, form: str, lemma: str, upos: str, head: str = "0", rel: str = "root") -> str:
    return "\t".join([i, form, lemma, upos, "_", "_", head, rel, "_", "_"])


def _mwt(span: str, form: str) -> str:
    return "\t".join([span, form, "_", "_", "_", "_", "_", "_", "_", "_"])


def _sent(sent_id: str, text: str, *tokens: str) -> str:
    return f"# sent_id = {sent_id}\n# text = {text}\n" + "".join(f"{t}\n" for t in tokens) + "\n"


EWT_TRAIN = (
    "# newdoc id = weblog-fixture-0001\n"
    + _sent(
        "weblog-fixture-0001-0001",
        "I don't know.",
        _tok("1", "I", "I", "PRON", "3", "nsubj"),
        _mwt("2-3", "don't"),
        _tok("2", "do", "do", "AUX", "4", "aux"),
        _tok("3", "n't", "not", "PART", "4", "advmod"),
        _tok("4", "know", "know", "VERB"),
        _tok("5", ".", ".", "PUNCT", "4", "punct"),
    )
    + _sent(
        "weblog-fixture-0001-0002",
        "Sue likes coffee and Bill tea.",
        _tok("1", "Sue", "Sue", "PROPN", "2", "nsubj"),
        _tok("2", "likes", "like", "VERB"),
        _tok("3", "coffee", "coffee", "NOUN", "2", "obj"),
        _tok("4", "and", "and", "CCONJ", "5", "cc"),
        _tok("5", "Bill", "Bill", "PROPN", "2", "conj"),
        "\t".join(["5.1", "likes", "like", "VERB", "_", "_", "_", "_", "2:conj", "CopyOf=2"]),
        _tok("6", "tea", "tea", "NOUN", "5", "orphan"),
        _tok("7", ".", ".", "PUNCT", "2", "punct"),
    )
)
EWT_DEV = _sent("email-fixture-0001", "Thanks !", _tok("1", "Thanks", "thanks", "INTJ"),
                _tok("2", "!", "!", "PUNCT", "1", "punct"))  # fmt: skip
EWT_TEST = _sent("answers-fixture-0001", "Yes", _tok("1", "Yes", "yes", "INTJ"))
GUM_TRAIN = _sent("GUM_fixture-1", "Hello world", _tok("1", "Hello", "hello", "INTJ"),
                  _tok("2", "world", "world", "NOUN", "1", "vocative"))  # fmt: skip
GUM_DEV = _sent(
    "GUM_fixture-2",
    "The _ is here",
    _tok("1", "The", "the", "DET", "2", "det"),
    _tok("2", "_", "_", "SYM", "4", "nsubj"),
    _tok("3", "is", "be", "AUX", "4", "cop"),
    _tok("4", "here", "here", "ADV"),
)
GUM_TEST = _sent("GUM_fixture-3", "Bye", _tok("1", "Bye", "bye", "INTJ"))
PUD_TEST = _sent("n01001011", "Good night", _tok("1", "Good", "good", "ADJ", "2", "amod"),
                 _tok("2", "night", "night", "NOUN"))  # fmt: skip
ESL_TRAIN = _sent("esl-1", "_", _tok("1", "_", "_", "PRON", "2", "nsubj"),
                  _tok("2", "_", "_", "VERB")) + _sent(
    "esl-2", "_", _tok("1", "_", "_", "PRON", "2", "nsubj"), _tok("2", "_", "_", "VERB"),
    _tok("3", "_", "_", "PUNCT", "2", "punct"))  # fmt: skip
GSD_TRAIN = _sent(
    "train-s1",
    "Er geht zum Bahnhof.",
    _tok("1", "Er", "er", "PRON", "2", "nsubj"),
    _tok("2", "geht", "gehen", "VERB"),
    _mwt("3-4", "zum"),
    _tok("3", "zu", "zu", "ADP", "5", "case"),
    _tok("4", "dem", "der", "DET", "5", "det"),
    _tok("5", "Bahnhof", "Bahnhof", "NOUN", "2", "obl"),
    _tok("6", ".", ".", "PUNCT", "2", "punct"),
) + _sent("train-s2", "Ja", _tok("1", "Ja", "ja", "INTJ"))
GSD_DEV = _sent("dev-s1", "Nein", _tok("1", "Nein", "nein", "INTJ"))
GSD_TEST = _sent("test-s1", "Danke", _tok("1", "Danke", "danke", "INTJ"))
SERAJI_TRAIN = _sent("train-1", "سلام", _tok("1", "سلام", "سلام", "INTJ"))
SERAJI_DEV = _sent("dev-1", "بله", _tok("1", "بله", "بله", "INTJ"))
SERAJI_TEST = _sent("test-1", "می\u200cخواهم", _tok("1", "می\u200cخواهم", "خواست#خواه", "VERB"))
CS_TRAIN = _sent("cs-1", "Ahoj", _tok("1", "Ahoj", "ahoj", "INTJ"))
WTB_TRAIN = _sent("train-1", "Waaw", _tok("1", "Waaw", "waaw", "INTJ"))
WTB_DEV = _sent("dev-1", "Déedéet", _tok("1", "Déedéet", "déedéet", "INTJ"))
WTB_TEST = _sent("test-1", "Jërëjëf", _tok("1", "Jërëjëf", "jërëjëf", "INTJ"))
EWT27_TRAIN = _sent("v27-only", "Ignored", _tok("1", "Ignored", "ignore", "VERB"))

V25: dict[str, str] = {
    "UD_Czech-PDT/cs_pdt-ud-train.conllu": CS_TRAIN,
    "UD_English-ESL/en_esl-ud-train.conllu": ESL_TRAIN,
    "UD_English-EWT/en_ewt-ud-train.conllu": EWT_TRAIN,
    "UD_English-EWT/en_ewt-ud-dev.conllu": EWT_DEV,
    "UD_English-EWT/en_ewt-ud-test.conllu": EWT_TEST,
    "UD_English-GUM/en_gum-ud-train.conllu": GUM_TRAIN,
    "UD_English-GUM/en_gum-ud-dev.conllu": GUM_DEV,
    "UD_English-GUM/en_gum-ud-test.conllu": GUM_TEST,
    "UD_English-PUD/en_pud-ud-test.conllu": PUD_TEST,
    "UD_German-GSD/de_gsd-ud-train.conllu": GSD_TRAIN,
    "UD_German-GSD/de_gsd-ud-dev.conllu": GSD_DEV,
    "UD_German-GSD/de_gsd-ud-test.conllu": GSD_TEST,
    "UD_Persian-Seraji/fa_seraji-ud-train.conllu": SERAJI_TRAIN,
    "UD_Persian-Seraji/fa_seraji-ud-dev.conllu": SERAJI_DEV,
    "UD_Persian-Seraji/fa_seraji-ud-test.conllu": SERAJI_TEST,
}
V27: dict[str, str] = {
    "UD_English-EWT/en_ewt-ud-train.conllu": EWT27_TRAIN,
    "UD_Wolof-WTB/wo_wtb-ud-train.conllu": WTB_TRAIN,
    "UD_Wolof-WTB/wo_wtb-ud-dev.conllu": WTB_DEV,
    "UD_Wolof-WTB/wo_wtb-ud-test.conllu": WTB_TEST,
}

COUNTS: dict[str, int] = {
    "de/dev.conllu": 1, "de/test.conllu": 1, "de/train.conllu": 2,
    "en/dev.conllu": 2, "en/test.conllu": 3, "en/train.conllu": 3,
    "fa/dev.conllu": 1, "fa/test.conllu": 1, "fa/train.conllu": 1,
    "wo/dev.conllu": 1, "wo/test.conllu": 1, "wo/train.conllu": 1,
}  # fmt: skip


def _info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.uid = info.gid = 1000
    info.uname = info.gname = "ud"
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = size
        info.mode = 0o644
    return info


def write_tgz(path: Path, top: str, files: dict[str, str]) -> None:
    """A gzip-compressed tar of ``top/<path>`` members with fixed metadata (deterministic)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(top, directory=True))
        folders = sorted({name.split("/")[0] for name in files})
        for folder in folders:
            tar.addfile(_info(f"{top}/{folder}", directory=True))
            extra = {"LICENSE.txt": "CC BY-SA 4.0\n", "README.md": f"# {folder}\n",
                     "stats.xml": "<treebank>\n</treebank>\n"}  # fmt: skip
            own = {n.split("/", 1)[1]: t for n, t in files.items() if n.startswith(folder + "/")}
            for name, text in sorted({**extra, **own}.items()):
                data = text.encode("utf-8")
                tar.addfile(_info(f"{top}/{folder}/{name}", len(data)), io.BytesIO(data))
    with path.open("wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())


#: the languages XTREME takes from each archive (as harness.fetch.converters.udpos)
LANGUAGES = {
    "v2.5": ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi",
             "hu", "id", "it", "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl",
             "tr", "ur", "vi", "yo", "zh"),
    "v2.7": ("lt", "pl", "uk", "wo", "ro"),
}  # fmt: skip


def _stand_in(lang: str) -> dict[str, str]:
    """A treebank ``UD_Smoke-<lang>`` of two sentences per split (Latin-script stand-ins)."""
    files = {}
    for split in ("train", "dev", "test"):
        files[f"UD_Smoke-{lang.upper()}/{lang}_smoke-ud-{split}.conllu"] = _sent(
            f"{split}-1", "Anna sees the river .",
            _tok("1", "Anna", "Anna", "PROPN", "2", "nsubj"), _tok("2", "sees", "see", "VERB"),
            _tok("3", "the", "the", "DET", "4", "det"),
            _tok("4", "river", "river", "NOUN", "2", "obj"),
            _tok("5", ".", ".", "PUNCT", "2", "punct"),
        ) + _sent(f"{split}-2", "Yes", _tok("1", "Yes", "yes", "INTJ"))  # fmt: skip
    return files


def build(release: Path, every_language: bool = False) -> None:
    release.mkdir(parents=True, exist_ok=True)
    archives = {"v2.5": dict(V25), "v2.7": dict(V27)}
    if every_language:
        for version, files in archives.items():
            have = {name.split("/")[1].split("_")[0] for name in files}
            for lang in LANGUAGES[version]:
                if lang not in have:
                    files.update(_stand_in(lang))
    for version, files in archives.items():
        write_tgz(release / f"ud-treebanks-{version}.tgz", f"ud-treebanks-{version}", files)

"""TyDiQA-GoldP v1.1 (Clark et al. 2020), the gold-passage task.

Release: ``tydiqa-goldp-v1.1-train.json`` (all languages in one file) and
``tydiqa-goldp-v1.1-dev.tgz`` (the dev set already split by the publisher into
``tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{language name}.json``). A question's language is the
prefix of its id (``finnish-...``).

As XTREME does: the English questions of the training file become the training set, and each
per-language dev file becomes the dev (and, since TyDiQA's test set is hidden, the test) file of
its language, renamed to the ISO code (``tydiqa.goldp.fi.dev.json``). Unlike XTREME, question ids
are kept whole (XTREME keeps only the part after the last '-' in its training files, which is not
unique), the articles keep their titles, and the dev answers are not blanked.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import zlib
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fetch.converters.squad_v1_1 import (
    check_spans,
    count_questions,
    parse_squad,
    questions,
    release_file,
    write_bytes,
)

TRAIN = "tydiqa-goldp-v1.1-train.json"
DEV = "tydiqa-goldp-v1.1-dev.tgz"
TRAIN_OUT = "tydiqa-goldp-v1.1-train/tydiqa.en.train.json"

#: TyDiQA's language names (the id prefix) -> ISO 639-1 codes
LANGUAGES: dict[str, str] = {
    "arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id",
    "korean": "ko", "russian": "ru", "swahili": "sw", "telugu": "te",
}  # fmt: skip


def _language(qa_id: object, where: str) -> str:
    name = str(qa_id).split("-", 1)[0]
    if name not in LANGUAGES:
        raise HarnessError(
            f"{where}: question id {qa_id!r} does not start with a TyDiQA-GoldP language "
            f"({', '.join(LANGUAGES)})"
        )
    return name


def _english_only(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """``doc`` with only its English questions (empty paragraphs and articles dropped)."""
    articles = []
    for article in doc["data"]:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = [qa for qa in paragraph["qas"] if _language(qa["id"], where) == "english"]
            if qas:
                paragraphs.append({**paragraph, "qas": qas})
        if paragraphs:
            articles.append({**article, "paragraphs": paragraphs})
    return {**doc, "data": articles}


def _dev_member(archive: tarfile.TarFile, name: str) -> bytes:
    members = {m.name.removeprefix("./"): m for m in archive.getmembers()}
    member = members.get(name)
    handle = archive.extractfile(member) if member is not None and member.isfile() else None
    if handle is None:
        raise HarnessError(
            f"release file '{DEV}' has no file member '{name}': is it the official "
            "TyDiQA-GoldP v1.1 dev archive?"
        )
    with handle:
        return handle.read()


def convert(release: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    where = f"release file '{TRAIN}'"
    train = parse_squad(release_file(release, TRAIN).read_bytes(), where)
    check_spans(train, where)
    english = _english_only(train, where)
    write_bytes(out, TRAIN_OUT, json.dumps(english, ensure_ascii=False).encode("utf-8"))
    counts[TRAIN_OUT] = count_questions(english)

    path = release_file(release, DEV)
    try:
        with tarfile.open(path, "r:gz") as archive:
            for name, code in LANGUAGES.items():
                member = f"tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{name}.json"
                data = _dev_member(archive, member)
                where = f"'{DEV}' member '{member}'"
                doc = parse_squad(data, where)
                check_spans(doc, where)
                for _, qa in questions(doc):
                    if _language(qa["id"], where) != name:
                        raise HarnessError(
                            f"{where}: question id {qa['id']!r} is not a {name} question"
                        )
                relative = f"tydiqa-goldp-v1.1-dev/tydiqa.goldp.{code}.dev.json"
                write_bytes(out, relative, data)
                counts[relative] = count_questions(doc)
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise HarnessError(f"release file '{DEV}' is not a readable .tgz archive: {exc}") from exc
    return counts

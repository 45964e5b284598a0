"""BUCC 2018 -> ``{lang}-en.{sample,training}.{lang,en,gold}``.

Release files (as the organisers distribute them, per language pair of de, fr, ru, zh with
English): ``bucc2018-<lang>-en.sample-gold.tar.bz2`` and
``bucc2018-<lang>-en.training-gold.tar.bz2``, each holding ``bucc2018/<lang>-en/`` with
``<lang>-en.<stem>.<lang>`` and ``.en`` (``id<TAB>sentence`` per line, ids a two-letter language
code, a dash and nine digits) and ``.gold`` (``<lang>-id<TAB>en-id`` per line).

What the conversion does, as XTREME's download does: both archives of the four pairs are
extracted and their files flattened out of ``bucc2018/<lang>-en/`` into one folder.

Where it differs (kept for our reader and spec, harness.data.readers.read_bucc): the files
keep their release names (XTREME renames ``training`` to ``test`` and ``sample`` to ``dev``;
the spec maps the splits to these names), and the training gold is kept (XTREME deletes it to
hide the test labels): the organisers hold the real test gold, so the training corpora are our
test split. Every line is checked: two tab-separated fields, unique ids, and gold pairs that
name sentences of the corpus.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

from harness.errors import HarnessError
from harness.fetch.converters._text import lines

LANGUAGES = ("de", "fr", "ru", "zh")
STEMS = ("sample", "training")

_BAD = (tarfile.TarError, OSError, EOFError, zlib.error)


_lines = lines


def _ids(lines: list[str], where: str) -> set[str]:
    ids: set[str] = set()
    for number, line in enumerate(lines, start=1):
        sid, sep, _ = line.partition("\t")
        if not sep or not sid:
            raise HarnessError(f"{where} line {number}: expected 'id<TAB>sentence'.")
        if sid in ids:
            raise HarnessError(f"{where} line {number}: id {sid!r} appears twice.")
        ids.add(sid)
    return ids


def _members(path: Path, lang: str, stem: str) -> dict[str, bytes]:
    if not path.is_file():
        raise HarnessError(f"release file '{path}' is missing (see the spec's fetch files).")
    base = f"bucc2018/{lang}-en/{lang}-en.{stem}"
    wanted = {f"{base}.{suffix}": suffix for suffix in (lang, "en", "gold")}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:bz2") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isfile() and name in wanted:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found[wanted[name]] = handle.read()
    except _BAD as exc:
        raise HarnessError(f"release file '{path}' is not a bzip2-compressed tar: {exc}") from exc
    missing = [f"{base}.{s}" for s in (lang, "en", "gold") if s not in found]
    if missing:
        raise HarnessError(
            f"release file '{path}' has no member {', '.join(repr(m) for m in missing)}."
        )
    return found


def convert(release: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for lang in LANGUAGES:
        for stem in STEMS:
            archive = f"bucc2018-{lang}-en.{stem}-gold.tar.bz2"
            files = _members(release / archive, lang, stem)
            prefix = f"{lang}-en.{stem}"
            lines = {
                suffix: _lines(data, f"'{archive}' member '{prefix}.{suffix}'")
                for suffix, data in files.items()
            }
            source = _ids(lines[lang], f"'{archive}' member '{prefix}.{lang}'")
            english = _ids(lines["en"], f"'{archive}' member '{prefix}.en'")
            for number, line in enumerate(lines["gold"], start=1):
                fields = line.split("\t")
                where = f"'{archive}' member '{prefix}.gold' line {number}"
                if len(fields) != 2:
                    raise HarnessError(f"{where}: expected '{lang}-id<TAB>en-id'.")
                if fields[0] not in source or fields[1] not in english:
                    raise HarnessError(
                        f"{where}: pair ({fields[0]}, {fields[1]}) names a sentence that is "
                        "not in the corpus files."
                    )
            for suffix in (lang, "en", "gold"):
                name = f"{prefix}.{suffix}"
                (out / name).write_text(
                    "".join(f"{line}\n" for line in lines[suffix]), encoding="utf-8", newline="\n"
                )
                counts[name] = len(lines[suffix])
    return dict(sorted(counts.items()))

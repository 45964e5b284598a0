"""UD-POS: Universal Dependencies treebanks -> ``{language}/{split}.conllu``.

Release files (kept whole, as LINDAT distributes them): ``ud-treebanks-v2.5.tgz`` for the XTREME
languages and ``ud-treebanks-v2.7.tgz`` for the five languages XTREME-R added (lt, pl, ro, uk,
wo). Each archive holds
``ud-treebanks-v2.x/UD_<Language>-<Treebank>/<lang>_<tb>-ud-<split>.conllu``.

What the conversion does, as XTREME's download and preprocessing do:

* a file belongs to the language of its name's prefix (``en`` of ``en_ewt-ud-train.conllu``),
  and only the XTREME languages of each archive are kept;
* every treebank of a language is concatenated into one file per split, the treebank files
  taken in sorted file-name order; a language gets only the splits it has (many treebanks are
  test-only);
* sentences whose word forms are withheld (a form of ``_`` on all words, or all but one: the
  treebanks distributed without their text) are dropped;
* zero-width non-joiners (U+200C) and spaces inside a word form are removed.

Where it differs (kept for our reader, harness.data.readers.read_conllu): the output stays
CoNLL-U, with multi-word token ranges and empty nodes kept in the file (the reader skips them
and reads the syntactic words with their UPOS), where XTREME replaces the words of a multi-word
token by the fused surface form tagged with the UPOS of the span's head; and the test split
keeps its tags. Every sentence gets a ``# sent_id`` prefixed with its treebank file's name so
ids stay unique across the concatenated treebanks.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

from harness.errors import HarnessError

#: archive -> the languages XTREME takes from it
RELEASES: dict[str, tuple[str, ...]] = {
    "ud-treebanks-v2.5.tgz": (
        "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu",
        "id", "it", "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur",
        "vi", "yo", "zh",
    ),
    "ud-treebanks-v2.7.tgz": ("lt", "pl", "uk", "wo", "ro"),
}  # fmt: skip

SPLITS = ("train", "dev", "test")
_PARTS = ".parts"


def _split_of(name: str) -> str | None:
    # as XTREME: the first of train, dev, test that the file name contains
    for split in SPLITS:
        if split in name:
            return split
    return None


def _form(form: str) -> str:
    return "".join(form.replace("\u200c", "").split(" "))


def _sentences(text: str, where: str) -> list[list[str]]:
    """The sentences of a CoNLL-U text, each a list of lines (comments and token lines)."""
    sentences: list[list[str]] = []
    lines: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if lines:
                sentences.append(lines)
            lines = []
            continue
        if not line.startswith("#"):
            cols = line.split("\t")
            if len(cols) != 10:
                raise HarnessError(
                    f"{where} line {number} has {len(cols)} tab-separated columns; a CoNLL-U "
                    "token line has 10."
                )
        lines.append(line)
    if lines:
        sentences.append(lines)
    return sentences


def _convert_sentence(lines: list[str], prefix: str, index: int) -> list[str] | None:
    """The sentence's lines to write, or None when its word forms are withheld."""
    out: list[str] = []
    sent_id: str | None = None
    forms: list[str] = []
    for line in lines:
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            if key.strip() == "sent_id":
                sent_id = value.strip()
                continue
            out.append(line)
            continue
        cols = line.split("\t")
        cols[1] = _form(cols[1])
        if cols[0].isdigit():
            forms.append(cols[1])
        out.append("\t".join(cols))
    if not forms:
        return None
    withheld = sum(form == "_" for form in forms)
    if withheld and withheld >= len(forms) - 1:
        return None
    return [f"# sent_id = {prefix}:{sent_id or index}", *out]


def _open(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise HarnessError(f"release file '{path}' is missing (see the spec's fetch files).")
    try:
        return tarfile.open(path, "r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise HarnessError(f"release file '{path}' is not a gzip-compressed tar: {exc}") from exc


def _convert_archive(path: Path, languages: tuple[str, ...], parts: Path) -> dict[str, int]:
    """Convert the archive's kept treebank files into ``parts/<file name>``; their counts."""
    counts: dict[str, int] = {}
    with _open(path) as tar:
        try:
            for member in tar:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.suffix != ".conllu" or len(name.parts) != 3:
                    continue
                language = name.name.split("_")[0]
                if language not in languages or _split_of(name.name) is None:
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                where = f"'{path.name}' member '{member.name}'"
                try:
                    text = handle.read().decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise HarnessError(f"{where} is not valid UTF-8 ({exc}).") from exc
                prefix = name.stem
                written = 0
                with (parts / name.name).open("w", encoding="utf-8", newline="\n") as out:
                    for index, lines in enumerate(_sentences(text, where), start=1):
                        kept = _convert_sentence(lines, prefix, index)
                        if kept is None:
                            continue
                        out.write("\n".join(kept) + "\n\n")
                        written += 1
                counts[name.name] = written
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise HarnessError(f"release file '{path}' is truncated or corrupt: {exc}") from exc
    if not counts:
        raise HarnessError(
            f"release file '{path}' holds no treebank of the languages XTREME takes from it "
            f"({', '.join(languages)}): expected members "
            "'ud-treebanks-v2.x/UD_<Language>-<Treebank>/<lang>_<tb>-ud-<split>.conllu'."
        )
    return counts


def convert(release: Path, out: Path) -> dict[str, int]:
    parts = out / _PARTS
    parts.mkdir(parents=True, exist_ok=True)
    per_file: dict[str, int] = {}
    for archive, languages in RELEASES.items():
        per_file.update(_convert_archive(release / archive, languages, parts))
    counts: dict[str, int] = {}
    for name in sorted(per_file):
        language, split = name.split("_")[0], _split_of(name)
        target = out / language / f"{split}.conllu"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write((parts / name).read_text(encoding="utf-8"))
        key = f"{language}/{split}.conllu"
        counts[key] = counts.get(key, 0) + per_file[name]
    for name in per_file:
        (parts / name).unlink()
    parts.rmdir()
    for key in [k for k, n in counts.items() if n == 0]:
        (out / key).unlink()  # a split whose every sentence was withheld is not written
        del counts[key]
    return dict(sorted(counts.items()))

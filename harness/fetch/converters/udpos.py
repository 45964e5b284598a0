"""UD-POS: Universal Dependencies treebanks -> ``{language}/{split}.conllu``.

Release files (kept whole, as LINDAT distributes them): ``ud-treebanks-v2.5.tgz`` for the XTREME
languages and ``ud-treebanks-v2.7.tgz`` for the five languages XTREME-R added (lt, pl, ro, uk,
wo). Each archive holds
``ud-treebanks-v2.x/UD_<Language>-<Treebank>/<lang>_<tb>-ud-<split>.conllu``.

What the conversion does, as XTREME's download and preprocessing do (the treebank files run
through ud-conversion-tools' ``conllu_to_conll.py --replace_subtokens_with_fused_forms``, then
``utils_preprocess.py``'s UD-POS step); the words and tags written equal those of XTREME's
``udpos/{split}-{lang}.tsv``:

* a file belongs to the language of its name's prefix (``en`` of ``en_ewt-ud-train.conllu``),
  and only the XTREME languages of each archive are kept;
* every treebank of a language is concatenated into one file per split, the treebank files
  taken in sorted file-name order; a language gets only the splits it has (many treebanks are
  test-only);
* empty nodes (``5.1``) are dropped;
* a multi-word token (a range line ``3-4 zum`` over the syntactic words ``zu`` ``dem``) becomes
  one word: its surface form, with the UPOS (and lemma, XPOS, features) of the span's head. The
  head is the word of the span with the fewest ancestors in the sentence's graph, counting the
  basic tree and the enhanced dependencies (DEPS) together, the root node 0 included; where
  several words tie for fewest, the first of them whose UPOS comes earliest in a precedence list
  of the file's language (``_PRECEDENCE``: Spanish, French and Italian have their own, every
  other language the default). Where a tied word's UPOS is missing from that list, XTREME's
  tool fails on the whole file and XTREME has no data from it: such a file is left out here
  too. The words are then numbered 1..n again; HEAD follows the renumbering (a head that was
  merged into a multi-word token points at that token), DEPS becomes ``_`` in sentences whose
  ids changed, and MISC is the multi-word token's own;
* sentences whose word forms are withheld (a form of ``_`` on all words, or all but one, counted
  after the merging: the treebanks distributed without their text) are dropped;
* a word form loses surrounding white space, zero-width non-joiners (U+200C) and inner spaces.

Where it differs: the output stays CoNLL-U (for harness.data.readers.read_conllu) and the test
split keeps its tags. Every sentence gets a ``# sent_id`` prefixed with its treebank file's name
so ids stay unique across the concatenated treebanks.
"""

from __future__ import annotations

import sys
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


#: UPOS precedence for choosing the head of a multi-word token among words that tie for the top
#: of the span (the lists of XTREME's conversion tool: per language, else the default)
_PRECEDENCE: dict[str, tuple[str, ...]] = {
    "default": ("VERB", "NOUN", "PROPN", "PRON", "ADJ", "NUM", "ADV", "INTJ", "AUX", "ADP",
                "DET", "PART", "CCONJ", "SCONJ", "X", "PUNCT"),
    "es": ("VERB", "AUX", "PRON", "ADP", "DET"),
    "fr": ("VERB", "AUX", "PRON", "NOUN", "ADJ", "ADV", "ADP", "DET", "PART", "SCONJ", "CONJ"),
    "it": ("VERB", "AUX", "ADV", "PRON", "ADP", "DET", "INTJ"),
}  # fmt: skip


class _Unconvertible(Exception):
    """A treebank file that XTREME's conversion tool fails on, so XTREME has no data from it."""


def _form(form: str) -> str:
    return "".join(form.strip().replace("\u200c", "").split(" "))


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


def _ancestors(word: int, parents: dict[int, set[int]]) -> int:
    """How many nodes (the root 0 included) have a path to ``word`` in the sentence's graph."""
    seen: set[int] = set()
    todo = [word]
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    seen.discard(word)
    return len(seen)


def _span_head(
    span: list[int], parents: dict[int, set[int]], upos: dict[int, str], language: str
) -> int:
    """The word of a multi-word token's span that carries the token (see the module doc)."""
    depth = {word: _ancestors(word, parents) for word in span}
    top = min(depth.values())
    tied = [word for word in span if depth[word] == top]
    if len(tied) == 1:
        return tied[0]
    precedence = _PRECEDENCE.get(language, _PRECEDENCE["default"])
    best, best_rank = tied[0], len(precedence)
    for word in tied:
        if upos[word] not in precedence:
            raise _Unconvertible(
                f"words {tied} tie for the head of a multi-word token and UPOS "
                f"{upos[word]!r} is not in the precedence list"
            )
        rank = precedence.index(upos[word])
        if rank < best_rank:
            best, best_rank = word, rank
    return best


def _parents(cols: list[str]) -> set[int]:
    """The word's heads in the basic tree (HEAD) and the enhanced graph (DEPS)."""
    heads = {int(cols[6])} if cols[6].isdigit() else set()
    if cols[8] != "_":
        for entry in cols[8].split("|"):
            head = entry.split(":")[0]
            if head.isdigit():
                heads.add(int(head))
    return heads


def _spans(
    ranges: list[list[str]], words: dict[int, list[str]]
) -> list[tuple[list[int], list[str]]]:
    spans: list[tuple[list[int], list[str]]] = []
    for cols in ranges:
        first, _, last = cols[0].partition("-")
        if not (first.isdigit() and last.isdigit()):
            raise _Unconvertible(f"multi-word token ID {cols[0]!r} is not a range of numbers")
        span = list(range(int(first), int(last) + 1))
        if not span or any(word not in words for word in span):
            raise _Unconvertible(f"multi-word token {cols[0]!r} spans words the sentence lacks")
        spans.append((span, cols))
    return spans


def _convert_sentence(lines: list[str], prefix: str, index: int, language: str) -> list[str] | None:
    """The sentence's lines to write, or None when its word forms are withheld."""
    comments: list[str] = []
    sent_id: str | None = None
    words: dict[int, list[str]] = {}  # in file order
    ranges: list[list[str]] = []
    changed = False
    for line in lines:
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            if key.strip() == "sent_id":
                sent_id = value.strip()
            else:
                comments.append(line)
            continue
        cols = line.split("\t")
        if cols[0].isdigit():
            words[int(cols[0])] = cols
        elif "-" in cols[0]:
            ranges.append(cols)
            changed = True
        elif "." in cols[0]:
            changed = True  # an empty node (5.1): dropped
        else:
            raise _Unconvertible(f"token ID {cols[0]!r} is not a number")
    if not words:
        return None
    merged: dict[int, int] = {}  # a word merged into a multi-word token -> the token's head word
    fused: dict[int, list[str]] = {}  # the head word of a multi-word token -> the range line
    if ranges:
        parents = {word: _parents(cols) for word, cols in words.items()}
        upos = {word: cols[3] for word, cols in words.items()}
        for span, cols in _spans(ranges, words):
            head = _span_head(span, parents, upos, language)
            fused[head] = cols
            merged.update({word: head for word in span if word != head})
    kept = [word for word in words if word not in merged]
    new_id = {word: number for number, word in enumerate(kept, start=1)}
    new_id.update({word: new_id[head] for word, head in merged.items()})
    withheld = 0
    out: list[str] = []
    for word in kept:
        cols = list(words[word])
        if word in fused:
            cols[1] = fused[word][1]
            cols[9] = fused[word][9]
        withheld += cols[1].strip() == "_"
        cols[1] = _form(cols[1])
        if changed:
            cols[0] = str(new_id[word])
            cols[6] = _new_head(word, words, new_id)
            cols[8] = "_"
        out.append("\t".join(cols))
    if withheld and withheld >= len(kept) - 1:
        return None
    return [f"# sent_id = {prefix}:{sent_id or index}", *comments, *out]


def _new_head(word: int, words: dict[int, list[str]], new_id: dict[int, int]) -> str:
    """HEAD after the renumbering; a head merged into the word's own token: that token's head."""
    head, seen = words[word][6], {word}
    while head.isdigit() and head != "0":
        number = int(head)
        if number not in new_id:
            return head  # not a word of the sentence: left as it was
        if new_id[number] != new_id[word]:
            return str(new_id[number])
        if number in seen:
            return "0"
        seen.add(number)
        head = words[number][6]
    return head


def _convert_file(text: str, where: str, prefix: str, language: str) -> list[list[str]]:
    """The kept sentences of one treebank file; _Unconvertible where XTREME's tool fails on it."""
    kept: list[list[str]] = []
    for index, lines in enumerate(_sentences(text, where), start=1):
        sentence = _convert_sentence(lines, prefix, index, language)
        if sentence is not None:
            kept.append(sentence)
    return kept


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
                try:
                    kept = _convert_file(text, where, name.stem, language)
                except _Unconvertible as exc:
                    kept = []  # as XTREME, which has no data from this file
                    print(
                        f"warning: {where}: {exc}; XTREME's converter fails on this file and "
                        "keeps none of it, so it is left out here too",
                        file=sys.stderr,
                    )
                with (parts / name.name).open("w", encoding="utf-8", newline="\n") as out:
                    out.writelines("\n".join(sentence) + "\n\n" for sentence in kept)
                counts[name.name] = len(kept)
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

"""PAN-X (WikiANN, the balanced splits of Rahimi et al. 2019) -> ``{language}/{split}``.

Release file: ``AmazonPhotos.zip``, the archive XTREME's download script asks users to fetch by
hand (its Amazon Drive share is dead; users pass ``--from DIR`` with their copy). It holds one
``<lang>.tar.gz`` per language (in a folder, whose name the script ignores: it unzips with
``-j``), each holding the files ``train``, ``dev`` and ``test``: ``<lang>:<token><TAB><tag>`` per
line, a blank line between sentences.

What the conversion does, as XTREME's preprocessing does: the 48 languages of XTREME and
XTREME-R are taken, every one required; of each line, stripped and split on tabs, a line of two
fields whose first holds a ``:`` is a token (the text after the first ``:``, stripped) and its tag
(stripped), a two-field line without ``:`` is dropped, and any other line ends the sentence.

Where it differs (kept for our reader, harness.data.readers.read_panx): the files keep the
``<lang>:`` prefix on each token (the reader removes it) and are named ``<lang>/<split>``
rather than ``<split>-<lang>.tsv``, and the test split keeps its tags (XTREME drops them).
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from harness.errors import HarnessError

ARCHIVE = "AmazonPhotos.zip"

#: the languages XTREME's preprocessing converts, in its order
LANGUAGES: tuple[str, ...] = (
    "ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de",
    "el", "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko",
    "th", "sw", "yo", "my", "zh", "kk", "tr", "et", "fi", "hu", "qu", "pl", "uk", "az", "lt",
    "pa", "gu", "ro",
)  # fmt: skip

SPLITS = ("train", "dev", "test")

_BAD = (tarfile.TarError, OSError, EOFError, zlib.error)


def _sentences(text: str) -> list[list[tuple[str, str]]]:
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.split("\n"):
        items = line.strip().split("\t")
        if len(items) == 2:
            colon = items[0].find(":")
            if colon != -1:
                current.append((items[0][colon + 1 :].strip(), items[1].strip()))
            continue
        if current:
            sentences.append(current)
        current = []
    if current:
        sentences.append(current)
    return sentences


def _inner_files(data: bytes, where: str) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            found: dict[str, bytes] = {}
            for member in tar:
                name = PurePosixPath(member.name).name
                if member.isfile() and name in SPLITS:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found[name] = handle.read()
    except _BAD as exc:
        raise HarnessError(f"{where} is not a readable gzip-compressed tar: {exc}") from exc
    missing = [s for s in SPLITS if s not in found]
    if missing:
        raise HarnessError(f"{where} has no member {', '.join(repr(m) for m in missing)}.")
    return found


def convert(release: Path, out: Path) -> dict[str, int]:
    path = release / ARCHIVE
    if not path.is_file():
        raise HarnessError(
            f"release file '{path}' is missing: PAN-X's Amazon Drive link is dead, so pass "
            "`--from DIR` with a folder holding your copy of AmazonPhotos.zip."
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise HarnessError(f"release file '{path}' is not a zip archive: {exc}") from exc
    counts: dict[str, int] = {}
    with archive:
        members = {PurePosixPath(n).name: n for n in archive.namelist() if not n.endswith("/")}
        missing = [lang for lang in LANGUAGES if f"{lang}.tar.gz" not in members]
        if missing:
            raise HarnessError(
                f"release file '{path}' lacks the per-language archives "
                f"{', '.join(f'{lang}.tar.gz' for lang in missing)}."
            )
        for lang in LANGUAGES:
            member = members[f"{lang}.tar.gz"]
            where = f"'{path.name}' member '{member}'"
            try:
                data = archive.read(member)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                raise HarnessError(f"{where} cannot be read: {exc}") from exc
            for split, raw in _inner_files(data, where).items():
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise HarnessError(f"{where} file '{split}' is not valid UTF-8.") from exc
                sentences = _sentences(text)
                if not sentences:
                    raise HarnessError(
                        f"{where} file '{split}' holds no '{lang}:token<TAB>tag' line."
                    )
                target = out / lang / split
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("w", encoding="utf-8", newline="\n") as handle:
                    for sentence in sentences:
                        handle.writelines(f"{lang}:{tok}\t{tag}\n" for tok, tag in sentence)
                        handle.write("\n")
                counts[f"{lang}/{split}"] = len(sentences)
    return dict(sorted(counts.items()))

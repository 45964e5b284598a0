"""Mewsli-X (XTREME-R): google-research `dense_representations_for_entity_retrieval/mel`.

Release files:

* ``mewsli-x_20220518_6.zip``, the published archive: ``candidate_set_entities.jsonl`` (one
  ``Entity`` a line), ``wikipedia_pairs-{train,dev}.jsonl`` (one ``MentionEntityPair`` a line,
  English), ``wikinews_mentions_no_text-{dev,test}.jsonl`` (``ContextualMentions``: one WikiNews
  article, its ``mentions``, and an empty ``context.text``) and per-language TSV descriptors;
* ``wikinews_mentions-{dev,test}.jsonl``: the same ``ContextualMentions`` with the article text
  restored. No download serves them: the publisher's ``get-mewsli-x.sh`` makes them from the
  archive and the WikiNews dumps (XTREME's ``download_mewslix`` runs that script).

Written: ``wikipedia_pairs-{train,dev}.jsonl`` and ``candidate_set_entities.jsonl`` unchanged
(after checking every line), and ``wikinews_mentions-{dev,test}.jsonl`` unnested to one
``ContextualMention`` (``{"context", "mention"}``) per mention, the record the ``mewslix``
reader takes, after checking that the restored files hold exactly the archive's mentions (same
ids, entities and spans) and that each span's text is the article text at its offsets.

XTREME instead shards the WikiNews files into ``wikinews_mentions/{split}-{lang}.jsonl`` (still
one article a line), blanks the test ``entity_id`` and writes the gold ids to
``wikinews_labels/``; here one file per split keeps the labels (the harness scores itself and the
reader selects a language by ``context.language``).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError
from harness.fetch.converters._text import json_value
from harness.fetch.converters.copa import open_zip

ARCHIVE = "mewsli-x_20220518_6.zip"
WIKINEWS_SPLITS = ("dev", "test")
COPIED = {
    "wikipedia_pairs-train.jsonl": "pair",
    "wikipedia_pairs-dev.jsonl": "pair",
    "candidate_set_entities.jsonl": "entity",
}

MentionKey = tuple[str, str, str, int, int, str]


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"it has no field {exc.args[0]!r}"
    return str(exc)


def _member(archive: zipfile.ZipFile, name: str, path: Path) -> str:
    names = archive.namelist()
    if name in names:
        return name
    nested = [n for n in names if n.endswith(f"/{name}")]
    if len(nested) == 1:
        return nested[0]
    raise HarnessError(
        f"'{path}' has no member '{name}' (members: {sorted(names)[:12]}"
        f"{' ...' if len(names) > 12 else ''})."
    )


def _lines(handle: IO[bytes], where: str) -> Iterator[tuple[int, bytes, Any]]:
    """(line number, raw line without newline, parsed JSON) of each non-blank line."""
    try:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            yield number, line, json_value(line, f"'{where}' line {number}")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise HarnessError(f"'{where}' cannot be read ({exc}).") from exc


def _span(mention: Any, text: str | None) -> tuple[int, int, str]:
    span = mention["mention_span"]
    start, end, surface = span["start"], span["end"], span["text"]
    if not (isinstance(start, int) and isinstance(end, int) and isinstance(surface, str)):
        raise TypeError(f"mention_span {span} needs integer start/end and a text")
    if text is not None and text[start:end] != surface:
        raise ValueError(
            f"mention_span {span} does not match the text at its offsets ({text[start:end]!r})"
        )
    return start, end, surface


def _check_copied(record_type: str, record: Any) -> None:
    if record_type == "entity":
        if not isinstance(record["entity_id"], str) or not isinstance(record["description"], str):
            raise TypeError("entity_id and description must be strings")
        return
    cm, entity = record["contextual_mention"], record["entity"]
    _span(cm["mention"], cm["context"]["text"])
    if cm["mention"]["entity_id"] != entity["entity_id"]:
        raise ValueError("the mention's entity_id is not the entity's")
    if not isinstance(entity["description"], str):
        raise TypeError("entity.description must be a string")


def _mentions(record: Any, with_text: bool) -> list[tuple[MentionKey, Any]]:
    context = record["context"]
    text = context["text"]
    if not isinstance(text, str):
        raise TypeError("context.text must be a string")
    if with_text and not text:
        raise ValueError(
            "context.text is empty: this is the archive's no-text file, not the one "
            "get-mewsli-x.sh restores"
        )
    if not isinstance(context["language"], str):
        raise TypeError("context.language must be a string")
    out = []
    for mention in record["mentions"]:
        start, end, surface = _span(mention, text if with_text else None)
        key = (
            str(context["document_id"]),
            str(mention["example_id"]),
            str(mention["entity_id"]),
            start,
            end,
            surface,
        )
        out.append((key, mention))
    return out


def _wikinews(
    archive: zipfile.ZipFile, archive_path: Path, release: Path, out: Path
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for split in WIKINEWS_SPLITS:
        no_text = _member(archive, f"wikinews_mentions_no_text-{split}.jsonl", archive_path)
        where = f"{archive_path}:{no_text}"
        expected: list[MentionKey] = []
        with archive.open(no_text) as handle:
            for number, _, record in _lines(handle, where):
                try:
                    expected.extend(key for key, _ in _mentions(record, with_text=False))
                except (KeyError, TypeError, ValueError) as exc:
                    raise HarnessError(
                        f"'{where}' line {number} is not a Mewsli-X ContextualMentions: "
                        f"{_problem(exc)}."
                    ) from exc
        name = f"wikinews_mentions-{split}.jsonl"
        path = release / name
        if not path.is_file():
            raise HarnessError(
                f"release file '{path}' is missing: Mewsli-X publishes the WikiNews articles "
                "without text; run the publisher's get-mewsli-x.sh (google-research "
                "dense_representations_for_entity_retrieval/mel) and put its "
                f"mewsli_x/output/dataset/{name} in the release folder."
            )
        with path.open("rb") as handle:
            head = handle.read(256).lstrip()
        if head and not head.startswith(b"{"):
            raise HarnessError(
                f"'{path}' is not JSONL (it starts {head[:40]!r}): this file is not served by "
                "any URL; it is the output of the publisher's get-mewsli-x.sh "
                f"(mewsli_x/output/dataset/{name})."
            )
        found: list[MentionKey] = []
        rows: list[bytes] = []
        with path.open("rb") as handle:
            for number, _, record in _lines(handle, str(path)):
                try:
                    mentions = _mentions(record, with_text=True)
                except (KeyError, TypeError, ValueError) as exc:
                    raise HarnessError(
                        f"'{path}' line {number} is not a Mewsli-X ContextualMentions with "
                        f"article text: {_problem(exc)}."
                    ) from exc
                for key, mention in mentions:
                    found.append(key)
                    single = {"context": record["context"], "mention": mention}
                    rows.append(json.dumps(single, ensure_ascii=False).encode("utf-8"))
        if found != expected:
            extra = sorted({k[1] for k in found} - {k[1] for k in expected})[:3]
            lost = sorted({k[1] for k in expected} - {k[1] for k in found})[:3]
            raise HarnessError(
                f"'{path}' has {len(found)} mentions and '{where}' {len(expected)}: the "
                "restored file must hold the archive's mentions, in order, with the same "
                f"entities and spans (only in the restored file: {extra}; missing: {lost}). "
                "Rerun get-mewsli-x.sh with this archive."
            )
        (out / name).write_bytes(b"".join(row + b"\n" for row in rows))
        counts[name] = len(rows)
    return counts


def convert(release: Path, out: Path) -> dict[str, int]:
    archive_path = release / ARCHIVE
    counts: dict[str, int] = {}
    out.mkdir(parents=True, exist_ok=True)
    with open_zip(archive_path) as archive:
        for name, record_type in COPIED.items():
            member = _member(archive, name, archive_path)
            where = f"{archive_path}:{member}"
            n = 0
            with archive.open(member) as handle, (out / name).open("wb") as sink:
                for number, raw, record in _lines(handle, where):
                    try:
                        _check_copied(record_type, record)
                    except (KeyError, TypeError, ValueError) as exc:
                        what = "Entity" if record_type == "entity" else "MentionEntityPair"
                        raise HarnessError(
                            f"'{where}' line {number} is not a Mewsli-X {what}: {_problem(exc)}."
                        ) from exc
                    sink.write(raw + b"\n")
                    n += 1
            if n == 0:
                raise HarnessError(f"'{where}' holds no records.")
            counts[name] = n
        counts.update(_wikinews(archive, archive_path, release, out))
    return dict(sorted(counts.items()))

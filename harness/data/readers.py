"""Readers for the formats raw XTREME / XTREME-R data is distributed in.

Each reader takes the resolved file (or file stem) of one split and language and returns rows
whose keys are the canonical fields of the task kind (:attr:`harness.kinds.base.TaskKind.fields`)
plus ``id`` and, where the source has them, extra keys (kept for provenance and mining).
Problems in a file raise :class:`HarnessError` naming the file, the line and what is wrong.

The schemas, as distributed:

* ``conllu`` — Universal Dependencies CoNLL-U (v2.x): ``#`` comment lines (``# sent_id = ..``),
  one token per line with 10 tab-separated columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL
  DEPS MISC), a blank line after each sentence. Multi-word token ranges (``1-2``) and empty
  nodes (``1.1``) carry no UPOS of their own and are skipped, as the XTREME preprocessing does.
* ``panx`` — the WikiANN (PAN-X) files of the XTREME download: ``{lang}:{token}<TAB>{tag}`` per
  line, a blank line between sentences; the ``{lang}:`` prefix is removed.
* ``squad_json`` — SQuAD v1.1 JSON: ``{"data": [{"title", "paragraphs": [{"context", "qas":
  [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`` (XQuAD, MLQA,
  TyDiQA-GoldP, SQuAD). XQuAD-R (LAReQA) paragraphs also hold ``sentences`` and
  ``sentence_breaks`` (``[[start, end], ...]``): the retrieval target of a question is then the
  sentence holding its answer.
* ``bucc`` — BUCC 2018 comparable corpora ``{stem}.{lang}`` and ``{stem}.en`` (``id<TAB>sentence``
  per line) and gold pairs ``{stem}.gold`` (``lang-id<TAB>en-id``), stem e.g. ``de-en.training``.
* ``tatoeba`` — XTREME's Tatoeba files ``{stem}.{lang3}`` and ``{stem}.eng``, line-aligned, stem
  e.g. ``tatoeba.deu-eng``.
* ``mewslix`` — Mewsli-X JSONL: each line a ``ContextualMention`` (``{"context": {..., "text",
  "sentence_spans"}, "mention": {"example_id", "mention_span": {"start", "end", "text"},
  "entity_id"}}``) or a ``MentionEntityPair`` (``{"contextual_mention": ..., "entity":
  {"entity_id", "title", "description", ...}}``); mentions are kept for the requested language
  (``context.language``).
* ``tsv`` — tab-separated with a header row, no quoting (PAWS-X).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

Row = dict[str, Any]

#: ISO 639-1 -> the ISO 639-3 code of XTREME's Tatoeba file names
TATOEBA_CODES: dict[str, str] = {
    "af": "afr", "ar": "ara", "az": "aze", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell",
    "es": "spa", "et": "est", "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb",
    "hi": "hin", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat",
    "kk": "kaz", "ko": "kor", "lt": "lit", "ml": "mal", "mr": "mar", "nl": "nld", "pl": "pol",
    "pt": "por", "ro": "ron", "ru": "rus", "sw": "swh", "ta": "tam", "te": "tel", "th": "tha",
    "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie", "zh": "cmn",
}  # fmt: skip


def _read_text(path: Path, task: str) -> str:
    if not path.is_file():
        raise HarnessError(
            f"Data file '{path}' for task '{task}' is missing. Download the raw data (see the "
            "task spec's upstream notes) or `dvc pull` the data snapshot, and check "
            "source.path in the spec."
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise HarnessError(f"'{path}' line {line} is not valid UTF-8.") from exc


def _lines(path: Path, task: str) -> list[str]:
    lines = _read_text(path, task).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_conllu(path: Path, task: str) -> list[Row]:
    rows: list[Row] = []
    tokens: list[str] = []
    tags: list[str] = []
    sent_id: str | None = None

    def flush() -> None:
        nonlocal tokens, tags, sent_id
        if tokens:
            rows.append({"id": sent_id or f"s{len(rows) + 1}", "tokens": tokens, "tags": tags})
        tokens, tags, sent_id = [], [], None

    for number, line in enumerate(_lines(path, task), start=1):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            if key.strip() == "sent_id":
                sent_id = value.strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise HarnessError(
                f"'{path}' line {number} has {len(cols)} tab-separated columns; a CoNLL-U token "
                "line has 10."
            )
        if "-" in cols[0] or "." in cols[0]:
            continue  # multi-word token range or empty node
        if not cols[0].isdigit():
            raise HarnessError(f"'{path}' line {number}: token ID {cols[0]!r} is not a number.")
        tokens.append(cols[1])
        tags.append(cols[3])
    flush()
    return rows


def read_panx(path: Path, task: str, language: str) -> list[Row]:
    rows: list[Row] = []
    tokens: list[str] = []
    tags: list[str] = []
    prefix = f"{language}:"
    for number, line in enumerate(_lines(path, task), start=1):
        if not line.strip():
            if tokens:
                rows.append({"id": f"s{len(rows) + 1}", "tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        token, sep, tag = line.rpartition("\t")
        if not sep or not token or not tag.strip():
            raise HarnessError(
                f"'{path}' line {number} is {line!r}: a PAN-X line is '{prefix}token<TAB>tag'."
            )
        tokens.append(token[len(prefix) :] if token.startswith(prefix) else token)
        tags.append(tag.strip())
    if tokens:
        rows.append({"id": f"s{len(rows) + 1}", "tokens": tokens, "tags": tags})
    return rows


def _sentence_of(paragraph: dict[str, Any], start: int) -> str | None:
    breaks = paragraph.get("sentence_breaks")
    sentences = paragraph.get("sentences")
    if not isinstance(breaks, list) or not isinstance(sentences, list):
        return None
    for (begin, end), sentence in zip(breaks, sentences, strict=False):
        if begin <= start < end:
            return str(sentence)
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def answer_sentence(context: str, start: int) -> str:
    """The sentence of ``context`` holding character ``start``, for SQuAD paragraphs without
    sentence breaks (XTREME's LAReQA training splits them with a trained sentence breaker;
    here a sentence ends at ., ! or ? followed by white space: English training data only)."""
    begin = 0
    for match in _SENTENCE_END.finditer(context):
        if match.start() >= start:
            return context[begin : match.start()]
        begin = match.end()
    return context[begin:]


def lareqa_candidate(sentence: str, context: str) -> str:
    """A LAReQA answer candidate as XTREME-R encodes it: the answer sentence followed by its
    paragraph, newlines removed (``evaluate_retrieval.py`` / ``run_retrieval_qa.py``)."""
    return (sentence + context).replace("\n", "")


def read_squad_json(path: Path, task: str) -> list[Row]:
    try:
        data = json.loads(_read_text(path, task))
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"'{path}' line {exc.lineno} column {exc.colno} is not valid JSON ({exc.msg})."
        ) from exc
    articles = data.get("data") if isinstance(data, dict) else data
    if not isinstance(articles, list):
        raise HarnessError(f"'{path}' is not SQuAD JSON: expected {{\"data\": [articles]}}.")
    rows: list[Row] = []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            where = f"'{path}' data[{a}].paragraphs[{p}]"
            if "context" not in paragraph or "qas" not in paragraph:
                raise HarnessError(f"{where} needs 'context' and 'qas'.")
            for qa in paragraph["qas"]:
                if "id" not in qa or "question" not in qa or "answers" not in qa:
                    raise HarnessError(f"{where}: every qa needs 'id', 'question', 'answers'.")
                answers = qa["answers"]
                texts = [str(x["text"]) for x in answers]
                starts = [int(x["answer_start"]) for x in answers]
                target = _sentence_of(paragraph, starts[0]) if starts else None
                context = str(paragraph["context"])
                sentence = target
                if sentence is None and starts:
                    sentence = answer_sentence(context, starts[0])
                rows.append(
                    {
                        "id": str(qa["id"]),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": {"text": texts, "answer_start": starts},
                        "query": qa["question"],
                        "target": target if target is not None else paragraph["context"],
                        # the answer sentence + its paragraph (LAReQA's dual encoder trains on it)
                        "candidate": lareqa_candidate(sentence or "", context),
                        "title": article.get("title", ""),
                    }
                )
    return rows


def _id_sentences(path: Path, task: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in enumerate(_lines(path, task), start=1):
        sid, sep, sentence = line.partition("\t")
        if not sep or not sid:
            raise HarnessError(f"'{path}' line {number}: expected 'id<TAB>sentence'.")
        if sid in out:
            raise HarnessError(f"'{path}' line {number}: id {sid!r} appears twice.")
        out[sid] = sentence
    return out


def read_bucc_corpus(
    stem: Path, task: str, language: str
) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """(source sentences by id, English sentences by id, gold pairs); the gold file may be
    absent (the BUCC test split has none)."""
    source = _id_sentences(stem.with_name(f"{stem.name}.{language}"), task)
    english = _id_sentences(stem.with_name(f"{stem.name}.en"), task)
    gold_path = stem.with_name(f"{stem.name}.gold")
    pairs: list[tuple[str, str]] = []
    if gold_path.is_file():
        for number, line in enumerate(_lines(gold_path, task), start=1):
            fields = line.split("\t")
            if len(fields) != 2:
                raise HarnessError(f"'{gold_path}' line {number}: expected 'src-id<TAB>en-id'.")
            src, tgt = fields
            if src not in source or tgt not in english:
                raise HarnessError(
                    f"'{gold_path}' line {number}: pair ({src}, {tgt}) names a sentence that "
                    "is not in the corpus files."
                )
            pairs.append((src, tgt))
    return source, english, pairs


def read_bucc(stem: Path, task: str, language: str) -> list[Row]:
    """The gold pairs as retrieval rows (mining itself needs :func:`read_bucc_corpus`)."""
    source, english, pairs = read_bucc_corpus(stem, task, language)
    return [
        {
            "id": f"{src}\t{tgt}",
            "query": source[src],
            "target": english[tgt],
            "query_id": src,
            "target_id": tgt,
        }
        for src, tgt in pairs
    ]


def read_tatoeba(stem: Path, task: str, language: str) -> list[Row]:
    code = TATOEBA_CODES.get(language)
    if code is None:
        raise HarnessError(f"Tatoeba has no file code for language '{language}'.")
    src = _lines(stem.with_name(f"{stem.name}.{code}"), task)
    eng = _lines(stem.with_name(f"{stem.name}.eng"), task)
    if len(src) != len(eng):
        raise HarnessError(
            f"Tatoeba files '{stem}.{code}' ({len(src)} lines) and '{stem}.eng' ({len(eng)} "
            "lines) must be line-aligned."
        )
    return [
        {"id": str(i), "query": s, "target": e, "target_index": i}
        for i, (s, e) in enumerate(zip(src, eng, strict=True))
    ]


def _mention_query(cm: dict[str, Any]) -> str:
    context, mention = cm["context"], cm["mention"]
    span = mention["mention_span"]
    text = context["text"]
    start, end = int(span["start"]), int(span["end"])
    if text[start:end] != span["text"]:
        raise ValueError(f"mention_span {span} does not match the context text")
    left, right = 0, len(text)
    for sentence in context.get("sentence_spans", []):
        if sentence["start"] <= start and end <= sentence["end"]:
            left, right = sentence["start"], sentence["end"]
            break
    snippet = f"{text[left:start]}{{ {span['text']} }}{text[end:right]}"
    return " ".join(f"{span['text']}: {snippet}".split())


def read_mewslix(path: Path, task: str, language: str) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(_lines(path, task), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            pair = "contextual_mention" in record
            cm = record["contextual_mention"] if pair else record
            if cm["context"].get("language") != language:
                continue
            mention = cm["mention"]
            row: Row = {
                "id": str(mention["example_id"]),
                "query": _mention_query(cm),
                "entity_id": str(mention["entity_id"]),
            }
            if pair:
                entity = record["entity"]
                row["target"] = str(entity["description"])
                row["target_title"] = str(entity.get("title", ""))
            else:
                row["target"] = row["entity_id"]
        except json.JSONDecodeError as exc:
            raise HarnessError(f"'{path}' line {number} is not valid JSON ({exc.msg}).") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise HarnessError(
                f"'{path}' line {number} is not a Mewsli-X ContextualMention or "
                f"MentionEntityPair: {exc}."
            ) from exc
        rows.append(row)
    return rows


def read_tsv(path: Path, task: str) -> list[Row]:
    lines = _lines(path, task)
    if not lines:
        raise HarnessError(f"'{path}' is empty; expected a header row.")
    header = lines[0].split("\t")
    rows: list[Row] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise HarnessError(
                f"'{path}' line {number} has {len(fields)} fields; the header has {len(header)}."
            )
        rows.append(dict(zip(header, fields, strict=True)))
    return rows


def read_local(fmt: str, path: Path, task: str, language: str) -> list[Row]:
    """Dispatch on the spec's ``source.format`` (every format but ``jsonl``)."""
    if fmt == "conllu":
        return read_conllu(path, task)
    if fmt == "panx":
        return read_panx(path, task, language)
    if fmt == "squad_json":
        return read_squad_json(path, task)
    if fmt == "bucc":
        return read_bucc(path, task, language)
    if fmt == "tatoeba":
        return read_tatoeba(path, task, language)
    if fmt == "mewslix":
        return read_mewslix(path, task, language)
    if fmt == "tsv":
        return read_tsv(path, task)
    raise HarnessError(f"Task '{task}': unknown source format '{fmt}'.")


def read_mewslix_entities(path: Path, task: str = "mewslix") -> dict[str, str]:
    """Mewsli-X candidate entities (``candidate_set_entities.jsonl``, one ``Entity`` per line:
    ``entity_id``, ``title``, ``description``, ...): entity id -> description text."""
    entities: dict[str, str] = {}
    for number, line in enumerate(_lines(path, task), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            entities[str(record["entity_id"])] = " ".join(str(record["description"]).split())
        except json.JSONDecodeError as exc:
            raise HarnessError(f"'{path}' line {number} is not valid JSON ({exc.msg}).") from exc
        except (KeyError, TypeError) as exc:
            raise HarnessError(
                f"'{path}' line {number} is not a Mewsli-X Entity (needs entity_id and "
                f"description): {exc}."
            ) from exc
    return entities

"""Mewsli-X in miniature: the published archive ``mewsli-x_20220518_6.zip`` (members at its
root: ``<lang>/{mentions,docs}.tsv``, ``candidate_set_entities.jsonl``,
``wikinews_mentions_no_text-{dev,test}.jsonl``, ``wikipedia_pairs-{dev,train}.jsonl``) and the
``wikinews_mentions-{dev,test}.jsonl`` that ``get-mewsli-x.sh`` writes after restoring the
article text; records follow the publisher's ``mewsli_x/schema.py`` ``to_json`` layouts.
``every_language=True`` gives each of the eleven languages dev and test articles (for the
paper-smoke run; the added ones reuse the Helsinki article's sentences in their language's
document: the format is what is tested)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.fetch_fixtures.copa import write_zip

#: entity id -> (title, description, description language)
ENTITIES = {
    "Q1757": ("Helsinki", "Helsinki is the capital of Finland.", "en"),
    "Q1726": ("Munich", "München ist die Landeshauptstadt Bayerns.", "de"),
    "Q3630": ("Jakarta", "Jakarta adalah ibu kota Indonesia.", "id"),
    "Q90": ("Paris", "Paris is the capital of France.", "en"),
    "Q64": ("Berlin", "Berlin is the capital of Germany.", "en"),
    "Q84": ("London", "London is the capital of the United Kingdom.", "en"),
}

#: split -> [(language, curid, title, sentences, [(example id, surface, entity id)])]
Article = tuple[str, str, str, list[str], list[tuple[str, str, str]]]
WIKINEWS: dict[str, list[Article]] = {
    "dev": [
        ("en", "34985", "Transit strike in Helsinki",
         ["Transit strike in Helsinki", "Bus drivers in Helsinki went on strike on Sunday."],
         [("m-en-1", "Helsinki", "Q1757")]),
        ("ar", "13828", "زيارة إلى جاكرتا",
         ["زيارة إلى جاكرتا", "وصل الوزير إلى جاكرتا يوم الخميس.", "ثم سافر إلى باريس."],
         [("m-ar-1", "جاكرتا", "Q3630"), ("m-ar-2", "باريس", "Q90")]),
    ],
    "test": [
        ("de", "90210", "Streik in München",
         ["Streik in München", "In München streikten am Montag die Busfahrer."],
         [("m-de-1", "München", "Q1726")]),
        ("ar", "14001", "أمطار في جاكرتا",
         ["أمطار في جاكرتا", "هطلت أمطار غزيرة على جاكرتا."],
         [("m-ar-3", "جاكرتا", "Q3630")]),
    ],
}  # fmt: skip

#: split -> [(page entity id, page title, sentences, example id, surface, entity id)]
PAIRS: dict[str, list[tuple[str, str, list[str], str, str, str]]] = {
    "train": [
        ("Q64", "Berlin", ["Berlin is smaller than London.", "It borders Brandenburg."],
         "p-1", "London", "Q84"),
        ("Q84", "London", ["London lies on the Thames.", "Paris is across the Channel."],
         "p-2", "Paris", "Q90"),
    ],
    "dev": [
        ("Q90", "Paris", ["Paris is twinned with Rome.", "Berlin is further east."],
         "p-3", "Berlin", "Q64"),
    ],
}  # fmt: skip


def _spans(sentences: list[str], sep: str) -> tuple[str, list[dict[str, int]]]:
    text = sep.join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        start = text.index(sentence, at)
        spans.append({"start": start, "end": start + len(sentence)})
        at = start + len(sentence)
    return text, spans


def _entity(qid: str) -> dict[str, Any]:
    title, description, lang = ENTITIES[qid]
    return {
        "entity_id": qid,
        "title": title,
        "description": description,
        "description_language": lang,
        "description_url": f"https://{lang}.wikipedia.org/wiki/{title}",
        "sentence_spans": [{"start": 0, "end": len(description)}],
    }


def _mention(example_id: str, surface: str, text: str, qid: str, at: int) -> dict[str, Any]:
    start = text.index(surface, at)
    return {
        "example_id": example_id,
        "mention_span": {"start": start, "end": start + len(surface), "text": surface},
        "entity_id": qid,
    }


def _wikinews(
    split: str, keep_text: bool, wikinews: dict[str, list[Article]] | None = None
) -> list[dict[str, Any]]:
    out = []
    for lang, curid, title, sentences, mentions in (wikinews or WIKINEWS)[split]:
        text, spans = _spans(sentences, "\n\n" if lang == "en" else " ")
        md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
        rows = []
        for example_id, surface, qid in mentions:
            # the mention in the body, after the title sentence
            m = _mention(example_id, surface, text, qid, spans[1]["start"])
            m["metadata"] = {
                "curid": curid, "revid": "1" + curid, "text_md5": md5,
                "mention_url": f"http://{lang}.wikipedia.org/wiki/{ENTITIES[qid][0]}",
                "bin_name": "bin04_1000-inf",
            }  # fmt: skip
            rows.append(m)
        context = {
            "document_title": title,
            "document_url": f"https://{lang}.wikinews.org/wiki?curid={curid}",
            "document_id": f"{lang}-{curid}",
            "language": lang,
            "text": text if keep_text else "",
            "sentence_spans": spans,
        }
        out.append({"context": context, "mentions": rows})
    return out


def _pairs(split: str) -> list[dict[str, Any]]:
    out = []
    for page, title, sentences, example_id, surface, qid in PAIRS[split]:
        text, spans = _spans(sentences, " ")
        context = {
            "document_title": title,
            "document_url": f"https://en.wikipedia.org/wiki/{title}",
            "document_id": page,
            "language": "en",
            "text": text,
            "sentence_spans": spans,
            "section_title": "Geography",
        }
        mention = _mention(example_id, surface, text, qid, 0)
        out.append({"contextual_mention": {"context": context, "mention": mention},
                    "entity": _entity(qid)})  # fmt: skip
    return out


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)


def _tsv(lang: str, wikinews: dict[str, list[Article]]) -> tuple[bytes, bytes]:
    docs = ["docid\ttitle\turl\tlanguage\tcurid\trevid\ttext_md5"]
    mentions = ["docid\texample_id\tmention\tposition\tlength\tentity_qid\turl"]
    for split in ("dev", "test"):
        for record in _wikinews(split, True, wikinews):
            c = record["context"]
            if c["language"] != lang:
                continue
            meta = record["mentions"][0]["metadata"]
            docs.append(
                f"{c['document_id']}\t{c['document_title']}\t{c['document_url']}\t{lang}\t"
                f"{meta['curid']}\t{meta['revid']}\t{meta['text_md5']}"
            )
            for m in record["mentions"]:
                span = m["mention_span"]
                mentions.append(
                    f"{c['document_id']}\t{m['example_id']}\t{span['text']}\t{span['start']}\t"
                    f"{span['end'] - span['start']}\t{m['entity_id']}\t"
                    f"{m['metadata']['mention_url']}"
                )
    return ("\n".join(mentions) + "\n").encode(), ("\n".join(docs) + "\n").encode()


LANGUAGES = ("ar", "de", "en")
#: the eleven languages of the published WikiNews mentions
ALL_LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")


def all_languages() -> dict[str, list[Article]]:
    """WIKINEWS with a dev and a test article for every language of ALL_LANGUAGES."""
    out = {split: list(articles) for split, articles in WIKINEWS.items()}
    _, _, title, sentences, _ = WIKINEWS["dev"][0]
    for split, articles in out.items():
        have = {article[0] for article in articles}
        for n, lang in enumerate(ALL_LANGUAGES):
            if lang not in have:
                curid = f"{7 if split == 'dev' else 8}{n:04d}"
                mentions = [(f"m-{lang}-{split}-1", "Helsinki", "Q1757")]
                articles.append((lang, curid, title, sentences, mentions))
    return out


def build(release: Path, every_language: bool = False) -> None:
    release.mkdir(parents=True, exist_ok=True)
    wikinews = all_languages() if every_language else WIKINEWS
    members: dict[str, bytes | None] = {}
    for lang in ALL_LANGUAGES if every_language else LANGUAGES:
        members[f"{lang}/mentions.tsv"], members[f"{lang}/docs.tsv"] = _tsv(lang, wikinews)
        if lang == "ar":
            members["candidate_set_entities.jsonl"] = _jsonl([_entity(q) for q in ENTITIES])
    for split in ("dev", "test"):
        members[f"wikinews_mentions_no_text-{split}.jsonl"] = _jsonl(
            _wikinews(split, False, wikinews)
        )
    for split in ("dev", "train"):
        members[f"wikipedia_pairs-{split}.jsonl"] = _jsonl(_pairs(split))
    write_zip(release / "mewsli-x_20220518_6.zip", members)
    for split in ("dev", "test"):
        (release / f"wikinews_mentions-{split}.jsonl").write_bytes(
            _jsonl(_wikinews(split, True, wikinews))
        )


COUNTS = {
    "candidate_set_entities.jsonl": len(ENTITIES),
    "wikinews_mentions-dev.jsonl": sum(len(a[4]) for a in WIKINEWS["dev"]),
    "wikinews_mentions-test.jsonl": sum(len(a[4]) for a in WIKINEWS["test"]),
    "wikipedia_pairs-dev.jsonl": len(PAIRS["dev"]),
    "wikipedia_pairs-train.jsonl": len(PAIRS["train"]),
}

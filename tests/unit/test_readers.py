"""Readers of the raw XTREME / XTREME-R formats, on fixtures in the exact source schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data.readers import (
    read_bucc,
    read_bucc_corpus,
    read_conllu,
    read_mewslix,
    read_mewslix_entities,
    read_panx,
    read_squad_json,
    read_tatoeba,
    read_tsv,
)
from harness.errors import HarnessError

CONLLU = """\
# newdoc id = doc1
# sent_id = es-1
# text = Voy al mercado.
1\tVoy\tir\tVERB\t_\tMood=Ind\t0\troot\t_\t_
2-3\tal\t_\t_\t_\t_\t_\t_\t_\t_
2\ta\ta\tADP\t_\t_\t4\tcase\t_\t_
3\tel\tel\tDET\t_\t_\t4\tdet\t_\t_
4\tmercado\tmercado\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No
4.1\tvoy\t_\t_\t_\t_\t_\t_\t0:root\t_
5\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# sent_id = es-2
1\tSí\tsí\tINTJ\t_\t_\t0\troot\t_\t_

"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_conllu_skips_ranges_and_empty_nodes(tmp_path: Path) -> None:
    rows = read_conllu(_write(tmp_path / "es.conllu", CONLLU), "udpos")
    assert rows == [
        {
            "id": "es-1",
            "tokens": ["Voy", "a", "el", "mercado", "."],
            "tags": ["VERB", "ADP", "DET", "NOUN", "PUNCT"],
        },
        {"id": "es-2", "tokens": ["Sí"], "tags": ["INTJ"]},
    ]


def test_conllu_bad_line_is_named(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.conllu", "1\tVoy\tir\tVERB\n")
    with pytest.raises(HarnessError, match=r"bad\.conllu' line 1 has 4 tab-separated columns"):
        read_conllu(bad, "udpos")


def test_panx_strips_the_language_prefix(tmp_path: Path) -> None:
    text = "de:Angela\tB-PER\nde:Merkel\tI-PER\nde:spricht\tO\n\nde:Berlin\tB-LOC\n"
    rows = read_panx(_write(tmp_path / "test", text), "panx", "de")
    assert [r["tokens"] for r in rows] == [["Angela", "Merkel", "spricht"], ["Berlin"]]
    assert rows[0]["tags"] == ["B-PER", "I-PER", "O"]
    # a token that itself holds ':' keeps everything after the prefix
    rows = read_panx(_write(tmp_path / "t2", "de:12:30\tO\n"), "panx", "de")
    assert rows[0]["tokens"] == ["12:30"]
    with pytest.raises(HarnessError, match=r"t3' line 2 is 'de:Berlin'"):
        read_panx(_write(tmp_path / "t3", "de:a\tO\nde:Berlin\n"), "panx", "de")


SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Beijing",
            "paragraphs": [
                {
                    "context": "北京是中国的首都。它有很多人。",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "中国的首都是哪里",
                            "answers": [{"text": "北京", "answer_start": 0}],
                        }
                    ],
                }
            ],
        }
    ],
}


def test_squad_json(tmp_path: Path) -> None:
    rows = read_squad_json(_write(tmp_path / "x.json", json.dumps(SQUAD)), "xquad")
    assert rows[0]["id"] == "q1"
    assert rows[0]["answers"] == {"text": ["北京"], "answer_start": [0]}
    assert rows[0]["target"] == SQUAD["data"][0]["paragraphs"][0]["context"]  # type: ignore[index]


def test_xquad_r_target_is_the_answer_sentence(tmp_path: Path) -> None:
    data = json.loads(json.dumps(SQUAD))
    paragraph = data["data"][0]["paragraphs"][0]
    paragraph["sentences"] = ["北京是中国的首都。", "它有很多人。"]
    paragraph["sentence_breaks"] = [[0, 9], [9, 15]]
    paragraph["qas"][0]["answers"][0]["answer_start"] = 10
    rows = read_squad_json(_write(tmp_path / "r.json", json.dumps(data)), "lareqa")
    assert rows[0]["query"] == "中国的首都是哪里"
    assert rows[0]["target"] == "它有很多人。"


def test_squad_json_errors(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"line 1 column 2 is not valid JSON"):
        read_squad_json(_write(tmp_path / "b.json", "{,}"), "xquad")
    bad = {"data": [{"paragraphs": [{"context": "c"}]}]}
    with pytest.raises(HarnessError, match=r"paragraphs\[0\] needs 'context' and 'qas'"):
        read_squad_json(_write(tmp_path / "c.json", json.dumps(bad)), "xquad")


def _bucc(tmp_path: Path, gold: str) -> Path:
    _write(tmp_path / "de-en.sample.de", "de-000001\tHallo Welt.\nde-000002\tGuten Tag.\n")
    _write(tmp_path / "de-en.sample.en", "en-000001\tGood day.\nen-000002\tHello world.\n")
    _write(tmp_path / "de-en.sample.gold", gold)
    return tmp_path / "de-en.sample"


def test_bucc_corpus_and_gold_pairs(tmp_path: Path) -> None:
    stem = _bucc(tmp_path, "de-000001\ten-000002\n")
    source, english, pairs = read_bucc_corpus(stem, "bucc2018", "de")
    assert len(source) == 2 and len(english) == 2 and pairs == [("de-000001", "en-000002")]
    rows = read_bucc(stem, "bucc2018", "de")
    assert rows == [
        {
            "id": "de-000001\ten-000002",
            "query": "Hallo Welt.",
            "target": "Hello world.",
            "query_id": "de-000001",
            "target_id": "en-000002",
        }
    ]
    stem = _bucc(tmp_path, "de-000009\ten-000002\n")
    with pytest.raises(HarnessError, match=r"gold' line 1: pair \(de-000009, en-000002\)"):
        read_bucc(stem, "bucc2018", "de")


def test_tatoeba_line_aligned(tmp_path: Path) -> None:
    _write(tmp_path / "tatoeba.deu-eng.deu", "Ich bin müde.\nDanke.\n")
    _write(tmp_path / "tatoeba.deu-eng.eng", "I am tired.\nThanks.\n")
    rows = read_tatoeba(tmp_path / "tatoeba.deu-eng", "tatoeba", "de")
    assert [(r["query"], r["target"], r["target_index"]) for r in rows] == [
        ("Ich bin müde.", "I am tired.", 0),
        ("Danke.", "Thanks.", 1),
    ]
    _write(tmp_path / "tatoeba.deu-eng.eng", "I am tired.\n")
    with pytest.raises(HarnessError, match="must be line-aligned"):
        read_tatoeba(tmp_path / "tatoeba.deu-eng", "tatoeba", "de")


def _context(language: str, text: str, spans: list[tuple[int, int]]) -> dict[str, object]:
    return {
        "document_title": "t",
        "document_url": "u",
        "document_id": "d",
        "language": language,
        "text": text,
        "sentence_spans": [{"start": s, "end": e} for s, e in spans],
    }


def test_mewslix_mentions_and_pairs(tmp_path: Path) -> None:
    de_text = "Es regnet. Merkel kam nach Paris."
    mention_de = {
        "context": _context("de", de_text, [(0, 10), (11, 33)]),
        "mention": {
            "example_id": "ex-de-1",
            "mention_span": {"start": 11, "end": 17, "text": "Merkel"},
            "entity_id": "Q567",
        },
    }
    mention_en = {
        "context": _context("en", "Hi there.", [(0, 9)]),
        "mention": {
            "example_id": "ex-en-1",
            "mention_span": {"start": 0, "end": 2, "text": "Hi"},
            "entity_id": "Q1",
        },
    }
    lines = [json.dumps(mention_de, ensure_ascii=False), json.dumps(mention_en)]
    rows = read_mewslix(_write(tmp_path / "m.jsonl", "\n".join(lines) + "\n"), "mewslix", "de")
    assert rows == [
        {
            "id": "ex-de-1",
            "query": "Merkel: { Merkel } kam nach Paris.",
            "entity_id": "Q567",
            "target": "Q567",
        }
    ]
    pair = {
        "contextual_mention": mention_en,
        "entity": {
            "entity_id": "Q1",
            "title": "Hi",
            "description": "A greeting.",
            "sentence_spans": [],
            "description_language": "en",
            "description_url": "u",
        },
    }
    rows = read_mewslix(_write(tmp_path / "p.jsonl", json.dumps(pair) + "\n"), "mewslix", "en")
    assert rows[0]["target"] == "A greeting." and rows[0]["query"] == "Hi: { Hi } there."
    entities = read_mewslix_entities(_write(tmp_path / "e.jsonl", json.dumps(pair["entity"])))
    assert entities == {"Q1": "A greeting."}
    broken = dict(mention_de, mention={"example_id": "x"})
    with pytest.raises(HarnessError, match=r"b\.jsonl' line 1 is not a Mewsli-X"):
        read_mewslix(_write(tmp_path / "b.jsonl", json.dumps(broken) + "\n"), "mewslix", "de")


def test_tsv_with_header(tmp_path: Path) -> None:
    text = 'id\tsentence1\tsentence2\tlabel\n1\tEr sagte "ja".\tSie sagte nein.\t0\n'
    rows = read_tsv(_write(tmp_path / "test_2k.tsv", text), "pawsx")
    assert rows == [
        {"id": "1", "sentence1": 'Er sagte "ja".', "sentence2": "Sie sagte nein.", "label": "0"}
    ]
    with pytest.raises(HarnessError, match="line 2 has 2 fields; the header has 4"):
        read_tsv(_write(tmp_path / "bad.tsv", "id\ta\tb\tc\n1\tx\n"), "pawsx")


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="upstream notes"):
        read_conllu(tmp_path / "nope.conllu", "udpos")

"""Scoring files in the XTREME submission layout, writing that layout, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import HarnessError
from harness.results.xtreme import (
    export_xtreme,
    score_files,
    score_folder,
    submission_path,
    write_predictions,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _squad(qas: dict[str, list[str]]) -> str:
    items = [
        {"id": q, "question": "?", "answers": [{"text": a} for a in ans]} for q, ans in qas.items()
    ]
    return json.dumps({"version": "1.1", "data": [{"paragraphs": [{"context": "", "qas": items}]}]})


def test_classification_accuracy(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.tsv", "entailment\nneutral\ncontradiction\nneutral\n")
    pred = _write(tmp_path / "p.tsv", "entailment\r\nneutral\r\nneutral\r\n neutral \r\n")
    assert score_files("xnli", "de", pred, gold) == {"accuracy": 75.0}


def test_empty_label_line_is_named(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.tsv", "0\n1\n")
    pred = _write(tmp_path / "p.tsv", "0\n\n")
    with pytest.raises(HarnessError, match=r"p\.tsv' line 2 is empty"):
        score_files("pawsx", "de", pred, gold)


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.tsv", "0\n1\n")
    pred = _write(tmp_path / "p.tsv", "0\n1\n1\n")
    with pytest.raises(HarnessError, match=r"p\.tsv' has 3 lines, label file '.*g\.tsv' has 2"):
        score_files("pawsx", "de", pred, gold)


def _copa_line(label: object) -> str:
    record = {"premise": "P", "choice1": "A", "choice2": "B", "question": "cause", "idx": 0}
    return json.dumps({**record, "label": label}) + "\n"


def test_xcopa_is_scored_from_json_lines_as_the_reference_does(tmp_path: Path) -> None:
    """XTREME-R's XCOPA files are test-{lang}.jsonl: each line's 'label' compared as a JSON
    value (the label file is XCOPA's own test file; the string "1" is not the index 1)."""
    gold = _write(tmp_path / "g.jsonl", "".join(_copa_line(x) for x in (0, 1, 1, 0)))
    pred = _write(
        tmp_path / "p.jsonl", '{"label": 0}\n{"label": 1}\n{"label": "1"}\n{"label": 1}\n'
    )
    assert score_files("xcopa", "et", pred, gold) == {"accuracy": 50.0}
    assert submission_path(tmp_path, "xcopa", "et").name == "test-et.jsonl"
    written = write_predictions(tmp_path / "out", "xcopa", "et", ["0", "1", 1, "0"])
    assert written.read_text() == '{"label": 0}\n{"label": 1}\n{"label": 1}\n{"label": 0}\n'
    assert score_files("xcopa", "et", written, gold) == {"accuracy": 100.0}
    with pytest.raises(ValueError, match="not a choice index"):
        write_predictions(tmp_path / "out", "xcopa", "et", ["first"])
    bad = _write(tmp_path / "bad.jsonl", '{"label": 0}\n0\n')
    with pytest.raises(HarnessError, match=r"bad\.jsonl' line 2 has no 'label'"):
        score_files("xcopa", "et", bad, gold)
    broken = _write(tmp_path / "broken.jsonl", '{"label": 0\n')
    with pytest.raises(HarnessError, match=r"broken\.jsonl' line 1 is not JSON"):
        score_files("xcopa", "et", broken, gold)
    short = _write(tmp_path / "short.jsonl", '{"label": 0}\n')
    with pytest.raises(HarnessError, match=r"has 1 lines, label file .* has 4"):
        score_files("xcopa", "et", short, gold)


def test_xtreme_r_folder_groups_and_languages_are_the_references(tmp_path: Path) -> None:
    """XNLI and XCOPA make XTREME-R's classification group, XCOPA alone its multi_choice group,
    and XQuAD needs Romanian there (not in XTREME)."""
    from harness.metrics.benchmark import languages

    preds, labels = tmp_path / "preds", tmp_path / "labels"
    for lang in languages("xcopa", "xtreme_r"):
        _write(submission_path(labels, "xcopa", lang), _copa_line(1) + _copa_line(0))
        _write(submission_path(preds, "xcopa", lang), '{"label": 1}\n{"label": 1}\n')
    for lang in languages("xnli", "xtreme_r"):
        _write(submission_path(labels, "xnli", lang), "neutral\n")
        _write(submission_path(preds, "xnli", lang), "neutral\n")
    summary, detailed = score_folder(preds, labels, "xtreme_r")
    assert detailed["xcopa"]["avg_metric"] == pytest.approx(50.0)
    assert summary == {"classification": pytest.approx(75.0), "multi_choice": pytest.approx(50.0)}
    assert "ro" in languages("xquad", "xtreme_r") and "ro" not in languages("xquad", "xtreme")
    for lang in languages("xquad", "xtreme"):
        _write(submission_path(labels, "xquad", lang), _squad({"q": ["Paris"]}))
        _write(submission_path(preds, "xquad", lang), json.dumps({"q": "Paris"}))
    assert score_folder(preds, labels, "xtreme")[1]["xquad"]["avg_metric"] == 100.0
    with pytest.raises(HarnessError, match=r"xquad/test-ro\.json' does not exist"):
        score_folder(preds, labels, "xtreme_r")


def test_tagging_f1_and_errors(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.tsv", "B-PER\nI-PER\nO\n\nB-LOC\nO\n")
    pred = _write(tmp_path / "p.tsv", "B-PER\nI-PER\nO\n\nB-ORG\nO\n\n")
    scores = score_files("panx", "de", pred, gold)
    # 1 of 2 predicted entities right, 1 of 2 gold found
    assert scores["f1"] == pytest.approx(50.0)
    assert scores["precision"] == pytest.approx(50.0)
    bad = _write(tmp_path / "bad.tsv", "B-PER\nI-PER\nO\n\nB-LOC\n")
    with pytest.raises(HarnessError, match=r"sentence 2 \(from line 5\) has 1 tags"):
        score_files("panx", "de", bad, gold)
    tokens = _write(tmp_path / "tok.tsv", "John B-PER\n")
    with pytest.raises(HarnessError, match=r"tok\.tsv' line 1 holds 'John B-PER'"):
        score_files("udpos", "de", tokens, gold)


def test_two_blank_lines_make_an_empty_sentence(tmp_path: Path) -> None:
    # as in the official reader: the prediction has 3 sentences, the labels 2
    gold = _write(tmp_path / "g.tsv", "NOUN\n\nVERB\n")
    pred = _write(tmp_path / "p.tsv", "NOUN\n\n\nVERB\n")
    with pytest.raises(HarnessError, match="has 3 sentences"):
        score_files("udpos", "en", pred, gold)


def test_bucc_pairs(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.tsv", "de-1\ten-1\nde-2\ten-2\n")
    pred = _write(tmp_path / "p.tsv", "de-1\ten-1\nde-1\ten-1\nde-3\ten-9\n")
    assert score_files("bucc2018", "de", pred, gold)["f1"] == pytest.approx(50.0)
    bad = _write(tmp_path / "bad.tsv", "de-1\ten-1\nde-2 en-2\n")
    with pytest.raises(HarnessError, match=r"bad\.tsv' line 2 is 'de-2 en-2'"):
        score_files("bucc2018", "de", bad, gold)


def test_qa_squad_and_mlqa(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.json", _squad({"q1": ["北京"], "q2": ["الكتاب"]}))
    pred = _write(tmp_path / "p.json", json.dumps({"q1": "北京市", "q2": "كتاب"}))
    # SQuAD: no partial credit for an unsegmented Chinese answer, no Arabic article
    assert score_files("xquad", "zh", pred, gold) == {"exact_match": 0.0, "f1": 0.0}
    # MLQA zh: q1 F1 0.8 (one token per character); q2 scores 0 (zh removes no 'ال')
    mlqa = score_files("mlqa", "zh", pred, gold)
    assert mlqa["exact_match"] == 0.0
    assert mlqa["f1"] == pytest.approx(40.0)
    # MLQA ar: q2 is an exact match; q1 stays one token
    assert score_files("mlqa", "ar", pred, gold) == {"exact_match": 50.0, "f1": 50.0}


def test_qa_file_errors(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.json", _squad({"q1": ["a"]}))
    broken = _write(tmp_path / "p.json", '{\n  "q1": "a",\n}\n')
    with pytest.raises(HarnessError, match=r"p\.json' line 3 column 1 is not valid JSON"):
        score_files("tydiqa", "en", broken, gold)
    listy = _write(tmp_path / "l.json", json.dumps({"q1": ["a"]}))
    with pytest.raises(HarnessError, match="answer of question 'q1' is list"):
        score_files("tydiqa", "en", listy, gold)
    bad_gold = _write(tmp_path / "bg.json", json.dumps({"data": [{"paragraphs": [{}]}]}))
    with pytest.raises(HarnessError, match="not in SQuAD format"):
        score_files("tydiqa", "en", listy, bad_gold)
    with pytest.raises(HarnessError, match="does not exist"):
        score_files("tydiqa", "en", tmp_path / "missing.json", gold)


def test_rankings(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.json", json.dumps({"m1": ["Q1"], "m2": ["Q2"]}))
    pred = _write(tmp_path / "p.json", json.dumps({"m1": ["Q3", "Q1"], "m2": ["Q2"]}))
    assert score_files("mewslix", "de", pred, gold) == {"map@20": pytest.approx(75.0)}
    many = _write(tmp_path / "lg.json", json.dumps({"q": ["a", "b"]}))
    ranked = _write(tmp_path / "lp.json", json.dumps({"q": ["a", "x", "b"]}))
    # (1/1 + 2/3) / 2
    assert score_files("lareqa", "de", ranked, many)["map@20"] == pytest.approx(250 / 3)
    bad = _write(tmp_path / "bad.json", json.dumps({"m1": "Q1"}))
    with pytest.raises(HarnessError, match="must be a list of id strings"):
        score_files("mewslix", "de", bad, gold)


def test_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="Unknown XTREME task 'xnlii'"):
        score_files("xnlii", "de", tmp_path, tmp_path)


def _bucc_and_pawsx(root: Path, wrong: bool) -> None:
    from harness.metrics.benchmark import languages

    for lang in languages("pawsx", "xtreme"):
        _write(
            submission_path(root, "pawsx", lang), "1\n0\n" if wrong and lang == "de" else "1\n1\n"
        )
    for lang in languages("bucc2018", "xtreme"):
        _write(submission_path(root, "bucc2018", lang), f"{lang}-1\ten-1\n")


def test_score_folder_and_cli(tmp_path: Path) -> None:
    preds, labels = tmp_path / "preds", tmp_path / "labels"
    _bucc_and_pawsx(preds, wrong=True)
    _bucc_and_pawsx(labels, wrong=False)
    summary, detailed = score_folder(preds, labels, "xtreme")
    # PAWS-X: de 50, the six others 100
    assert detailed["pawsx"]["accuracy"]["de"] == 50.0
    assert detailed["pawsx"]["avg_metric"] == pytest.approx((50 + 600) / 7)
    assert detailed["bucc2018"]["avg_metric"] == 100.0
    # incomplete groups and benchmark: no group or overall score
    assert summary == {}
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["score", "--task", "pawsx", "--language", "de", "--predictions", str(preds),
         "--labels", str(labels), "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"accuracy": 50.0}
    out = runner.invoke(app, ["score", "--predictions", str(preds), "--labels", str(labels)])
    assert out.exit_code == 0, out.output
    assert "pawsx: avg_accuracy=92.86" in out.output


def test_write_and_export_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "predictions"
    rows = {
        "xnli/de": [{"id": "0", "prediction": "neutral"}, {"id": "1", "prediction": "entailment"}],
        "panx/de": [{"id": "0", "prediction": ["B-PER", "O"]}, {"id": "1", "prediction": ["O"]}],
        "mlqa/zh": [{"id": "q1", "prediction": "北京"}],
        "bucc2018/fr": [{"id": "0", "prediction": ["fr-1", "en-2"]}],
        "mewslix/ja": [{"id": "m1", "prediction": ["Q1", "Q2"]}],
    }
    for key, items in rows.items():
        _write(
            source / f"{key}.jsonl",
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items),
        )
    written = export_xtreme(source, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "bucc2018/test-fr.tsv",
        "mewslix/test-ja.json",
        "mlqa/test-zh.json",
        "panx/test-de.tsv",
        "xnli/test-de.tsv",
    ]
    out = tmp_path / "out"
    assert (out / "panx/test-de.tsv").read_text() == "B-PER\nO\n\nO\n\n"
    # the written files score perfectly against labels with the same content
    gold = _write(tmp_path / "g/mlqa.json", _squad({"q1": ["北京"]}))
    assert score_files("mlqa", "zh", out / "mlqa/test-zh.json", gold)["exact_match"] == 100.0
    xnli_gold = _write(tmp_path / "g/xnli.tsv", "neutral\nentailment\n")
    assert score_files("xnli", "de", out / "xnli/test-de.tsv", xnli_gold) == {"accuracy": 100.0}
    panx_gold = _write(tmp_path / "g/panx.tsv", "B-PER\nO\n\nO\n")
    assert score_files("panx", "de", out / "panx/test-de.tsv", panx_gold)["f1"] == 100.0


def test_write_refuses_bad_predictions(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a one-line label"):
        write_predictions(tmp_path, "xnli", "de", ["neutral", ""])
    with pytest.raises(ValueError, match="holds spaces"):
        write_predictions(tmp_path, "panx", "de", [["B PER"]])
    _write(tmp_path / "src/xnli/de.jsonl", '{"id": "0"}\n')
    with pytest.raises(HarnessError, match=r"de\.jsonl' line 1 must be an object"):
        export_xtreme(tmp_path / "src", tmp_path / "out")


def test_cli_export_xtreme_needs_predictions(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["export", "--out", str(tmp_path), "--format", "xtreme"])
    assert out.exit_code != 0


def test_xtreme_r_folder_retrieval_group(tmp_path: Path) -> None:
    from harness.metrics.benchmark import languages

    preds, labels = tmp_path / "preds", tmp_path / "labels"
    for task in ("mewslix", "lareqa"):
        for lang in languages(task, "xtreme_r"):
            _write(submission_path(labels, task, lang), json.dumps({"q": ["a"]}))
            ranked = ["b", "a"] if task == "lareqa" else ["a"]
            _write(submission_path(preds, task, lang), json.dumps({"q": ranked}))
    for lang in languages("tatoeba", "xtreme_r"):
        _write(submission_path(labels, "tatoeba", lang), "0\n1\n")
        _write(submission_path(preds, "tatoeba", lang), "0\n0\n")
    summary, detailed = score_folder(preds, labels, "xtreme_r")
    assert detailed["mewslix"]["avg_metric"] == 100.0
    assert detailed["lareqa"]["avg_metric"] == pytest.approx(50.0)
    assert detailed["tatoeba"]["avg_metric"] == pytest.approx(50.0)
    # the reference evaluator's XTREME-R retrieval group is Tatoeba and Mewsli-X (LAReQA,
    # scored here, is in none of its groups); the benchmark is not complete
    assert summary == {"retrieval": pytest.approx(150 / 2)}
    # BUCC is not part of XTREME-R, so its folder is ignored there
    _write(submission_path(preds, "bucc2018", "de"), "de-1\ten-1\n")
    assert "bucc2018" not in score_folder(preds, labels, "xtreme_r")[1]


def test_mlqa_language_must_be_an_mlqa_language(tmp_path: Path) -> None:
    gold = _write(tmp_path / "g.json", _squad({"q": ["a"]}))
    with pytest.raises(HarnessError, match="not for 'fr'"):
        score_files("mlqa", "fr", gold, gold)


def test_cli_export_xtreme_writes_the_layout(tmp_path: Path) -> None:
    source = tmp_path / "predictions"
    _write(source / "tatoeba/de.jsonl", '{"id": "0", "prediction": 3}\n')
    out = CliRunner().invoke(
        app,
        ["export", "--out", str(tmp_path / "sub"), "--format", "xtreme",
         "--predictions", str(source)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (tmp_path / "sub/tatoeba/test-de.tsv").read_text() == "3\n"
    assert "tatoeba/test-de.tsv" in out.output

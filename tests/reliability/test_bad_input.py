"""Bad input (issue 22) never escapes as a traceback and is never silently accepted: result and
difficulty files with the values that lax parsers let through, parameters and specs with
repeated keys, ingest inputs named twice, and a ``--db`` that is not a results database.
``harness validate`` and ``harness ingest`` apply the same checks: a file one refuses, the other
refuses too, and a file validate accepts always ingests."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.results.schema import read_difficulty_file
from harness.results.store import ingest
from harness.results.validate import validate_files
from harness.results.xtreme import export_xtreme
from tests.conftest import REPO
from tests.reliability.conftest import harness
from tests.reliability.test_stored_results import _runs
from tests.unit.test_store import LANGS, SPECS, result
from tests.unit.test_validate import _set

CODES = [lang["code"] for lang in LANGS]


# (case, how the file is damaged: a function of the parsed file or the raw text, message)
RESULT_CASES: list[tuple[str, Any, str]] = [
    ("boolean score", _set("scores.0.value", True), "scores.0.value"),
    ("string score", _set("scores.0.value", "0.5"), "scores.0.value"),
    ("boolean seed", _set("seed", True), "seed"),
    ("seed beyond INTEGER", _set("seed", 2**40), "seed"),
    ("n_examples beyond INTEGER", _set("scores.1.n_examples", 2**40), "scores.1.n_examples"),
    ("negative n_examples", _set("scores.1.n_examples", -1), "scores.1.n_examples"),
    ("ISO week date", _set("provenance.started_at", "2026-W49-3"), "provenance.started_at"),
    ("basic-form time", _set("provenance.finished_at", "20261202T153959"), "finished_at"),
    ("time without offset", _set("provenance.started_at", "2026-12-02T15:39:59"), "started_at"),
    ("lone surrogate", _set("model", "m\ud800"), "lone surrogate"),
    ("deep nesting", _set("provenance.hardware", json.loads("[" * 80 + "]" * 80)), "levels deep"),
    ("very deep nesting", "[" * 200_000 + "]" * 200_000, "levels deep"),
    ("duplicated key", "DUPLICATE", "the key 'value' is given twice"),
    ("Infinity score", _set("scores.0.value", float("inf")), "Infinity is not a number"),
]


def _damaged(folder: Path, case: str, how: Any) -> Path:
    path = folder / f"{case.replace(' ', '_')}.json"
    data = copy.deepcopy(result("toy_relational"))
    if how == "DUPLICATE":
        text = json.dumps(data).replace('"value": ', '"value": 0.1, "value": ', 1)
    elif isinstance(how, str):
        text = how
    else:
        how(data)
        # lone surrogates: json.dumps escapes them (\ud800), as a hostile writer would
        text = json.dumps(data)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("case", "how", "needle"), RESULT_CASES, ids=[c[0] for c in RESULT_CASES])
def test_validate_and_ingest_refuse_the_same_result_files(
    tmp_path: Path, case: str, how: Any, needle: str
) -> None:
    bad = _damaged(tmp_path, case, how)
    report = validate_files([bad], CODES, SPECS)
    assert list(report.problems) == [bad], case
    assert needle in report.as_text(bad)
    db = tmp_path / "r.duckdb"
    with pytest.raises(HarnessError, match="failed validation; nothing was written"):
        ingest(db, [bad], LANGS, SPECS)
    assert not db.exists() or _runs(db) == set()


def test_a_file_validate_accepts_ingests(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(result("toy_relational")), encoding="utf-8")
    assert validate_files([good], CODES, SPECS).ok
    assert ingest(tmp_path / "r.duckdb", [good], LANGS, SPECS)["added"] == 1


def test_a_result_file_that_is_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    report = validate_files([link], CODES, SPECS)
    assert "is not a regular file" in report.as_text(link)


# --------------------------------------------------------------------------------------------
# difficulty files

DIFFICULTY = {"task": "toy_lexical", "model": "m", "seed": 1, "measures": {"neg_mean_pvi": -0.8}}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (json.dumps(DIFFICULTY).replace('"seed": 1', '"seed": Infinity'), "Infinity is not"),
        (json.dumps({**DIFFICULTY, "seed": "3"}), "seed"),
        (json.dumps({**DIFFICULTY, "seed": 2.7}), "seed"),
        (json.dumps({**DIFFICULTY, "seed": 2**40}), "seed"),
        (json.dumps({**DIFFICULTY, "measures": {"neg_mean_pvi": True}}), "measures.neg_mean_pvi"),
        (json.dumps({**DIFFICULTY, "measures": {}}), "measures"),
        (json.dumps({**DIFFICULTY, "task": 5}), "task"),
        ("[" * 100_000 + "]" * 100_000, "levels deep"),
        (json.dumps(DIFFICULTY)[:-1] + ', "seed": 2}', "the key 'seed' is given twice"),
    ],
)
def test_difficulty_files_are_read_strictly(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "toy_lexical.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HarnessError, match="Difficulty file") as info:
        read_difficulty_file(path)
    assert needle in str(info.value)


def test_a_valid_difficulty_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "toy_lexical.json"
    path.write_text(json.dumps({**DIFFICULTY, "schema_version": 1}), encoding="utf-8")
    assert read_difficulty_file(path) == [("toy_lexical", "neg_mean_pvi", -0.8, "m", 1)]


# --------------------------------------------------------------------------------------------
# parameters, specs and predictions


def test_a_parameters_file_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    text = (REPO / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(text + "\nseed: 14\n", encoding="utf-8")
    run = harness("tasks", "list", cwd=tmp_path)
    assert run.returncode == 2
    assert "the key 'seed' is given twice in one mapping" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr


def test_a_submitted_spec_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    from harness.stages.submit import read_submitted_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text("name: my_task\nkind: classification\nname: other\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="the key 'name' is given twice"):
        read_submitted_spec(spec)


def test_a_prediction_line_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "predictions" / "xnli"
    folder.mkdir(parents=True)
    (folder / "en.jsonl").write_text(
        '{"id": "0", "prediction": "entailment"}\n'
        '{"id": "1", "prediction": "entailment", "prediction": "neutral"}\n',
        encoding="utf-8",
    )
    with pytest.raises(HarnessError, match="line 2 is refused: the key 'prediction'"):
        export_xtreme(tmp_path / "predictions", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# ingest's inputs and its --db


def _project(root: Path) -> Path:
    (root / "data" / "toy").mkdir(parents=True)
    (root / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root


def test_a_file_named_twice_is_ingested_once(tmp_path: Path) -> None:
    """The same file named twice, through its folder and by name, through a symlink, and a copy
    of it: one run is stored, nothing is quarantined, exit 0."""
    root = _project(tmp_path)
    cells = root / "cells"
    cells.mkdir()
    (cells / "a.json").write_text(json.dumps(result(None)), encoding="utf-8")
    shutil.copy(cells / "a.json", root / "copy.json")
    (root / "link.json").symlink_to(cells / "a.json")
    run = harness(
        "ingest", "cells/a.json", "cells/a.json", "cells", "link.json", "copy.json",
        "--db", "x.duckdb", cwd=root,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"added": 1' in run.stderr and '"quarantined": 0' in run.stderr
    assert (cells / "a.json").is_file() and not (root / "results" / "quarantine").exists()
    assert _runs(root / "x.duckdb") == {"m/none/toy_nli/s1"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"hello, not a database\n" * 10, "is not a results database (not a DuckDB file)"),
        (b"", "is an empty file, not a results database"),
        ("TABLES", "is a DuckDB database but not an xtransfer results database"),
    ],
)
def test_a_db_that_is_not_a_results_database_is_named_as_such(
    tmp_path: Path, content: bytes | str, needle: str
) -> None:
    import duckdb

    root = _project(tmp_path)
    (root / "a.json").write_text(json.dumps(result(None)), encoding="utf-8")
    db = root / "other.duckdb"
    if content == "TABLES":
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE mine (x INTEGER)")
        con.close()
    else:
        assert isinstance(content, bytes)
        db.write_bytes(content)
    before = db.read_bytes()
    run = harness("ingest", "a.json", "--db", str(db), cwd=root)
    assert run.returncode == 2
    assert needle in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr
    assert db.read_bytes() == before
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".other")) == []


@pytest.mark.parametrize("out", ["", ".", ".."])
def test_an_output_folder_that_would_replace_the_current_one_is_refused(
    tmp_path: Path, out: str
) -> None:
    """Stages replace their output folder whole: ``--out .`` must not replace the project."""
    root = _project(tmp_path / "w")
    before = sorted(p.name for p in root.iterdir())
    run = harness("pretrain", "--out", out, cwd=root)
    assert run.returncode == 2, run.stderr
    assert "names the current folder or one above it" in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in root.iterdir()) == before


def test_error_messages_print_as_written(tmp_path: Path) -> None:
    """Square brackets in a message are text, not console markup, and a long path is not
    folded."""
    folder = tmp_path / ("p" * 90) / "bucc2018"
    folder.mkdir(parents=True)
    (folder / "de.jsonl").write_text('{"id": "0", "prediction": ["de-1"]}\n', encoding="utf-8")
    run = harness(
        "export", "--format", "xtreme", "--predictions", str(folder.parent),
        "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "not a [source id, English id] pair" in run.stderr
    assert str(folder / "de.jsonl") in run.stderr


def test_an_interrupt_inside_the_ingest_transaction_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (KeyboardInterrupt) while the batch's rows are being inserted: the database is
    byte-identical, no working copy is left, and the same ingest then completes."""
    import harness.results.store as store

    first = tmp_path / "first.json"
    first.write_text(json.dumps(result(None)), encoding="utf-8")
    db = tmp_path / "r.duckdb"
    ingest(db, [first], LANGS, SPECS)
    before = db.read_bytes()
    second = tmp_path / "second.json"
    second.write_text(json.dumps(result("toy_lexical")), encoding="utf-8")

    real = store.refresh_cell_means

    def interrupted(con: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "refresh_cell_means", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(db, [second], LANGS, SPECS)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "first.json",
        "r.duckdb",
        "r.duckdb.lock",
        "second.json",
    ]  # the lock file stays by design
    monkeypatch.setattr(store, "refresh_cell_means", real)
    assert ingest(db, [second], LANGS, SPECS)["added"] == 1


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("seed: 13", "seed: true", "seed: True is a boolean, not a number"),
        ("  epochs: 8", "  epochs: yes", "epochs: True is a boolean, not a number"),
    ],
)
def test_a_boolean_for_a_number_in_parameters_is_refused(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    """YAML's ``true``/``yes`` given for a number: lax pydantic would read 1."""
    text = (REPO / "params.yaml").read_text(encoding="utf-8")
    assert old in text.splitlines()
    (tmp_path / "params.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    run = harness("tasks", "list", cwd=tmp_path)
    assert run.returncode == 2
    assert needle in run.stderr and "Traceback" not in run.stderr

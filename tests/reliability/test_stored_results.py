"""Stored results are never lost (issue 23): ``dvc repro`` keeps the database and the runs
ingested outside the pipeline, a symlinked ``--db`` is written through to its target, a
write-ahead log left by a killed writer is merged rather than dropped, and the XTREME export
refuses predictions of the wrong type. (Resuming a checkpoint of another compute context:
``test_resume.py``.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import HarnessError
from harness.results.store import connect_readonly
from harness.results.xtreme import export_xtreme
from tests.conftest import REPO
from tests.reliability.conftest import harness
from tests.unit.test_store import LANGS, result


def _project(root: Path) -> Path:
    (root / "data" / "toy").mkdir(parents=True)
    (root / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root


def _result(model: str, intermediate: str | None = None, base: float = 0.5) -> dict[str, Any]:
    data = result(intermediate, base=base)
    data["model"] = model
    return data


def _write_batch(folder: Path, models: list[str], base: float = 0.5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for model in models:
        (folder / f"{model}.json").write_text(json.dumps(_result(model, base=base)))


def wal_path(db: Path) -> Path:
    """DuckDB's write-ahead log beside ``db`` (its naming, independent of the harness's)."""
    return db.with_name(db.name + ".wal")


def _runs(db: Path) -> set[str]:
    con = connect_readonly(db)
    try:
        return {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# 1. `dvc repro` keeps the database


def _ingest_stage() -> dict[str, Any]:
    """The repository's ingest stage, as dvc.yaml defines it, without the code deps (this
    workspace has no harness/ folder: the command runs the installed harness)."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["ingest"]
    stage["deps"] = [d for d in stage["deps"] if not str(d).startswith("harness")]
    return stage


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        # the stage command runs the `harness` script of this interpreter
        env={
            **os.environ,
            "DVC_NO_ANALYTICS": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
    )


def test_dvc_repro_keeps_the_database_and_runs_ingested_by_hand(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _dvc(root, "init", "--no-scm", "-q").returncode == 0
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"ingest": _ingest_stage()}}))
    cells = root / "results" / "cells"
    _write_batch(cells, ["a", "b"])
    (root / "results" / "difficulty").mkdir(parents=True)
    measured = {"task": "toy_lexical", "model": "a", "seed": 1, "measures": {"neg_mean_pvi": -0.8}}
    (root / "results" / "difficulty" / "toy_lexical.json").write_text(json.dumps(measured))
    db = root / "results" / "xtransfer.duckdb"
    first = _dvc(root, "repro")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _runs(db) == {"a/none/toy_nli/s1", "b/none/toy_nli/s1"}

    # a run ingested by hand (another machine's result) is not the pipeline's to remove
    _write_batch(root / "elsewhere", ["c"])
    by_hand = harness("ingest", "elsewhere", "--db", str(db), cwd=root)
    assert by_hand.returncode == 0, by_hand.stderr

    # a pipeline cell changes: the stage reruns, replaces that run and keeps the other one
    (cells / "a.json").write_text(json.dumps(_result("a", base=0.45)))
    again = _dvc(root, "repro")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _runs(db) == {"a/none/toy_nli/s1", "b/none/toy_nli/s1", "c/none/toy_nli/s1"}
    con = connect_readonly(db)
    try:
        value = con.execute(
            "SELECT value FROM scores WHERE run_id = 'a/none/toy_nli/s1' AND language = 'en'"
        ).fetchone()
    finally:
        con.close()
    assert value == (pytest.approx(0.45),)

    # the stage fails (a corrupt result file): the database is still there, as it was
    (cells / "broken.json").write_text("{not json")
    failed = _dvc(root, "repro")
    assert failed.returncode != 0
    assert _runs(db) == {"a/none/toy_nli/s1", "b/none/toy_nli/s1", "c/none/toy_nli/s1"}


# --------------------------------------------------------------------------------------------
# 2. a symlinked --db


def test_ingests_through_a_symlink_and_its_target_keep_every_batch(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write_batch(root / "first", ["a0", "a1"])
    assert harness("ingest", "first", "--db", "x.duckdb", cwd=root).returncode == 0
    (root / "alias.duckdb").symlink_to("x.duckdb")
    _write_batch(root / "direct", [f"d{i}" for i in range(30)])
    _write_batch(root / "linked", [f"l{i}" for i in range(30)])
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "harness", "ingest", batch, "--db", db],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch, db in (("direct", "x.duckdb"), ("linked", "alias.duckdb"))
    ]
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert (root / "alias.duckdb").is_symlink()
    assert os.readlink(root / "alias.duckdb") == "x.duckdb"
    assert len(_runs(root / "x.duckdb")) == 2 + 30 + 30
    assert _runs(root / "alias.duckdb") == _runs(root / "x.duckdb")


def test_a_dangling_symlink_db_is_created_at_its_target(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "stored").mkdir()
    (root / "alias.duckdb").symlink_to("stored/real.duckdb")
    _write_batch(root / "batch", ["a"])
    done = harness("ingest", "batch", "--db", "alias.duckdb", cwd=root)
    assert done.returncode == 0, done.stderr
    assert (root / "alias.duckdb").is_symlink() and (root / "stored/real.duckdb").is_file()
    assert _runs(root / "alias.duckdb") == {"a/none/toy_nli/s1"}


# --------------------------------------------------------------------------------------------
# 3. a write-ahead log left by a killed writer

KILLED_WRITER = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("PRAGMA disable_checkpoint_on_shutdown")
con.execute("INSERT INTO difficulty VALUES ('toy_lexical', 'baseline_error', 'm', 1, 0.125)")
os._exit(0)  # killed: no checkpoint, no close
"""


def test_a_wal_left_by_a_killed_writer_is_merged_not_dropped(tmp_path: Path) -> None:
    root = _project(tmp_path)
    db = root / "x.duckdb"
    _write_batch(root / "first", ["a"])
    assert harness("ingest", "first", "--db", str(db), cwd=root).returncode == 0
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db)], check=True, timeout=60)
    assert wal_path(db).is_file()  # the committed row lives only in the log

    _write_batch(root / "second", ["b"])
    done = harness("ingest", "second", "--db", str(db), cwd=root)
    assert done.returncode == 0, done.stderr
    assert not wal_path(db).exists()
    con = connect_readonly(db)  # readers work: no stale log beside the new file
    try:
        kept = con.execute("SELECT value FROM difficulty WHERE task = 'toy_lexical'").fetchall()
        runs = {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()
    assert kept == [(0.125,)]
    assert runs == {"a/none/toy_nli/s1", "b/none/toy_nli/s1"}


def test_a_wal_that_cannot_be_replayed_is_refused_and_left_alone(tmp_path: Path) -> None:
    root = _project(tmp_path)
    db = root / "x.duckdb"
    _write_batch(root / "first", ["a"])
    assert harness("ingest", "first", "--db", str(db), cwd=root).returncode == 0
    wal_path(db).write_bytes(b"\x00garbage, not a DuckDB log" * 100)
    before = db.read_bytes()
    _write_batch(root / "second", ["b"])
    done = harness("ingest", "second", "--db", str(db), cwd=root)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "write-ahead log" in " ".join(done.stderr.split())
    assert db.read_bytes() == before and wal_path(db).is_file()


# --------------------------------------------------------------------------------------------
# 5. the XTREME export refuses wrongly typed predictions


@pytest.mark.parametrize(
    ("task", "prediction", "needle"),
    [
        ("xnli", {"label": "entailment"}, "is dict"),
        ("xnli", None, "is NoneType"),
        ("xnli", ["entailment"], "is list"),
        ("xcopa", True, "is bool"),
        ("panx", "B-PER", "is the string 'B-PER', not a list of tags"),
        ("panx", ["B-PER", None], "not a list of tag strings"),
        ("mlqa", 3, "not an answer text"),
        ("bucc2018", ["de-1"], "not a [source id, English id] pair"),
        ("mewslix", "Q1", "not a list of candidate ids"),
    ],
)
def test_export_refuses_a_wrongly_typed_prediction(
    tmp_path: Path, task: str, prediction: Any, needle: str
) -> None:
    source = tmp_path / "predictions"
    good = {"xnli": "neutral", "xcopa": "1", "panx": ["O"], "mlqa": "a", "bucc2018": ["a", "b"],
            "mewslix": ["Q2"]}[task]  # fmt: skip
    language = "zh" if task == "mlqa" else "de"
    (source / task).mkdir(parents=True)
    rows = [{"id": "0", "prediction": good}, {"id": "1", "prediction": prediction}]
    (source / task / f"{language}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (source / "xnli").mkdir(exist_ok=True)  # a valid file of another task: not written either
    if task != "xnli":
        (source / "xnli" / "fr.jsonl").write_text('{"id": "0", "prediction": "neutral"}\n')
    out = tmp_path / "submission"
    with pytest.raises(
        HarnessError, match=rf"{language}\.jsonl' line 2: the {task} prediction"
    ) as info:
        export_xtreme(source, out)
    assert needle in str(info.value)
    assert not out.exists()  # nothing written, not even the valid files


def test_an_empty_difficulty_folder_is_named_as_such(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write_batch(root / "cells", ["a"])
    (root / "difficulty").mkdir()
    run = harness("ingest", "cells", "--db", "x.duckdb", "--difficulty", "difficulty", cwd=root)
    assert run.returncode == 2
    assert "No difficulty files (*.json) in 'difficulty'" in run.stderr
    assert not (root / "x.duckdb").exists()


def test_the_leaderboard_warns_when_the_database_goes_between_its_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runs query finds the database; by the scores query it is gone (removed or being
    replaced): the page shows a warning, not a traceback."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import harness.results.views as views

    root = _project(tmp_path)
    _write_batch(root / "cells", ["a"])
    db = root / "x.duckdb"
    assert harness("ingest", "cells", "--db", str(db), cwd=root).returncode == 0

    def gone(*_: Any, **__: Any) -> Any:
        raise HarnessError(f"No results database at '{db}'; run `harness ingest` first.")

    monkeypatch.setattr(views, "load_scores", gone)
    st.cache_data.clear()
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(str(REPO / "leaderboard" / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    assert any("No results database" in w.value for w in app.warning)

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.results.export import EXPORTED, export
from harness.results.store import ingest
from tests.conftest import REPO
from tests.unit.test_store import LANGS, SPECS, result, write


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "r.duckdb"
    files = [
        write(tmp_path, "base", result(None, base=0.6)),
        write(tmp_path, "lex", result("toy_lexical", base=0.7)),
    ]
    ingest(path, files, LANGS, SPECS)
    return path


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_every_table_round_trips(db: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    written = export(db, out, fmt)  # type: ignore[arg-type]
    assert [p.name for p in written] == [f"{name}.{fmt}" for name in EXPORTED]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temp
    con = duckdb.connect(str(db), read_only=True)
    try:
        for path in written:
            stored = con.execute(f"SELECT count(*) FROM {path.stem}").fetchone()
            assert stored is not None and len(_read(path)) == stored[0] > 0, path.name
        expected = con.execute(
            "SELECT value FROM scores ORDER BY run_id, language, split, metric"
        ).fetchall()
    finally:
        con.close()
    scores = _read(out / f"scores.{fmt}")
    assert scores["value"].tolist() == pytest.approx([v for (v,) in expected])
    gains = _read(out / f"gains.{fmt}")
    lexical = gains[gains["intermediate_task"] == "toy_lexical"]
    assert lexical["gain"].tolist() == pytest.approx([0.1] * 5)


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="No results database"):
        export(tmp_path / "absent.duckdb", tmp_path / "out", "csv")
    assert not (tmp_path / "out").exists()


def test_cli_rejects_unknown_format(db: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "export",
            "--out",
            str(tmp_path / "o"),
            "--format",
            "xlsx",
            "--db",
            str(db),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "Unknown export format 'xlsx'" in out.stderr and "Traceback" not in out.stderr

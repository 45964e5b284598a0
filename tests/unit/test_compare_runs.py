"""The before/after comparison of two pipeline runs (tests/parity/compare_runs.py) finds a
changed score, a changed weight file and a changed database row, and nothing in equal runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from harness.results.store import migrate
from tests.parity.compare_runs import compare


def _workspace(root: Path) -> Path:
    cells = root / "results/cells"
    cells.mkdir(parents=True)
    result = {
        "run_id": "m/none/t/s1/abc", "primary_metric": "accuracy",
        "provenance": {"params_hash": "abc", "started_at": "x"},
        "scores": [{"language": "xx", "split": "test", "metric": "accuracy", "value": 0.5,
                    "n_examples": 4}],
    }  # fmt: skip
    (cells / "none-t-s1.json").write_text(json.dumps(result))
    (cells / "none-t-s1.examples.jsonl").write_text('{"stats": [[1.0]]}\n')
    (root / "models/phase2/none-t-s1").mkdir(parents=True)
    (root / "models/phase2/none-t-s1/model.safetensors").write_bytes(b"weights")
    con = duckdb.connect(str(root / "results/xtransfer.duckdb"))
    migrate(con, root / "results/xtransfer.duckdb")
    con.execute("INSERT INTO difficulty VALUES ('t', 'x', 'm', 1, 0.25)")
    con.close()
    return root


def test_equal_runs_have_no_difference(tmp_path: Path) -> None:
    a = _workspace(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    counts, diffs = compare(a, b)
    assert diffs == []
    assert counts["result files (scores, run id, params hash)"] == 1
    assert counts["DuckDB difficulty rows"] == 1


def test_a_changed_score_weight_and_row_are_reported(tmp_path: Path) -> None:
    a = _workspace(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    cell = b / "results/cells/none-t-s1.json"
    changed = json.loads(cell.read_text())
    changed["provenance"]["started_at"] = "y"  # provenance timestamps may differ
    cell.write_text(json.dumps(changed))
    assert compare(a, b)[1] == []
    changed["scores"][0]["value"] = 0.75
    cell.write_text(json.dumps(changed))
    (b / "models/phase2/none-t-s1/model.safetensors").write_bytes(b"other")
    with duckdb.connect(str(b / "results/xtransfer.duckdb")) as con:
        con.execute("UPDATE difficulty SET value = 0.5")
    diffs = compare(a, b)[1]
    assert any("none-t-s1.json differs" in d for d in diffs)
    assert any("model.safetensors differs" in d for d in diffs)
    assert any(d.startswith("DuckDB difficulty") for d in diffs)

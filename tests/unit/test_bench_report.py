"""The benchmark summary: rows recorded by the benchmarks, targets judged from the measured
numbers, one table printed by ``benchmarks/report.py`` (what ``nox -s bench`` ends with)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks._report import ENV, record

REPO = Path(__file__).resolve().parents[2]


def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = tmp_path / "rows.jsonl"
    monkeypatch.setenv(ENV, str(rows))
    return rows


def test_record_judges_value_and_ratio_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rows = recorded(tmp_path, monkeypatch)
    record("training", "tokens/s", 9000.0, "tok/s", baseline=6000.0, at_least=1.5,
           target_on="ratio")  # fmt: skip
    record("training", "tokens/s slow", 8000.0, "tok/s", baseline=6000.0, at_least=1.5,
           target_on="ratio")  # fmt: skip
    record("store", "p95", 51.0, "ms", at_most=50.0)
    record("store", "p95 fast", 12.5, "ms", at_most=50.0)
    record("pipeline", "peak memory", 0.8, "GiB")
    got = [json.loads(line) for line in rows.read_text().splitlines()]
    assert [r["met"] for r in got] == [True, False, False, True, None]
    assert got[0]["ratio"] == pytest.approx(1.5)
    assert got[1]["ratio"] == pytest.approx(8000 / 6000)
    assert got[2]["ratio"] is None and got[4]["baseline"] is None


def test_record_without_the_variable_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    record("store", "p95", 40.0, "ms", at_most=50.0)
    assert list(tmp_path.iterdir()) == []


def test_ratio_target_needs_a_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded(tmp_path, monkeypatch)
    with pytest.raises(ValueError, match="needs a baseline"):
        record("training", "tokens/s", 9000.0, "tok/s", at_least=1.5, target_on="ratio")
    with pytest.raises(ValueError, match="target_on"):
        record("training", "tokens/s", 9000.0, "tok/s", target_on="speed")


def test_report_prints_one_table_with_the_count_of_targets_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = recorded(tmp_path, monkeypatch)
    record("training (cpu, toy model)", "tokens/s", 22051.0, "tok/s", baseline=5948.0,
           at_least=1.5, target_on="ratio")  # fmt: skip
    record("results store", "ingest", 39774.0, "rows/s", at_least=50_000.0, note="first")
    record("toy pipeline", "sweep", 451.0, "s", at_most=600.0)
    record("toy pipeline", "peak memory", 0.8, "GiB")
    done = subprocess.run(
        [sys.executable, "benchmarks/report.py", str(rows)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].startswith("| benchmark | measure | result | baseline | ratio | target |")
    assert table[2] == (
        "| training (cpu, toy model) | tokens/s | 22,051 tok/s | 5,948 tok/s | 3.71x "
        "| >= 1.50x | yes |"
    )
    assert table[3] == (
        "| results store | ingest (first) | 39,774 rows/s |  |  | >= 50,000 rows/s | **no** |"
    )
    assert table[4] == "| toy pipeline | sweep | 451 s |  |  | <= 600 s | yes |"
    assert table[5] == "| toy pipeline | peak memory | 0.80 GiB |  |  |  |  |"
    assert "2 of 3 targets met." in lines
    assert any(line.startswith("Machine: ") for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No benchmark rows"),
        ("", "holds no benchmark rows"),
        ('{"bench": "x"}\n', "is not a recorded row"),
        ("not json\n", "is not a recorded row"),
    ],
)
def test_report_refuses_a_missing_or_broken_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    rows = tmp_path / "rows.jsonl"
    if content is not None:
        rows.write_text(content)
    with pytest.raises(SystemExit, match=message):
        report.read_rows(rows)

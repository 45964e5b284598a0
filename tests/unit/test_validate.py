"""Validation of result files (great-expectations) and quarantine on ingest."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.results.store import ingest
from harness.results.validate import validate_files
from tests.conftest import REPO
from tests.unit.test_store import LANGS, SPECS, dump, result, write

CODES = [lang["code"] for lang in LANGS]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets a dotted path (list indices as numbers) in a result."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node.pop(int(last))
        else:
            del node[last]

    return mutate


def _duplicate_row(data: dict[str, Any]) -> None:
    data["scores"].append(dict(data["scores"][0]))


# (kind of corruption, raw text or mutation, what the report must name)
CORRUPT: list[tuple[str, str | bytes | Callable[[dict[str, Any]], None], str]] = [
    ("truncated", '{"schema_version": 2, "run_id": "x", "sco', "not valid JSON"),
    ("empty file", "", "not valid JSON"),
    ("not UTF-8", b"\xff\xfe{}", "not valid JSON"),
    ("JSON array", "[1, 2]", "Input should be a valid dictionary"),
    ("missing field", _drop("target_task"), "target_task: Field required"),
    ("wrong type", _set("seed", "abc"), "seed: Input should be a valid integer"),
    ("unknown field", _set("surprise", 1), "surprise: Extra inputs are not permitted"),
    ("future schema", _set("schema_version", 9), "schema_version"),
    ("no scores", _set("scores", []), "scores: List should have at least 1 item"),
    ("value above 1", _set("scores.0.value", 1.5), "to_be_between(column='value'"),
    ("negative value", _set("scores.1.value", -0.2), "to_be_between(column='value'"),
    ("NaN value", _set("scores.2.value", math.nan), "NaN is not a number this harness accepts"),
    ("null value", _set("scores.2.value", None), "not_be_null(column='value')"),
    ("zero examples", _set("scores.0.n_examples", 0), "column='n_examples'"),
    ("unknown language", _set("scores.0.language", "zz"), "in_set(column='language'"),
    ("unknown split", _set("scores.0.split", "train"), "in_set(column='split'"),
    ("metric of another kind", _set("scores.0.metric", "exact_match"), "column='task_metric'"),
    ("unknown target", _set("target_task", "nope"), "column='target_task'"),
    ("unknown intermediate", _set("intermediate_task", "nope"), "column='intermediate_task'"),
    ("wrong primary metric", _set("primary_metric", "f1"), "column='primary_metric_matches'"),
    ("missing language", _drop("scores.4"), "coverage: expect_column_values_to_be_in_set"),
    ("duplicate score", _duplicate_row, "compound_columns_to_be_unique"),
    ("empty git commit", _set("provenance.git_commit", ""), "not_be_null(column='git_commit')"),
    ("no package versions", _set("provenance.packages", {}), "column='has_packages'"),
    ("bad version", _set("provenance.harness_version", "dev"), "match_regex"),
    (
        "finished before started",
        _set("provenance.finished_at", "2025-01-01T00:00:00+00:00"),
        "column='time_order_ok'",
    ),
]


def _corrupt(folder: Path, name: str, how: str | bytes | Callable[[dict[str, Any]], None]) -> Path:
    path = folder / f"{name.replace(' ', '_')}.json"
    if isinstance(how, bytes):
        path.write_bytes(how)
    elif isinstance(how, str):
        path.write_text(how, encoding="utf-8")
    else:
        data = copy.deepcopy(result("toy_relational"))
        how(data)
        path.write_text(json.dumps(data), encoding="utf-8")  # NaN is written as JSON NaN
    return path


def test_valid_files_pass(tmp_path: Path) -> None:
    files = [
        write(tmp_path, "a", result(None)),
        write(tmp_path, "b", result("toy_lexical", "toy_ner")),
    ]
    report = validate_files(files, CODES, SPECS)
    assert report.ok and [p for p, _ in report.valid] == files


@pytest.mark.parametrize(("kind", "how", "needle"), CORRUPT, ids=[c[0] for c in CORRUPT])
def test_each_corruption_is_reported(tmp_path: Path, kind: str, how: Any, needle: str) -> None:
    good = write(tmp_path, "good", result("toy_lexical"))
    bad = _corrupt(tmp_path, kind, how)
    report = validate_files([good, bad], CODES, SPECS)
    assert list(report.problems) == [bad], kind
    text = report.as_text(bad)
    assert needle in text, text
    assert [p for p, _ in report.valid] == [good]


def test_corrupt_files_are_quarantined_and_nothing_stored_changes(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    stored = write(tmp_path, "stored", result(None))
    ingest(db, [stored], LANGS, SPECS)
    before = dump(db)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    bad = [_corrupt(incoming, kind, how) for kind, how, _ in CORRUPT]
    good = write(incoming, "good", result("toy_lexical"))
    quarantine = tmp_path / "quarantine"
    counts = ingest(db, [*bad, good], LANGS, SPECS, quarantine_dir=quarantine)
    assert counts == {"added": 1, "unchanged": 0, "replaced": 0, "quarantined": len(CORRUPT)}
    # the stored rows are untouched; only the valid file was added
    after = dump(db)
    assert set(before) <= set(after)
    assert {row[0] for row in after if len(row) == 2} == {
        "m/none/toy_nli/s1",
        "m/toy_lexical/toy_nli/s1",
    }
    # every bad file moved into quarantine beside a report that names file and check
    assert not any(path.exists() for path in bad) and good.exists()
    reports = sorted(quarantine.glob("*.report.txt"))
    assert len(reports) == len(CORRUPT)
    for (kind, _, needle), path in zip(CORRUPT, bad, strict=True):
        (report,) = [r for r in reports if r.name.startswith(path.stem + ".")]
        text = report.read_text(encoding="utf-8")
        assert str(path) in text and needle in text, (kind, text)
        moved = report.with_name(report.name.removesuffix(".report.txt"))
        assert moved.is_file()


def test_two_files_for_one_run_are_both_refused(tmp_path: Path) -> None:
    first = write(tmp_path, "first", result("toy_lexical", base=0.7))
    second = write(tmp_path, "second", result("toy_lexical", base=0.8))
    report = validate_files([first, second], CODES, SPECS)
    assert sorted(report.problems) == [first, second]
    assert "expect_column_values_to_be_unique(column='run_key')" in report.as_text(first)


def test_every_check_of_a_suite_reports_on_every_row(tmp_path: Path) -> None:
    """Each frame's suite is validated in one go: every failed expectation is reported, for
    rows anywhere in the batch (here the last row of the last of many files)."""
    files = []
    for i in range(60):
        data = result("toy_lexical")
        data["seed"] = i
        files.append(write(tmp_path, f"ok{i}", data))
    data = result("toy_lexical")
    data["seed"] = 99
    data["scores"][-1].update(value=1.5, n_examples=0, split="train")
    data["provenance"]["harness_version"] = "dev"
    bad = write(tmp_path, "zlast", data)
    report = validate_files([*files, bad], CODES, SPECS)
    assert list(report.problems) == [bad]
    checks = [problem.check for problem in report.problems[bad]]
    assert len(checks) == 5, checks
    for needle in (
        "scores: expect_column_values_to_be_between(column='value'",
        "scores: expect_column_values_to_be_between(column='n_examples'",
        "scores: expect_column_values_to_be_in_set(column='split'",
        "runs: expect_column_values_to_match_regex(column='harness_version'",
        "coverage: expect_column_values_to_be_in_set(column='present'",
    ):
        assert any(check.startswith(needle) for check in checks), (needle, checks)
    assert len(report.valid) == len(files)


def test_validation_leaves_scipy_stats_usable() -> None:
    """Importing great-expectations for validation defers scipy.stats (which these suites do not
    use); it loads, whole, on first use."""
    code = (
        "import sys\n"
        "from harness.results.validate import _validator\n"
        "_validator()\n"
        "assert type(sys.modules['scipy.stats']).__name__ == '_LazyModule'\n"
        "from scipy import stats\n"
        "import scipy.stats as direct\n"
        "assert abs(stats.entropy([0.5, 0.5]) - 0.6931471805599453) < 1e-12\n"
        "assert direct.norm.cdf(0.0) == 0.5 and direct is stats\n"
        "from great_expectations.expectations.core import "
        "expect_column_kl_divergence_to_be_less_than as kl\n"
        "assert kl.stats.entropy([1.0]) == 0.0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]

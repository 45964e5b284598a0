from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.errors import HarnessError
from harness.results.queries import by_language, leaderboard
from harness.results.store import connect_readonly, ingest
from harness.tasks import Registry

LANGS = [
    {
        "code": c,
        "name": c,
        "family": "Toy",
        "genus": "Toy",
        "script": "Latn",
        "resource_class": 5 - i,
        "distance_rank": i,
    }
    for i, c in enumerate(["en", "xa", "xb", "xc", "xd"])
]
SPECS = [Registry.load().get(n) for n in Registry.load().names()]


def result(intermediate: str | None, target: str = "toy_nli", base: float = 0.5) -> dict[str, Any]:
    metric = "accuracy" if target == "toy_nli" else "f1"
    return {
        "schema_version": 1,
        "run_id": f"m/{intermediate}/{target}",
        "model": "m",
        "intermediate_task": intermediate,
        "target_task": target,
        "seed": 1,
        "primary_metric": metric,
        "scores": [
            {
                "language": lang["code"],
                "split": "test",
                "metric": metric,
                "value": base - 0.1 * lang["distance_rank"] / 4,
                "n_examples": 10,
            }
            for lang in LANGS
        ],
        "provenance": {
            "git_commit": "abc",
            "git_dirty": False,
            "params_hash": "p1",
            "harness_version": "0.1.0",
            "packages": {"torch": "2"},
            "hardware": {"cpu": 2},
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:01:00+00:00",
        },
    }


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def dump(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("SELECT run_id, config_hash FROM runs ORDER BY run_id").fetchall()
        scores = con.execute("SELECT * FROM scores ORDER BY ALL").fetchall()
    finally:
        con.close()
    return runs + scores


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [
        write(tmp_path, "base", result(None, base=0.6)),
        write(tmp_path, "lex", result("toy_lexical", base=0.7)),
    ]


def test_ingest_is_idempotent(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    assert ingest(db, files, LANGS, SPECS) == {"added": 2, "unchanged": 0, "replaced": 0}
    first = dump(db)
    assert len(first) == 2 + 2 * 5
    assert ingest(db, files, LANGS, SPECS) == {"added": 0, "unchanged": 2, "replaced": 0}
    assert dump(db) == first


def test_changed_result_needs_replace(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files, LANGS, SPECS)
    before = dump(db)
    (tmp_path / "new").mkdir()
    changed = write(tmp_path / "new", "lex", result("toy_lexical", base=0.9))
    with pytest.raises(HarnessError, match="--replace"):
        ingest(db, [files[0], changed], LANGS, SPECS)
    assert dump(db) == before
    assert ingest(db, [changed], LANGS, SPECS, replace=True)["replaced"] == 1
    assert dump(db) != before


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"schema_version": 1, "run_id": "x"', "not valid JSON"),
        (lambda r: r["scores"][0].__setitem__("value", 1.5), "less than or equal to 1"),
        (lambda r: r["scores"].pop(), "lacks languages"),
        (lambda r: r["scores"][0].__setitem__("language", "zz"), "unknown languages"),
        (lambda r: r.__setitem__("target_task", "nope"), "unknown task"),
        (lambda r: r["provenance"].pop("git_commit"), "git_commit"),
        (lambda r: r["scores"].append(dict(r["scores"][0])), "twice"),
        (lambda r: r.__setitem__("extra", 1), "extra"),
    ],
)
def test_bad_result_files_change_nothing(
    tmp_path: Path, files: list[Path], content, needle: str
) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    before = dump(db)
    if isinstance(content, str):
        bad = write(tmp_path, "bad", content)
    else:
        data = copy.deepcopy(result("toy_relational"))
        content(data)
        bad = write(tmp_path, "bad", data)
    with pytest.raises(HarnessError, match=needle):
        ingest(db, [files[1], bad], LANGS, SPECS)
    assert dump(db) == before


def test_leaderboard_gain_over_baseline(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files, LANGS, SPECS)
    con = connect_readonly(db)
    try:
        board = leaderboard(con).set_index("intermediate")
        per_language = by_language(con, "toy_nli")
    finally:
        con.close()
    # zero-shot mean excludes English: mean of base - 0.1 * r/4 for r = 1..4
    assert board.loc["none", "zero_shot"] == pytest.approx(0.6 - 0.1 * 2.5 / 4)
    assert board.loc["toy_lexical", "english"] == pytest.approx(0.7)
    assert board.loc["toy_lexical", "gain"] == pytest.approx(0.1)
    assert board.loc["none", "n_languages"] == 4
    assert list(per_language[per_language.intermediate == "none"].language) == [
        "en",
        "xa",
        "xb",
        "xc",
        "xd",
    ]


def test_readonly_connection(tmp_path: Path, files: list[Path]) -> None:
    with pytest.raises(HarnessError, match="No results database"):
        connect_readonly(tmp_path / "missing.duckdb")
    db = tmp_path / "r.duckdb"
    ingest(db, files, LANGS, SPECS)
    con = connect_readonly(db)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM scores")
    finally:
        con.close()

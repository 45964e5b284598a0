from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.errors import HarnessError
from harness.results.queries import leaderboard
from harness.results.store import (
    CELL_MEANS,
    SCHEMA_V1,
    SCHEMA_VERSION,
    connect_readonly,
    ingest,
    require_current_schema,
    schema_version,
)
from harness.tasks import Registry
from tests.conftest import REPO

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
    assert ingest(db, files, LANGS, SPECS) == {
        "added": 2,
        "unchanged": 0,
        "replaced": 0,
        "quarantined": 0,
    }
    first = dump(db)
    assert len(first) == 2 + 2 * 5
    assert ingest(db, files, LANGS, SPECS) == {
        "added": 0,
        "unchanged": 2,
        "replaced": 0,
        "quarantined": 0,
    }
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
        (lambda r: r["scores"][0].__setitem__("value", 1.5), "to_be_between(column='value'"),
        (
            lambda r: r["scores"].pop(),
            "coverage: expect_column_values_to_be_in_set(column='present'",
        ),
        (lambda r: r["scores"][0].__setitem__("language", "zz"), "column='language'"),
        (lambda r: r.__setitem__("target_task", "nope"), "column='target_task'"),
        (lambda r: r["provenance"].pop("git_commit"), "git_commit: Field required"),
        (lambda r: r["scores"].append(dict(r["scores"][0])), "compound_columns_to_be_unique"),
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
    with pytest.raises(HarnessError, match="nothing was written") as error:
        ingest(db, [files[1], bad], LANGS, SPECS)
    assert needle in str(error.value)
    assert dump(db) == before


def test_leaderboard_gain_over_baseline(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files, LANGS, SPECS)
    con = connect_readonly(db)
    try:
        board = leaderboard(con).set_index("intermediate")
    finally:
        con.close()
    # zero-shot mean excludes English: mean of base - 0.1 * r/4 for r = 1..4
    assert board.loc["none", "zero_shot"] == pytest.approx(0.6 - 0.1 * 2.5 / 4)
    assert board.loc["toy_lexical", "english"] == pytest.approx(0.7)
    assert board.loc["toy_lexical", "gain"] == pytest.approx(0.1)
    assert board.loc["none", "n_languages"] == 4


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


def test_version_one_database_is_migrated_with_its_rows(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_V1)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute(
        "INSERT INTO runs VALUES ('old/none/toy_nli/s1', 'old', NULL, 'toy_nli', 1, 'h', 'c', "
        "false, '0.0.9', '{}', '{}', '2025-01-01 00:00:00+00', '2025-01-01 00:01:00+00', NULL)"
    )
    con.execute(
        "INSERT INTO scores VALUES ('old/none/toy_nli/s1', 'en', 'test', 'accuracy', 0.4, 9)"
    )
    con.close()
    ingest(db, files, LANGS, SPECS)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert schema_version(con) == SCHEMA_VERSION == 5
        old = con.execute(
            "SELECT harness_version, dvc_stage_hash, inputs FROM runs WHERE model = 'old'"
        ).fetchall()
        assert old == [("0.0.9", None, None)]
        assert con.execute("SELECT value FROM scores WHERE run_id LIKE 'old/%'").fetchall() == [
            (0.4,)
        ]
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM difficulty").fetchone() == (0,)
    finally:
        con.close()


def test_newer_schema_is_refused(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    before = dump(db)
    with pytest.raises(HarnessError, match="schema version 99, newer"):
        ingest(db, files, LANGS, SPECS)
    assert dump(db) == before


def test_provenance_v2_fields_are_stored(tmp_path: Path) -> None:
    data = result("toy_lexical")
    data["schema_version"] = 2
    data["provenance"].update(
        dvc_stage_hash="abc123",
        inputs={"models/phase2/x": "d41d8cd98f00b204e9800998ecf8427e.dir"},
        container_image="sha256:feed",
        timings={"phase2_train": 1.5, "evaluate": 0.25},
    )
    db = tmp_path / "r.duckdb"
    ingest(db, [write(tmp_path, "v2", data)], LANGS, SPECS)
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT dvc_stage_hash, inputs::VARCHAR, container_image, timings->>'evaluate' "
            "FROM runs"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    assert row[0] == "abc123" and row[2] == "sha256:feed" and row[3] == "0.25"
    assert json.loads(row[1]) == {"models/phase2/x": "d41d8cd98f00b204e9800998ecf8427e.dir"}


def test_throughput_of_each_run_is_stored(tmp_path: Path) -> None:
    data = result("toy_lexical")
    record = {"real_tokens": 1200, "padding_fraction": 0.05, "tokens_per_s": 800.0, "mfu": None}
    data["provenance"]["throughput"] = {"phase2": record, "evaluate": {"real_tokens": 300}}
    old = result(None)  # written before throughput was recorded
    db = tmp_path / "r.duckdb"
    ingest(db, [write(tmp_path, "t", data), write(tmp_path, "o", old)], LANGS, SPECS)
    rows = dict(_fetchall(db, "SELECT intermediate_task, throughput::VARCHAR FROM runs"))
    assert json.loads(rows["toy_lexical"]) == {"phase2": record, "evaluate": {"real_tokens": 300}}
    assert rows[None] is None


def test_leaderboard_leaves_out_bad_harness_versions(tmp_path: Path) -> None:
    bad = result("toy_lexical", base=0.9)
    bad["seed"] = 2
    bad["provenance"]["harness_version"] = "0.0.1"
    folder = tmp_path / "f"
    folder.mkdir()
    paths = [
        write(folder, "base1", result(None, base=0.6)),
        write(folder, "lex1", result("toy_lexical", base=0.7)),
        write(folder, "lex2", bad),
    ]
    db = tmp_path / "r.duckdb"
    ingest(db, paths, LANGS, SPECS)
    con = connect_readonly(db)
    try:
        everything = leaderboard(con).set_index("intermediate")
        trusted = leaderboard(con, exclude_versions=["0.0.1"]).set_index("intermediate")
    finally:
        con.close()
    assert everything.loc["toy_lexical", "n_seeds"] == 2
    assert everything.loc["toy_lexical", "english"] == pytest.approx(0.8)
    assert trusted.loc["toy_lexical", "n_seeds"] == 1
    assert trusted.loc["toy_lexical", "english"] == pytest.approx(0.7)


WRITER = """
import json, sys
from pathlib import Path
from harness.results.store import ingest
langs, specs_dir, db, *files = sys.argv[1:]
from harness.tasks import Registry
registry = Registry.load()
specs = [registry.get(n) for n in registry.names()]
counts = ingest(Path(db), [Path(f) for f in files], json.loads(Path(langs).read_text()), specs)
assert counts["added"] == len(files), counts
"""


def test_concurrent_ingest_processes_lose_nothing(tmp_path: Path) -> None:
    """8 processes x 50 result files at once: all 400 runs land, each batch atomically, and a
    reader polling meanwhile always gets in and never sees half a batch."""
    langs = tmp_path / "langs.json"
    langs.write_text(json.dumps(LANGS), encoding="utf-8")
    db = tmp_path / "r.duckdb"
    batches = []
    for writer in range(8):
        folder = tmp_path / f"w{writer}"
        folder.mkdir()
        batch = []
        for i in range(50):
            data = result("toy_lexical" if i % 2 else None, base=0.5 + i / 200)
            data["model"] = f"m{writer}"
            data["seed"] = i
            batch.append(str(write(folder, f"r{i}", data)))
        batches.append(batch)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(langs), "-", str(db), *batch],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    seen: list[int] = []
    while any(p.poll() is None for p in procs):
        if db.exists():
            try:
                con = connect_readonly(db)
            except HarnessError:
                continue  # the schema is being created by the first writer
            try:
                tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
                if "runs" in tables:
                    seen.append(con.execute("SELECT count(*) FROM runs").fetchone()[0])
            finally:
                con.close()
        time.sleep(0.05)
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err[-2000:]
    # the reader got in while the writers ran, and only ever saw whole batches
    assert seen, "the reader never got in"
    assert all(count % 50 == 0 for count in seen), seen
    assert seen == sorted(seen)
    con = connect_readonly(db)
    try:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (400,)
        assert con.execute("SELECT count(*) FROM scores").fetchone() == (2000,)
        assert con.execute("SELECT count(DISTINCT run_id) FROM scores").fetchone() == (400,)
        per_model = con.execute("SELECT model, count(*) FROM runs GROUP BY 1 ORDER BY 1").fetchall()
        assert per_model == [(f"m{w}", 50) for w in range(8)]
    finally:
        con.close()


def test_readers_are_never_blocked_by_a_long_ingest(tmp_path: Path) -> None:
    """While one process ingests 1500 result files in one batch, a reader that does not retry
    (one attempt) opens and queries the database again and again without a single failure."""
    langs = tmp_path / "langs.json"
    langs.write_text(json.dumps(LANGS), encoding="utf-8")
    db = tmp_path / "r.duckdb"
    ingest(db, [write(tmp_path, "first", result(None))], LANGS, SPECS)
    folder = tmp_path / "batch"
    folder.mkdir()
    batch = []
    for i in range(1500):
        data = result(None, base=0.5 + (i % 50) / 200)
        data["model"], data["seed"] = "big", i
        batch.append(str(write(folder, f"r{i}", data)))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(langs), "-", str(db), *batch],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = []
    while proc.poll() is None:
        con = connect_readonly(db, attempts=1)  # raises if a writer held the file
        try:
            reads.append(con.execute("SELECT count(*) FROM runs").fetchone()[0])
        finally:
            con.close()
        time.sleep(0.01)
    _, err = proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert len(reads) > 10 and set(reads) <= {1, 1501}  # the old state or the whole batch
    assert not list(tmp_path.glob(".r.duckdb.ingest-*"))  # no working copy left behind
    con = connect_readonly(db)
    try:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1501,)
    finally:
        con.close()


def test_working_copy_of_a_killed_ingest_is_cleaned_up(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    before = dump(db)
    stale = tmp_path / ".r.duckdb.ingest-99999"
    stale.write_bytes(b"half-written by a process that was killed")
    assert dump(db) == before  # the original never depended on the working copy
    ingest(db, files, LANGS, SPECS)
    assert not stale.exists()
    assert set(before) < set(dump(db))


def test_difficulty_rows_are_ingested_with_the_results(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "r.duckdb"
    rows = [
        ("toy_lexical", "neg_mean_pvi", -0.8, "m", 1),
        ("toy_lexical", "hard_to_learn", 0.1, "m", 1),
    ]
    counts = ingest(db, files, LANGS, SPECS, difficulty=rows)
    assert counts["difficulty"] == 2 and counts["added"] == 2
    rows[0] = ("toy_lexical", "neg_mean_pvi", -0.7, "m", 1)  # a rerun replaces its value
    ingest(db, files, LANGS, SPECS, difficulty=rows[:1])
    con = connect_readonly(db)
    try:
        stored = con.execute(
            "SELECT task, measure, value, model, seed FROM difficulty ORDER BY measure"
        ).fetchall()
    finally:
        con.close()
    assert stored == [rows[1], rows[0]]


def test_difficulty_views(tmp_path: Path) -> None:
    """Tiers (terciles) per measure, and each task's mean zero-shot gain beside its difficulty."""
    db = tmp_path / "r.duckdb"
    files = [write(tmp_path, "base", result(None, base=0.5))]
    for name, base in (("toy_lexical", 0.7), ("toy_relational", 0.6), ("toy_compositional", 0.4)):
        files.append(write(tmp_path, name, result(name, base=base)))
    rows = [
        ("toy_lexical", "neg_mean_pvi", -0.9, "m", 1),
        ("toy_relational", "neg_mean_pvi", -0.5, "m", 1),
        ("toy_compositional", "neg_mean_pvi", -0.1, "m", 1),
    ]
    ingest(db, files, LANGS, SPECS, difficulty=rows)
    con = connect_readonly(db)
    try:
        tiers = con.execute(
            "SELECT task, tier FROM difficulty_tiers WHERE measure = 'neg_mean_pvi' ORDER BY tier"
        ).fetchall()
        points = con.execute(
            "SELECT task, round(zero_shot_gain, 6), n_languages FROM difficulty_gains "
            "ORDER BY difficulty"
        ).fetchall()
    finally:
        con.close()
    assert tiers == [("toy_lexical", 1), ("toy_relational", 2), ("toy_compositional", 3)]
    assert points == [
        ("toy_lexical", 0.2, 4),
        ("toy_relational", 0.1, 4),
        ("toy_compositional", -0.1, 4),
    ]


def test_refused_batch_leaves_no_working_copy(tmp_path: Path, files: list[Path]) -> None:
    """The copy of the database starts before validation; a batch refused by validation (no
    quarantine folder) removes it and changes nothing."""
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    before = db.read_bytes()
    bad = write(tmp_path, "bad", '{"schema_version": 2, "trunc')
    with pytest.raises(HarnessError, match="failed validation"):
        ingest(db, [files[1], bad], LANGS, SPECS)
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".r.duckdb.ingest-*"))


def test_failed_copy_of_the_database_changes_nothing(
    tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy runs in a background thread; its error is raised in the ingest, as a write
    error that leaves the database unchanged and no working copy behind."""
    import errno
    import os

    from harness.results import store

    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    before = db.read_bytes()

    def full(src: Any, dst: Any) -> None:
        Path(dst).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.shutil, "copyfile", full)
    with pytest.raises(HarnessError, match="database is unchanged"):
        ingest(db, files, LANGS, SPECS)
    monkeypatch.undo()
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".r.duckdb.ingest-*"))
    assert ingest(db, files, LANGS, SPECS)["added"] == 1


def test_ingest_pauses_the_garbage_collector_and_restores_it(
    tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch runs with the cyclic collector paused (it rescanned the whole heap every 700
    allocations); afterwards, and after a failed batch, it is back as it was."""
    import gc

    import harness.results.validate as validate

    seen: list[bool] = []
    real = validate.validate_files

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(validate, "validate_files", spy)
    assert gc.isenabled()
    db = tmp_path / "r.duckdb"
    assert ingest(db, files, LANGS, SPECS)["added"] == 2
    assert seen == [False] and gc.isenabled()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("validation died")

    monkeypatch.setattr(validate, "validate_files", broken)
    with pytest.raises(RuntimeError, match="validation died"):
        ingest(db, files, LANGS, SPECS)
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that runs without the collector keeps it off
        monkeypatch.setattr(validate, "validate_files", spy)
        ingest(db, files, LANGS, SPECS)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert len(dump(db)) == 2 + 2 * 5


def _fetchall(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _cell_means(db: Path) -> tuple[list[tuple], list[tuple]]:
    """(the stored cell_means, the same aggregate computed now from the score rows)."""
    return (
        _fetchall(db, "SELECT * FROM cell_means ORDER BY ALL"),
        _fetchall(db, f"SELECT * FROM ({CELL_MEANS}) ORDER BY ALL"),
    )


def _approx(rows: list[tuple]) -> list[tuple]:
    """``rows`` with every float compared to 12 significant digits (DuckDB may sum a mean's
    terms in another order in the stored table than in the query)."""
    return [
        tuple(pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for v in r) for r in rows
    ]


def test_cell_means_is_stored_and_follows_every_ingest(tmp_path: Path, files: list[Path]) -> None:
    """The leaderboard reads cell_means, a table every ingest recomputes in its transaction:
    after adding, replacing and a refused batch it is exactly the aggregate of the scores."""
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    stored, live = _cell_means(db)
    assert stored == _approx(live) and len(stored) == 1
    # toy_nli's primary metric is accuracy, English is "en" (0.6), the zero-shot mean is over
    # the four other languages (0.6 - 0.1 * rank / 4 for ranks 1..4)
    row = dict(zip(["model", "intermediate", "target", "seed", "harness_version", "split",
                    "metric", "is_primary", "zero_shot_mean", "english", "n_languages"],
                   stored[0], strict=True))  # fmt: skip
    assert row["english"] == pytest.approx(0.6) and row["n_languages"] == 4
    assert row["zero_shot_mean"] == pytest.approx(0.6 - 0.1 * 2.5 / 4)
    assert row["is_primary"] and row["intermediate"] == "none"
    ingest(db, files, LANGS, SPECS)
    stored, live = _cell_means(db)
    assert stored == _approx(live) and len(stored) == 2
    (tmp_path / "new").mkdir()
    changed = write(tmp_path / "new", "lex", result("toy_lexical", base=0.9))
    ingest(db, [changed], LANGS, SPECS, replace=True)
    after, live = _cell_means(db)
    assert after == _approx(live) and after != stored
    bad = write(tmp_path / "new", "bad", "{not json")
    with pytest.raises(HarnessError):
        ingest(db, [bad], LANGS, SPECS)
    assert _cell_means(db)[0] == after


def test_version_three_database_gets_its_cell_means_stored(
    tmp_path: Path, files: list[Path]
) -> None:
    """A version-3 database (cell_means a view) is refused by readers, and the next ingest turns
    the view into the stored table with the same rows."""
    db = tmp_path / "r.duckdb"
    ingest(db, files[:1], LANGS, SPECS)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE cell_means")
    con.execute(f"CREATE VIEW cell_means AS {CELL_MEANS}")
    con.execute("ALTER TABLE runs DROP COLUMN throughput")  # version 4's
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        with pytest.raises(HarnessError, match=r"schema version 3.*migrates it in place"):
            require_current_schema(con, db)
    finally:
        con.close()
    ingest(db, files, LANGS, SPECS)
    kinds = _fetchall(
        db,
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name = 'cell_means'",
    )
    assert kinds == [("cell_means", "BASE TABLE")]
    assert _fetchall(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]
    assert SCHEMA_VERSION == 5
    # version 4: the runs' throughput, empty for these results
    assert _fetchall(db, "SELECT count(throughput) FROM runs") == [(0,)]
    stored, live = _cell_means(db)
    assert stored == _approx(live) and len(stored) == 2

"""A full disk at every write of `harness ingest`: the copy of the database, DuckDB's COMMIT
(its write-ahead log) and CHECKPOINT, the fsync and the rename. Each ends in exit 2 with the
project's message (what failed, on which path, how much room the database needs, how to
recover), no traceback, the previous database byte-identical with its rows, and nothing left
beside it.

Two real faults: the file-size limit (``RLIMIT_FSIZE``, a per-file limit, so each limit is
chosen from the measured sizes of the database and of the working copy after the batch), and,
where this process may mount one, a tmpfs of a few sizes (a whole filesystem: the copy, the
log and the checkpoint share it). The steps that write nothing of their own (fsync, rename,
removing the working copy) are failed in-process."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from harness.errors import HarnessError
from harness.results import store
from tests.reliability.conftest import harness, tiny_params
from tests.reliability.faults import leftovers, run, tmpfs, tmpfs_available
from tests.unit.test_store import LANGS, SPECS, result

DB = "db/r.duckdb"
INGEST = ["ingest", "new", "--db", DB]
PAGE = 4096


def _rows(db: Path) -> list[tuple[Any, ...]]:
    """Every stored row, the database opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return [
            (table, *row)
            for table in sorted(tables)
            for row in con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        ]
    finally:
        con.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project folder with toy data, a database holding one run (``db/r.duckdb``), one new
    result file (``new/``); the size of the database before (``S``) and after (``G``) the batch
    is ingested."""
    root = tmp_path_factory.mktemp("diskfull") / "p"
    root.mkdir()
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params()), encoding="utf-8")
    made = harness("data", "--no-verify", cwd=root)
    assert made.returncode == 0, made.stderr
    for folder, data in (("old", result("toy_lexical")), ("new", result(None))):
        (root / folder).mkdir()
        (root / folder / "x.json").write_text(json.dumps(data), encoding="utf-8")
    done = harness("ingest", "old", "--db", DB, cwd=root)
    assert done.returncode == 0, done.stderr
    db = root / DB
    scratch = root.with_name("scratch")
    shutil.copytree(root, scratch)
    done = harness(*INGEST, cwd=scratch)
    assert done.returncode == 0, done.stderr
    grown = (scratch / DB).stat().st_size
    shutil.rmtree(scratch)
    size = db.stat().st_size
    assert grown > size + 4 * PAGE, (size, grown)  # the batch grows the file: a CHECKPOINT case
    return {"root": root, "S": size, "G": grown, "rows": _rows(db), "bytes": db.read_bytes()}


def _workspace(base: dict[str, Any], tmp_path: Path, new_db: bool = False) -> Path:
    work = tmp_path / "w"
    shutil.copytree(base["root"], work)
    if new_db:
        (work / DB).unlink()
        (work / "db" / "r.duckdb.lock").unlink(missing_ok=True)
    return work


def _assert_refused(done: subprocess.CompletedProcess[str], work: Path, step: str) -> str:
    flat = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "Could not write the results database" in flat, flat
    assert f"({step})" in flat, flat  # the step this case was chosen to fail
    assert str((work / DB).resolve()) in flat, flat
    assert "free space" in flat and "paths.database" in flat, flat
    assert "rerun `harness ingest`" in flat, flat
    assert leftovers(work) == [], leftovers(work)
    return flat


def _assert_unchanged(base: dict[str, Any], work: Path, flat: str) -> None:
    assert "The database is unchanged" in flat, flat
    db = work / DB
    assert db.read_bytes() == base["bytes"]
    assert _rows(db) == base["rows"]


# (name, limit from the sizes S of the database and G of the working copy after the batch,
#  the step that fails): the copy is written in full, then grows to G in the CHECKPOINT
RLIMIT_CASES = [
    ("copy-half", lambda s, g: s // 2, "copying the database"),
    ("copy-one-short", lambda s, g: s - 1, "copying the database"),
    ("checkpoint-at-size", lambda s, g: s, "checkpointing the working copy"),
    ("checkpoint-halfway", lambda s, g: (s + g) // 2, "checkpointing the working copy"),
    ("checkpoint-one-short", lambda s, g: g - 1, "checkpointing the working copy"),
]


@pytest.mark.parametrize(("name", "limit", "step"), RLIMIT_CASES, ids=[c[0] for c in RLIMIT_CASES])
def test_file_size_limit(
    base: dict[str, Any], tmp_path: Path, name: str, limit: Any, step: str
) -> None:
    work = _workspace(base, tmp_path)
    done = run(INGEST, work, "disk full", limit=limit(base["S"], base["G"]))
    flat = _assert_refused(done, work, step)
    _assert_unchanged(base, work, flat)
    assert "file-size limit" in flat, flat
    again = harness(*INGEST, cwd=work)  # once the fault is gone, the same command completes
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("limit", "step"),
    [(PAGE, "opening the working copy"), (64 * 1024, "checkpointing the working copy")],
)
def test_file_size_limit_new_database(
    base: dict[str, Any], tmp_path: Path, limit: int, step: str
) -> None:
    """No database yet: DuckDB creates the file (its header) and writes it at the CHECKPOINT."""
    work = _workspace(base, tmp_path, new_db=True)
    done = run(INGEST, work, "disk full", limit=limit)
    flat = _assert_refused(done, work, step)
    assert "No database was created" in flat, flat
    assert not (work / DB).exists()


def test_stale_write_ahead_log_on_a_full_disk(base: dict[str, Any], tmp_path: Path) -> None:
    """A log left by a killed writer is merged into the database (in place) before the copy:
    a full disk there is refused with the project's message; the two files keep every
    committed row."""
    work = _workspace(base, tmp_path)
    db = work / DB
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, os
            con = duckdb.connect({str(db)!r})
            con.execute("INSERT INTO meta SELECT 'k' || range, repeat('x', 200) FROM range(3000)")
            os._exit(0)  # killed: the rows live only in the log
        """)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == 0, killed.stderr
    wal = work / "db" / "r.duckdb.wal"
    assert wal.stat().st_size > PAGE
    rows = _rows(db)  # read-only: the committed rows of the log included
    assert len(rows) == len(base["rows"]) + 3000
    done = run(INGEST, work, "disk full", limit=base["S"] + PAGE)
    flat = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "write-ahead log 'r.duckdb.wal'" in flat and "merging it" in flat, flat
    assert "free space" in flat and "rerun `harness ingest`" in flat, flat
    # DuckDB's failed checkpoint appends to both files (measured: a block to the database, a
    # record to the log), so they are not byte-identical; they still hold every committed row
    assert wal.exists() and _rows(db) == rows
    assert leftovers(work) == []
    again = harness(*INGEST, cwd=work)  # the log is merged, then the batch is stored
    assert again.returncode == 0, again.stderr
    assert len(_rows(db)) > len(rows) and not wal.exists()


# (name, tmpfs size from S and G, the step that fails): the folder holds the database (S),
# and while ingesting its working copy (S, growing to G) and DuckDB's log (a few pages)
TMPFS_CASES = [
    ("copy", lambda s, g: s + s // 2, "copying the database"),
    ("commit-log", lambda s, g: 2 * s, "committing the new rows"),
    ("checkpoint", lambda s, g: s + (s + g) // 2, "checkpointing the working copy"),
]


def _pages(n: int) -> int:
    return -(-n // PAGE) * PAGE


@pytest.mark.skipif(not tmpfs_available(), reason="cannot mount a tmpfs here (needs root)")
@pytest.mark.parametrize(("name", "size", "step"), TMPFS_CASES, ids=[c[0] for c in TMPFS_CASES])
def test_full_tmpfs(base: dict[str, Any], tmp_path: Path, name: str, size: Any, step: str) -> None:
    work = _workspace(base, tmp_path)
    folder = work / "db"
    with tmpfs(folder, _pages(size(_pages(base["S"]), _pages(base["G"])))):
        done = run(INGEST, work)
        flat = _assert_refused(done, work, step)
        assert "No space left on device" in flat, flat
        assert " free: " in flat, flat  # says how much room is left there
        _assert_unchanged(base, work, flat)
    assert leftovers(work) == []


@pytest.mark.skipif(not tmpfs_available(), reason="cannot mount a tmpfs here (needs root)")
def test_tmpfs_with_room_succeeds(base: dict[str, Any], tmp_path: Path) -> None:
    """The control: a tmpfs with room for the database, its working copy and the log."""
    work = _workspace(base, tmp_path)
    with tmpfs(work / "db", _pages(base["S"] + base["G"]) + 64 * PAGE):
        done = run(INGEST, work)
        assert done.returncode == 0, done.stderr
        assert len(_rows(work / DB)) > len(base["rows"])
    assert leftovers(work) == []


def test_same_process_ingests_again_after_a_fatal_checkpoint(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """A FatalException invalidates DuckDB's database instance: the failed ingest closes it,
    so the next ingest in the same process (same working-copy name) starts afresh."""
    work = _workspace(base, tmp_path)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from harness.errors import HarnessError
        from harness.results.store import ingest
        from tests.unit.test_store import LANGS, SPECS
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        db, files = Path({str(work / DB)!r}), [Path({str(work / "new" / "x.json")!r})]
        resource.setrlimit(resource.RLIMIT_FSIZE, ({base["S"] + PAGE}, resource.RLIM_INFINITY))
        try:
            ingest(db, files, LANGS, SPECS)
            sys.exit("the ingest did not fail")
        except HarnessError as exc:
            print("FAILED", exc)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        print("COUNTS", ingest(db, files, LANGS, SPECS))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[2], capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED Could not write the results database" in done.stdout, done.stdout
    assert "'added': 1" in done.stdout, done.stdout
    assert leftovers(work) == []


# -- in-process: the steps that write no data of their own -----------------------------------


def _fail(number: int) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(number, os.strerror(number))

    return fail


@pytest.fixture
def small_db(tmp_path: Path) -> tuple[Path, list[Path], list[tuple[Any, ...]], bytes]:
    folder = tmp_path / "db"
    folder.mkdir()
    (tmp_path / "old.json").write_text(json.dumps(result("toy_lexical")), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(result(None)), encoding="utf-8")
    db = folder / "r.duckdb"
    store.ingest(db, [tmp_path / "old.json"], LANGS, SPECS)
    return db, [tmp_path / "new.json"], _rows(db), db.read_bytes()


@pytest.mark.parametrize(
    ("target", "number", "step"),
    [
        ("os.fsync", errno.ENOSPC, "syncing the working copy"),
        ("os.fsync", errno.EIO, "syncing the working copy"),
        ("os.replace", errno.ENOSPC, "renaming the working copy into place"),
        ("os.replace", errno.EACCES, "renaming the working copy into place"),
    ],
)
def test_sync_and_rename_faults(
    small_db: tuple[Path, list[Path], list[tuple[Any, ...]], bytes],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    number: int,
    step: str,
) -> None:
    db, files, rows, before = small_db
    monkeypatch.setattr(target, _fail(number))
    with pytest.raises(HarnessError) as caught:
        store.ingest(db, files, LANGS, SPECS)
    monkeypatch.undo()
    flat = " ".join(str(caught.value).split())
    assert f"({step})" in flat and str(db) in flat and os.strerror(number) in flat, flat
    assert "The database is unchanged" in flat and "rerun `harness ingest`" in flat, flat
    assert db.read_bytes() == before and _rows(db) == rows
    assert leftovers(db.parent) == []


def test_working_copy_that_cannot_be_removed_is_named(
    small_db: tuple[Path, list[Path], list[tuple[Any, ...]], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write fails, then removing the working copy fails too: the message names it."""
    db, files, rows, before = small_db
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if ".ingest-" in self.name and not self.name.endswith(".wal"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr("os.replace", _fail(errno.ENOSPC))
    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(HarnessError) as caught:
        store.ingest(db, files, LANGS, SPECS)
    monkeypatch.undo()
    flat = " ".join(str(caught.value).split())
    left = leftovers(db.parent)
    assert len(left) == 1 and Path(left[0]).name.startswith(".r.duckdb.ingest-"), left
    assert f"'{left[0]}'" in flat and "could not be removed" in flat, flat
    assert db.read_bytes() == before and _rows(db) == rows
    store.ingest(db, files, LANGS, SPECS)  # the next ingest removes it
    assert leftovers(db.parent) == []

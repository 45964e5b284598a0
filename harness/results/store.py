"""DuckDB schema and ingest. Only :func:`ingest` writes (to a private copy, renamed into place);
everything else opens the database read-only."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from harness.config import BASELINE
from harness.errors import HarnessError
from harness.io import ArtefactWriteError, as_os_error, fsync_dir
from harness.results.schema import ResultFile, run_key
from harness.tasks import LocalSource, TaskSpec

if TYPE_CHECKING:
    from harness.results.validate import Report

SCHEMA_VERSION = 5

# Version 1 of the schema, as first shipped. A new database is created at version 1 and brought
# up to date by MIGRATIONS, so every database, old or new, reaches the current schema the same way.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS languages (
    code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, family VARCHAR, genus VARCHAR,
    script VARCHAR, resource_class INTEGER, distance_rank INTEGER
);
CREATE TABLE IF NOT EXISTS tasks (
    name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    xtreme_group VARCHAR, train_language VARCHAR NOT NULL, primary_metric VARCHAR NOT NULL,
    source VARCHAR NOT NULL, revision VARCHAR, difficulty_rank INTEGER, spec JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, model VARCHAR NOT NULL, intermediate_task VARCHAR,
    target_task VARCHAR NOT NULL, seed INTEGER NOT NULL, config_hash VARCHAR NOT NULL,
    git_commit VARCHAR, git_dirty BOOLEAN, harness_version VARCHAR NOT NULL,
    packages JSON NOT NULL, hardware JSON NOT NULL,
    started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, source_file VARCHAR
);
CREATE TABLE IF NOT EXISTS scores (
    run_id VARCHAR NOT NULL, language VARCHAR NOT NULL, split VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, value DOUBLE NOT NULL, n_examples INTEGER NOT NULL,
    PRIMARY KEY (run_id, language, split, metric)
);
"""

# MIGRATIONS[v] brings a database from version v to v + 1 (inside the ingest transaction).
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE runs ADD COLUMN dvc_stage_hash VARCHAR;
ALTER TABLE runs ADD COLUMN inputs JSON;
ALTER TABLE runs ADD COLUMN container_image VARCHAR;
ALTER TABLE runs ADD COLUMN timings JSON;
ALTER TABLE runs ADD COLUMN params JSON;
ALTER TABLE languages ADD COLUMN xtreme BOOLEAN;
ALTER TABLE languages ADD COLUMN xtreme_r BOOLEAN;
CREATE TABLE IF NOT EXISTS difficulty (
    task VARCHAR NOT NULL, measure VARCHAR NOT NULL, model VARCHAR NOT NULL,
    seed INTEGER NOT NULL, value DOUBLE NOT NULL, PRIMARY KEY (task, measure, model, seed)
);
""",
    # replication guard: NULL for results written before the check existed (unknown)
    2: """
ALTER TABLE runs ADD COLUMN exact_replication BOOLEAN;
ALTER TABLE runs ADD COLUMN replication_notes VARCHAR;
""",
    # cell_means was a view, aggregated over every score row on each leaderboard query; it is
    # now stored, and every ingest refreshes it in its transaction (refresh_cell_means)
    3: """
DROP VIEW IF EXISTS cell_means;
CREATE TABLE cell_means (
    model VARCHAR, intermediate VARCHAR, target VARCHAR, seed INTEGER, harness_version VARCHAR,
    split VARCHAR, metric VARCHAR, is_primary BOOLEAN, zero_shot_mean DOUBLE, english DOUBLE,
    n_languages BIGINT
);
""",
    # per run: tokens, padding, tokens/s, model TFLOP/s and MFU of its training and evaluation
    # (provenance.throughput); NULL for results written before it was recorded
    4: """
ALTER TABLE runs ADD COLUMN IF NOT EXISTS throughput JSON;
""",
}

CELL_MEANS = f"""
SELECT r.model, coalesce(r.intermediate_task, {BASELINE!r}) AS intermediate,
       r.target_task AS target, r.seed, r.harness_version, s.split, s.metric,
       t.primary_metric = s.metric AS is_primary,
       avg(s.value) FILTER (WHERE s.language <> t.train_language) AS zero_shot_mean,
       avg(s.value) FILTER (WHERE s.language = t.train_language) AS english,
       count(*) FILTER (WHERE s.language <> t.train_language) AS n_languages
FROM scores s JOIN runs r USING (run_id) JOIN tasks t ON t.name = r.target_task
GROUP BY ALL
"""
"""One row per run, split and metric: the mean over the zero-shot languages, the English score
and the number of zero-shot languages (what the leaderboard aggregates over seeds)."""
REFRESH_CELL_MEANS = "DELETE FROM cell_means; INSERT INTO cell_means " + CELL_MEANS

VIEWS = """
CREATE OR REPLACE VIEW gains AS
SELECT s.run_id, r.model, r.intermediate_task, r.target_task, r.seed, r.harness_version,
       s.language, s.split, s.metric, s.value, b.value AS baseline, s.value - b.value AS gain
FROM scores s
JOIN runs r USING (run_id)
JOIN runs br ON br.model = r.model AND br.target_task = r.target_task AND br.seed = r.seed
            AND br.intermediate_task IS NULL
JOIN scores b ON b.run_id = br.run_id AND b.language = s.language AND b.split = s.split
             AND b.metric = s.metric;
CREATE OR REPLACE VIEW difficulty_tiers AS
WITH per_task AS (
    SELECT model, measure, task, avg(value) AS value, count(*) AS n_seeds
    FROM difficulty GROUP BY model, measure, task
), setting AS (
    SELECT coalesce(max(TRY_CAST(value AS INTEGER)), 3) AS n FROM meta
    WHERE key = 'difficulty_tiers'
)
SELECT model, measure, task, value, n_seeds,
       CAST(ceil(row_number() OVER (PARTITION BY model, measure ORDER BY value, task)
                 * setting.n / count(*) OVER (PARTITION BY model, measure)) AS INTEGER) AS tier
FROM per_task, setting;
CREATE OR REPLACE VIEW seed_gains AS
SELECT model, intermediate_task, target_task, language, split, metric,
       avg(gain) AS gain, stddev_samp(gain) AS gain_sd, count(*) AS n_seeds
FROM gains WHERE intermediate_task IS NOT NULL GROUP BY ALL;
CREATE OR REPLACE VIEW difficulty_gains AS
SELECT d.model, d.measure, d.task, d.value AS difficulty, d.tier, g.split,
       avg(g.gain) AS zero_shot_gain, count(DISTINCT g.language) AS n_languages
FROM difficulty_tiers d
JOIN seed_gains g ON g.model = d.model AND g.intermediate_task = d.task
JOIN tasks t ON t.name = g.target_task AND t.primary_metric = g.metric
WHERE g.language <> t.train_language
GROUP BY ALL;
"""


TIERS_KEY = "difficulty_tiers"
"""The ``meta`` key of ``difficulty.tiers``: the view ``difficulty_tiers`` computes each task's
tier with it, by the rule of :func:`harness.results.stats.tiers` (the rule's one definition;
a test checks the two agree)."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The database's schema version (None for an empty database)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" not in tables:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def require_current_schema(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """For readers: the database must be at this harness's schema version (readers never
    migrate; the next ``harness ingest`` does)."""
    found = schema_version(con)
    if found == SCHEMA_VERSION:
        return
    if found is None:
        raise HarnessError(f"'{db_path}' is not an xtransfer results database (no schema).")
    if found < SCHEMA_VERSION:
        raise HarnessError(
            f"'{db_path}' has schema version {found}; this harness reads version "
            f"{SCHEMA_VERSION}. Any `harness ingest` (or `dvc repro`) migrates it in place."
        )
    raise HarnessError(
        f"'{db_path}' has schema version {found}, newer than this harness understands "
        f"({SCHEMA_VERSION}). Upgrade xtransfer to read it."
    )


def migrate(con: duckdb.DuckDBPyConnection, db_path: Path) -> int:
    """Create or upgrade the schema to :data:`SCHEMA_VERSION` (call inside a transaction);
    return the version found (0 for a new database)."""
    found = schema_version(con)
    if found is not None and found > SCHEMA_VERSION:
        raise HarnessError(
            f"'{db_path}' has schema version {found}, newer than this harness understands "
            f"({SCHEMA_VERSION}). Upgrade xtransfer to write to it."
        )
    if found is None:
        tables = sorted(
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        )
        if tables:
            raise HarnessError(
                f"'{db_path}' is a DuckDB database but not an xtransfer results database (it "
                f"holds other tables: {', '.join(tables[:5])}); nothing was written to it. Pass "
                "another --db."
            )
        con.execute(SCHEMA_V1)
        version = 1
    else:
        version = found
    while version < SCHEMA_VERSION:
        con.execute(MIGRATIONS[version])
        version += 1
    con.execute(VIEWS)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
    return found or 0


def refresh_cell_means(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the stored ``cell_means`` from scores, runs and tasks (call inside the writing
    transaction, after its inserts: the table then always matches what the transaction
    commits). At 1M score rows this takes tens of milliseconds, once per ingest rather than on
    every leaderboard query."""
    con.execute(REFRESH_CELL_MEANS)


@contextmanager
def _write_lock(db_path: Path, timeout_s: float = 600.0) -> Iterator[None]:
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("w")
    except OSError as exc:
        raise _db_write_error(db_path, exc, existed=db_path.exists()) from exc
    with handle:
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"Another writer (an ingest or a replication) has held '{lock_path}' "
                        f"for {timeout_s:.0f}s. Wait for it to finish, or remove the lock file if "
                        "none is running."
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wal_path(db_path: Path) -> Path:
    """DuckDB's write-ahead log beside a database file."""
    return db_path.with_name(db_path.name + ".wal")


DUCKDB_MAGIC = (8, b"DUCK")
"""Where DuckDB's file format puts its magic bytes, and what they are."""


def _require_duckdb_file(db_path: Path) -> None:
    """Refuse an existing ``--db`` that is not a DuckDB file at all (before anything is copied
    or written: such a file would otherwise surface as a write error of the working copy)."""
    try:
        if not db_path.exists():
            return
        if db_path.stat().st_size == 0:
            raise HarnessError(
                f"'{db_path}' is an empty file, not a results database; nothing was written to "
                "it. Delete it (a new database is then created there) or pass another --db."
            )
        with db_path.open("rb") as handle:
            head = handle.read(DUCKDB_MAGIC[0] + len(DUCKDB_MAGIC[1]))
    except OSError as exc:
        raise HarnessError(f"'{db_path}' cannot be read: {exc.strerror or exc}.") from exc
    if head[DUCKDB_MAGIC[0] :] != DUCKDB_MAGIC[1]:
        raise HarnessError(
            f"'{db_path}' is not a results database (not a DuckDB file); nothing was written "
            "to it. Pass the path of a results database, or of a new file, as --db."
        )


def _checkpoint_stale_wal(db_path: Path) -> None:
    """Merge a write-ahead log left beside the database (by a writer killed before it
    checkpointed: committed rows that live only in the log) into the file, in place, before the
    working copy is made (the copy takes the main file only, and a log beside a replaced file
    makes every reader fail). The caller holds the ingest lock. A log that cannot be replayed
    is refused, the database and the log left as they are."""
    wal = wal_path(db_path)
    if not wal.exists() or not db_path.exists():
        return
    try:
        con = duckdb.connect(str(db_path))
        try:
            con.execute("CHECKPOINT")
        finally:
            _close(con)
    except (OSError, duckdb.Error) as exc:
        cause = _write_failure(exc)
        if cause is not None and cause.errno in _DISK_FULL:
            raise HarnessError(
                f"'{db_path}' has a write-ahead log '{wal.name}' left by a writer that did not "
                f"finish, and merging it into the database failed: {cause.strerror} (in "
                f"'{db_path.parent}', {_free(db_path.parent)} free). Nothing was ingested; the "
                "database and its log keep every committed row. Make free space there (or "
                "raise the file-size limit), or move both files to a filesystem with room and "
                "point paths.database (--db) at it, then rerun `harness ingest`."
            ) from exc
        raise HarnessError(
            f"'{db_path}' has a write-ahead log '{wal.name}' left by a writer that did not "
            f"finish, and DuckDB cannot replay it ({exc}). Nothing was ingested and both files "
            f"are unchanged. Keep a copy of both; if the rows in the log can be given up, move "
            f"'{wal}' aside and rerun the ingest."
        ) from exc
    if wal.exists():
        raise HarnessError(
            f"'{db_path}': the write-ahead log '{wal.name}' is still there after a checkpoint "
            "(is another process writing this database?); nothing was ingested. Stop that "
            "process and rerun."
        )


class _WorkingCopy:
    """The private working copy of the database, copied in a background thread (the copy runs
    outside the GIL) so that it overlaps validation; made while the caller holds the ingest lock.

    Working copies left by killed ingests are removed first (the lock is held, so none is in
    use). Errors of the copy are raised by :meth:`wait`; :meth:`discard` removes the copy.
    """

    def __init__(self, db_path: Path) -> None:
        for stale in db_path.parent.glob(f".{db_path.name}.ingest-*"):
            with contextlib.suppress(OSError):  # left by a killed ingest: we hold the lock
                if stale.is_dir():
                    shutil.rmtree(stale)
                else:
                    stale.unlink(missing_ok=True)
        self.db_path = db_path
        self.work = db_path.with_name(f".{db_path.name}.ingest-{os.getpid()}")
        self.step = "copying the database"
        """What the ingest is doing with the copy, for the message if a write fails."""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._copy, name="ingest-copy", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            if self.db_path.exists():
                shutil.copyfile(self.db_path, self.work)
        except BaseException as exc:  # raised in the caller's thread by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def discard(self) -> list[Path]:
        """Remove the working copy, its log and DuckDB's spill folder; return what could not be
        removed."""
        self._thread.join()
        left = []
        for path in (self.work, wal_path(self.work)):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                left.append(path)
        spill = self.work.with_name(self.work.name + ".tmp")
        shutil.rmtree(spill, ignore_errors=True)
        return [*left, spill] if spill.exists() else left


@contextmanager
def _copy_on_write(db_path: Path, copy: _WorkingCopy) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private working copy of the database, renamed over the original once the caller's
    transaction committed (the caller holds the ingest lock).

    DuckDB lets no reader open a file while a process writes it, so writing in place would
    block the leaderboard for the whole ingest. Here readers keep reading the previous file until
    the atomic rename, never wait for a writer, and never see a partial batch; an ingest that
    dies leaves the original untouched (its working copy is removed by the next ingest).

    A failed write at any step (disk full, file-size limit, permission denied: the copy, DuckDB's
    COMMIT and CHECKPOINT, the fsync, the rename) is a :class:`HarnessError` naming the step,
    and leaves the original as it was and no working copy. The caller sets ``copy.step`` while
    it writes in the transaction.
    """
    work = copy.work
    existed = db_path.exists()
    try:
        copy.wait()
        copy.step = "opening the working copy"
        con = duckdb.connect(str(work))
        try:
            copy.step = "writing the new rows"
            yield con
            copy.step = "checkpointing the working copy"
            con.execute("CHECKPOINT")
        finally:
            # after a FatalException DuckDB's database instance is unusable: closing the only
            # connection drops it (a later connect to this path opens the file afresh)
            _close(con)
        copy.step = "syncing the working copy"
        with work.open("rb+") as handle:
            os.fsync(handle.fileno())
        copy.step = "renaming the working copy into place"
        os.replace(work, db_path)
    except BaseException as exc:
        cause = None if isinstance(exc, HarnessError) else _write_failure(exc)
        if cause is None:
            raise
        reached = _file_size(work)
        left = copy.discard()
        raise _db_write_error(db_path, cause, copy.step, existed, reached, left) from exc
    finally:
        copy.discard()
    fsync_dir(db_path.parent)  # the rename is durable (best effort: it is done either way)


def _close(con: duckdb.DuckDBPyConnection) -> None:
    """Close a connection whose database may have been invalidated by a FatalException."""
    with contextlib.suppress(duckdb.Error):
        con.close()


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

_DUCKDB_IO = ("Could not write", "Could not read", "Could not truncate", "Could not fsync",
              "Could not open", "Failed to commit", "Failed to create checkpoint")  # fmt: skip
"""How DuckDB's messages start when one of its file operations failed (some say which errno
only in words, some not at all)."""


def _write_failure(exc: BaseException) -> OSError | None:
    """``exc`` as the failed file operation it reports, or None if it is not one (a bug, an
    interrupt: those propagate as they are).

    DuckDB reports a failed write as an IOException, as a FatalException (its CHECKPOINT;
    the database instance is then invalid), as a TransactionException (its COMMIT, when the
    write-ahead log cannot be written) or as an OutOfMemoryException (a block that cannot be
    spilled to its temporary folder)."""
    if isinstance(exc, OSError):
        return exc
    if not isinstance(exc, duckdb.Error):
        return None
    cause = as_os_error(exc)
    if cause.errno or isinstance(exc, (duckdb.IOException, duckdb.FatalException)):
        return cause
    return cause if any(marker in str(exc) for marker in _DUCKDB_IO) else None


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _free(folder: Path) -> str:
    try:
        return _size_text(shutil.disk_usage(folder).free)
    except OSError:
        return "an unknown amount"


def _db_write_error(
    db_path: Path,
    exc: BaseException,
    step: str | None = None,
    existed: bool = True,
    reached: int | None = None,
    left: Sequence[Path] = (),
) -> HarnessError:
    """The message of a failed write of the database: what failed (at which step, on which
    path), how much room the database needs, the state it is left in, and how to recover."""
    cause = as_os_error(exc)
    folder = db_path.parent
    where = f" ({step})" if step else ""
    state = (
        "The database is unchanged: nothing of this batch was stored"
        if existed
        else "No database was created: nothing of this batch was stored"
    )
    if left:
        removed = ", ".join(f"'{p}'" for p in left)
        state += f"; the working copy {removed} could not be removed: delete it"
    elif step is not None:
        state += ", and the working copy was removed"
    head = f"Could not write the results database '{db_path}'{where}: {cause.strerror or cause}."
    if cause.errno not in _DISK_FULL:
        hint = (
            f"Make '{folder}' writable"
            if cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            else f"Check '{folder}' and its disk"
        )
        return ArtefactWriteError(
            f"{head} {state}. {hint} (or point paths.database (--db) elsewhere), then rerun "
            "`harness ingest`."
        )
    size = _file_size(db_path) if existed else None
    if size:
        need = (
            "an ingest writes a working copy of the database beside it and renames it into "
            f"place, so it needs room for a second copy ({_size_text(size)} now) plus the new "
            "rows"
        )
    else:
        need = "the new database needs room for its file and DuckDB's write-ahead log"
    if reached:
        need += f" (the working copy had reached {_size_text(reached)} when the write failed)"
    if cause.errno == errno.EFBIG:
        fix = (
            "Raise the file-size limit (`ulimit -f`), or point paths.database (--db) at a "
            "filesystem that allows larger files, and free space there if needed"
        )
    else:
        fix = (
            "Delete files to free space there (or raise your quota), or point paths.database "
            "(--db) at a filesystem with room (moving the database file there)"
        )
    return ArtefactWriteError(
        f"{head} '{folder}' has {_free(folder)} free: {need}. {state}. {fix}, then rerun "
        "`harness ingest`."
    )


def connect_readonly(
    db_path: Path, attempts: int = 20, delay_s: float = 0.1
) -> duckdb.DuckDBPyConnection:
    """Open the database read-only, retrying while a writer holds it."""
    if not db_path.is_file():
        raise HarnessError(
            f"No results database at '{db_path}'. Run the pipeline first (`dvc repro`) or "
            "`harness ingest RESULT_FILES`."
        )
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return duckdb.connect(str(db_path), read_only=True)
        except duckdb.IOException as exc:  # locked by a writer in another process
            last = exc
            time.sleep(delay_s * (1 + attempt))
    raise HarnessError(f"The results database '{db_path}' stayed locked by a writer: {last}")


def _task_row(spec: TaskSpec) -> tuple[Any, ...]:
    if isinstance(spec.source, LocalSource):
        source, revision = str(spec.source.path), None
    else:
        source, revision = spec.source.id, spec.source.revision
    return (
        spec.name,
        spec.role,
        spec.kind,
        spec.xtreme_group,
        spec.train_language,
        spec.primary_metric,
        source,
        revision,
        spec.difficulty.rank if spec.difficulty else None,
        spec.model_dump_json(),
    )


def _same_result(con: duckdb.DuckDBPyConnection, key: str, result: ResultFile) -> bool | None:
    """None if the key is new; else whether the stored run has the same config and scores."""
    row = con.execute("SELECT config_hash FROM runs WHERE run_id = ?", [key]).fetchone()
    if row is None:
        return None
    stored = {
        (lang, split, metric): value
        for lang, split, metric, value in con.execute(
            "SELECT language, split, metric, value FROM scores WHERE run_id = ?", [key]
        ).fetchall()
    }
    new = {(s.language, s.split, s.metric): s.value for s in result.scores}
    return bool(row[0] == result.provenance.params_hash and stored == new)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one batch.

    A batch allocates an object per score row (about 100 rows a file); every 700 allocations the
    collector runs, and its older generations rescan every object the process holds (pandas,
    great-expectations, torch when loaded). That was two thirds of parsing 1000 result files.
    The batch's objects hold no reference cycles worth collecting early; the collector resumes,
    and catches up, when the batch ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ingest(
    db_path: Path,
    result_paths: Sequence[Path],
    languages: Sequence[dict[str, Any]],
    specs: Sequence[TaskSpec],
    replace: bool = False,
    quarantine_dir: Path | None = None,
    difficulty: Sequence[tuple[str, str, float, str, int]] = (),
    tiers: int = 3,
) -> dict[str, int]:
    """Validate result files and load the valid ones in one transaction; idempotent on the run
    key (model, intermediate, target, seed). ``tiers`` (``difficulty.tiers``) is stored for the
    ``difficulty_tiers`` view.

    Files that fail validation (:mod:`harness.results.validate`) are moved to ``quarantine_dir``
    beside a report and counted as ``quarantined``; without a quarantine folder any failure
    refuses the whole batch. A run already stored with other scores or another configuration is
    refused unless ``replace``. Either way, nothing stored changes unless the batch commits.

    ``difficulty`` rows ``(task, measure, value, model, seed)`` (from
    :func:`harness.results.schema.read_difficulty_file`) replace the stored value of their key in
    the same transaction; their count is reported as ``difficulty`` when any are given.
    """
    from harness.results.validate import quarantine, validate_files

    if not db_path.name or db_path.is_dir():
        raise HarnessError(
            f"'{db_path}' is a folder, not a database file: pass a file path such as "
            "results/xtransfer.duckdb (--db)."
        )
    # a symlink is written through to its target: the lock, the working copy and the final
    # rename are on the one real file, whichever name an ingest was given
    db_path = db_path.resolve()
    with _write_lock(db_path), _gc_paused():
        _require_duckdb_file(db_path)
        _checkpoint_stale_wal(db_path)
        # the copy of the database runs while the batch is validated
        copy = _WorkingCopy(db_path)
        try:
            report = validate_files(result_paths, [lang["code"] for lang in languages], specs)
            if not report.ok:
                if quarantine_dir is None:
                    raise HarnessError(
                        "Result files failed validation; nothing was written:\n"
                        + "\n".join(report.as_text(path) for path in sorted(report.problems))
                    )
                quarantine(report, quarantine_dir)
            return _write(db_path, copy, report, languages, specs, replace, difficulty, tiers)
        finally:
            copy.discard()  # the working copy, unless it was renamed into place


def _write(
    db_path: Path,
    copy: _WorkingCopy,
    report: Report,
    languages: Sequence[dict[str, Any]],
    specs: Sequence[TaskSpec],
    replace: bool,
    difficulty: Sequence[tuple[str, str, float, str, int]],
    tiers: int,
) -> dict[str, int]:
    """Write the valid files of ``report`` in one transaction on the working copy and rename it
    into place (the caller holds the ingest lock)."""
    results = report.valid
    keys = [run_key(r) for _, r in results]
    counts = {"added": 0, "unchanged": 0, "replaced": 0, "quarantined": len(report.problems)}
    with _copy_on_write(db_path, copy) as con:
        try:
            con.execute("BEGIN TRANSACTION")
            migrate(con, db_path)
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [TIERS_KEY, str(tiers)])
            con.executemany(
                "INSERT OR REPLACE INTO languages (code, name, family, genus, script, "
                "resource_class, distance_rank, xtreme, xtreme_r) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        lang["code"],
                        lang["name"],
                        lang.get("family"),
                        lang.get("genus"),
                        lang.get("script"),
                        lang.get("resource_class"),
                        lang.get("distance_rank"),
                        lang.get("xtreme", False),
                        lang.get("xtreme_r", False),
                    )
                    for lang in languages
                ],
            )
            con.executemany(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_task_row(spec) for spec in specs],
            )
            stored = _stored_keys(con, keys)
            to_insert = []
            for (path, result), key in zip(results, keys, strict=True):
                same = _same_result(con, key, result) if key in stored else None
                if same:
                    counts["unchanged"] += 1
                    continue
                if same is False:
                    if not replace:
                        raise HarnessError(
                            f"Run '{key}' is already stored with other scores or configuration; "
                            f"'{path}' would change it. Pass --replace to overwrite it."
                        )
                    con.execute("DELETE FROM scores WHERE run_id = ?", [key])
                    con.execute("DELETE FROM runs WHERE run_id = ?", [key])
                    counts["replaced"] += 1
                else:
                    counts["added"] += 1
                to_insert.append((key, result, path))
            _insert(con, to_insert)
            if difficulty:
                con.executemany(
                    "INSERT OR REPLACE INTO difficulty (task, measure, value, model, seed) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [tuple(row) for row in difficulty],
                )
                counts["difficulty"] = len(difficulty)
            refresh_cell_means(con)
            copy.step = "committing the new rows"
            con.execute("COMMIT")
        except BaseException:
            # no transaction is left to roll back if COMMIT itself failed, and a database
            # invalidated by a fatal error refuses every statement: the original error counts
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
    return counts


def _stored_keys(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the database already holds (one query for the whole batch)."""
    if not keys:
        return set()
    frame = pd.DataFrame({"run_id": list(keys)})
    con.register("batch_keys", frame)
    try:
        return {
            row[0]
            for row in con.execute(
                "SELECT run_id FROM runs JOIN batch_keys USING (run_id)"
            ).fetchall()
        }
    finally:
        con.unregister("batch_keys")


def _replication(result: ResultFile) -> tuple[bool | None, str | None]:
    """(exact, reasons joined) from a result's replication check; (None, None) if it has none."""
    check = result.provenance.replication
    if not isinstance(check, dict) or not isinstance(check.get("exact"), bool):
        return None, None
    reasons = check.get("reasons")
    notes = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) and reasons else None
    return check["exact"], notes


def _json(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True) if value is not None else None


RUN_COLUMNS = (
    "run_id", "model", "intermediate_task", "target_task", "seed", "config_hash", "git_commit",
    "git_dirty", "harness_version", "packages", "hardware", "started_at", "finished_at",
    "source_file", "dvc_stage_hash", "inputs", "container_image", "timings", "params",
    "exact_replication", "replication_notes", "throughput",
)  # fmt: skip
SCORE_COLUMNS = ("run_id", "language", "split", "metric", "value", "n_examples")


def _insert(con: duckdb.DuckDBPyConnection, items: Sequence[tuple[str, ResultFile, Path]]) -> None:
    """Insert runs and their scores in two set-wise statements (row-by-row inserts dominated
    the ingest time)."""
    if not items:
        return
    runs: dict[str, list[Any]] = {column: [] for column in RUN_COLUMNS}
    for key, result, path in items:
        p = result.provenance
        exact, notes = _replication(result)
        for column, value in zip(
            RUN_COLUMNS,
            (
                key, result.model, result.intermediate_task, result.target_task, result.seed,
                p.params_hash, p.git_commit, p.git_dirty, p.harness_version, _json(p.packages),
                _json(p.hardware), p.started_at, p.finished_at, str(path), p.dvc_stage_hash,
                _json(p.inputs), p.container_image, _json(p.timings), _json(p.params), exact,
                notes, _json(getattr(p, "throughput", None)),
            ),
            strict=True,
        ):  # fmt: skip
            runs[column].append(value)
    scores: dict[str, list[Any]] = {column: [] for column in SCORE_COLUMNS}
    for key, result, _ in items:
        scores["run_id"] += [key] * len(result.scores)
        scores["language"] += [s.language for s in result.scores]
        scores["split"] += [s.split for s in result.scores]
        scores["metric"] += [s.metric for s in result.scores]
        scores["value"] += [s.value for s in result.scores]
        scores["n_examples"] += [s.n_examples for s in result.scores]
    # built column by column: a dict or tuple per row cost more than the insert
    con.register("new_runs", pd.DataFrame(runs))
    con.register("new_scores", pd.DataFrame(scores))
    try:
        con.execute(
            "INSERT INTO runs BY NAME SELECT * REPLACE (started_at::TIMESTAMPTZ AS started_at, "
            "finished_at::TIMESTAMPTZ AS finished_at, packages::JSON AS packages, "
            "hardware::JSON AS hardware, inputs::JSON AS inputs, timings::JSON AS timings, "
            "params::JSON AS params, throughput::JSON AS throughput) FROM new_runs"
        )
        con.execute("INSERT INTO scores BY NAME SELECT * FROM new_scores")
    finally:
        con.unregister("new_runs")
        con.unregister("new_scores")

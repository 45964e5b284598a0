"""Replications (`harness replicate`): comparing a re-run cell's result file with the stored one,
explaining a difference by the provenance the two files record, printing the outcome, and
recording it in the results database.

A replication's **status** compares the scores, key by key (language, split, metric):

* ``exact``: every score bit-equal, and the same keys and example counts;
* ``within tolerance``: every score within ``tolerance`` (absolute, on the stored 0-1 scale);
* ``drifted``: a score further off, or a key or example count that differs.

The default tolerance, :data:`DEFAULT_TOLERANCE` (1e-6), admits only the rounding of an
aggregate (a mean summed in another order) and flags any changed prediction: a score is a mean
over examples, so one example that changes moves it by about 1/n, above 1e-6 for any test set
under a million examples.

The **differences** are what the two provenances record differently (parameters, input data,
package versions, hardware and device, code version, container image), in that order: the
first ones are the likelier causes of a drift. The outcome of each cell goes to the database's
``replications`` table of a sidecar database beside the results database (:func:`sidecar`;
not a DVC output, so re-ingesting loses none of them), under the results database's writer
lock; the leaderboard marks a cell whose last replication drifted.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from harness.errors import HarnessError
from harness.results.schema import ResultFile, run_key
from harness.results.store import _write_lock

DEFAULT_TOLERANCE = 1e-6
"""Largest absolute score difference still counted as a replication (0-1 scale)."""
STATUSES = ("exact", "within tolerance", "drifted", "failed")
"""Outcomes of a cell: ``failed`` when its re-run stopped with an error (nothing compared)."""
DRIFTED = "drifted"

REPLICATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS replications (
    run_id VARCHAR NOT NULL, config_hash VARCHAR NOT NULL, stored_finished_at TIMESTAMPTZ,
    replicated_at TIMESTAMPTZ NOT NULL, status VARCHAR NOT NULL, max_abs_diff DOUBLE,
    tolerance DOUBLE NOT NULL, rerun VARCHAR NOT NULL, cause VARCHAR, differences JSON,
    git_commit VARCHAR, git_dirty BOOLEAN, harness_version VARCHAR, packages JSON,
    hardware JSON, report VARCHAR, PRIMARY KEY (run_id, replicated_at)
);
"""
"""One row per replication of a stored run (``run_id`` and ``config_hash`` as in ``runs``;
``stored_finished_at`` the stored result's ``finished_at``, which tells a run replaced since
from the one replicated). It lives in the sidecar database (:func:`sidecar`), not in the
results database: that one is a DVC output, which `dvc repro` deletes and rebuilds whenever the
ingest stage re-runs, and which would read as modified (`dvc status`) after each recording."""


def sidecar(db_path: Path) -> Path:
    """The database of ``db_path``'s replications, beside it (``xtransfer.duckdb`` ->
    ``xtransfer.replications.duckdb``)."""
    return db_path.with_name(f"{db_path.stem}.replications{db_path.suffix or '.duckdb'}")


# ---------------------------------------------------------------------------------------------
# comparing two result files


ScoreKey = tuple[str, str, str]


def _scores(result: ResultFile) -> dict[ScoreKey, tuple[float | None, int]]:
    return {(s.language, s.split, s.metric): (s.value, s.n_examples) for s in result.scores}


def _diff(a: float | None, b: float | None) -> float | None:
    """The absolute difference; None when one side has no value (always a drift)."""
    return None if a is None or b is None else abs(a - b)


def compare_scores(
    stored: ResultFile, rerun: ResultFile, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Status of a re-run against the stored result (see the module's doc), the largest absolute
    score difference, the scores that differ (stored, now, difference), and the keys only one
    side has or whose example counts differ."""
    old, new = _scores(stored), _scores(rerun)
    common = sorted(set(old) & set(new))
    differing = [
        {
            "language": key[0], "split": key[1], "metric": key[2], "stored": old[key][0],
            "now": new[key][0], "diff": _diff(old[key][0], new[key][0]),
        }
        for key in common
        if old[key][0] != new[key][0]
    ]  # fmt: skip
    counts = [
        {"language": k[0], "split": k[1], "metric": k[2], "stored": old[k][1], "now": new[k][1]}
        for k in common
        if old[k][1] != new[k][1]
    ]
    missing = ["/".join(k) for k in sorted(set(old) - set(new))]
    extra = ["/".join(k) for k in sorted(set(new) - set(old))]
    diffs = [d["diff"] for d in differing]
    biggest = max((float(d) for d in diffs if d is not None), default=0.0)
    if missing or extra or counts or None in diffs or biggest > tolerance:
        status = DRIFTED
    elif differing:
        status = "within tolerance"
    else:
        status = "exact"
    return {
        "status": status,
        "max_abs_diff": biggest,
        "n_scores": len(common),
        "scores": sorted(differing, key=lambda d: -math.inf if d["diff"] is None else -d["diff"]),
        "n_examples": counts,
        "missing": missing,
        "extra": extra,
    }


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from _flat(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _changed(what: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One difference per key whose value differs (a key one side lacks: None on that side)."""
    return [
        {"what": what, "field": key, "stored": old.get(key), "now": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _devices(result: ResultFile) -> dict[str, Any]:
    """The device each run of the cell computed on (``provenance.throughput``), by run."""
    record = getattr(result.provenance, "throughput", None)
    if not isinstance(record, dict):
        return {}
    return {
        run: part.get("device")
        for run, part in record.items()
        if isinstance(part, dict) and part.get("device") is not None
    }


def provenance_differences(stored: ResultFile, rerun: ResultFile) -> list[dict[str, Any]]:
    """What the two provenances record differently, likeliest causes of a drift first:
    parameters (key by key), input data (DVC md5 of the task data and of the snapshot), package
    versions, hardware, the devices of the runs, code (harness version, git commit and dirty
    flag), container image. Input checkpoints are not compared here (the re-run's are new
    folders); timings and timestamps never are."""
    a, b = stored.provenance, rerun.provenance
    out: list[dict[str, Any]] = []
    if a.params_hash != b.params_hash:
        old, new = dict(_flat(a.params or {})), dict(_flat(b.params or {}))
        found = _changed("params", old, new)
        hashes = {"stored": a.params_hash, "now": b.params_hash}
        out += found or [{"what": "params", "field": "params_hash", **hashes}]
    shared = set(a.inputs or {}) & set(b.inputs or {})  # the task data: the same path in both
    out += _changed(
        "data",
        {k: v for k, v in (a.inputs or {}).items() if k in shared},
        {k: v for k, v in (b.inputs or {}).items() if k in shared},
    )
    snapshot = [
        (r.replication or {}).get("data_md5") if isinstance(r.replication, dict) else None
        for r in (a, b)
    ]
    if None not in snapshot and snapshot[0] != snapshot[1]:
        out.append(
            {"what": "data", "field": "snapshot md5", "stored": snapshot[0], "now": snapshot[1]}
        )
    out += _changed("packages", a.packages, b.packages)
    out += _changed("hardware", a.hardware, b.hardware)
    devices = _devices(stored), _devices(rerun)
    runs = set(devices[0]) & set(devices[1])  # a file written before throughput records none
    out += _changed("device", {r: devices[0][r] for r in runs}, {r: devices[1][r] for r in runs})
    code = ("harness_version", "git_commit", "git_dirty")
    out += _changed("code", {k: getattr(a, k) for k in code}, {k: getattr(b, k) for k in code})
    if a.container_image != b.container_image:
        out.append(
            {"what": "container", "field": "image", "stored": a.container_image,
             "now": b.container_image}
        )  # fmt: skip
    return out


def _short(value: Any, width: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def difference_text(difference: Mapping[str, Any]) -> str:
    """``packages torch: 2.3.0 -> 2.5.1`` (commits cut to 12 digits)."""
    old, new = difference["stored"], difference["now"]
    if difference["field"] == "git_commit":
        old, new = (v[:12] if isinstance(v, str) else v for v in (old, new))
    return f"{difference['what']} {difference['field']}: {_short(old)} -> {_short(new)}"


def cause(
    status: str,
    differences: Sequence[Mapping[str, Any]],
    checkpoints: Mapping[str, str],
    comparison: Mapping[str, Any],
    most: int = 3,
) -> str:
    """One line explaining a drift (or noting what differs in a replication that held): the
    first ``most`` provenance differences, and where the re-run's checkpoints first differ
    from the stored ones."""
    parts = [difference_text(d) for d in differences[:most]]
    if len(differences) > most:
        parts.append(f"{len(differences) - most} more differences")
    if status == DRIFTED:
        if comparison.get("missing") or comparison.get("extra"):
            parts.insert(
                0,
                f"scores missing: {len(comparison.get('missing', []))}, "
                f"new: {len(comparison.get('extra', []))}",
            )
        if comparison.get("n_examples"):
            parts.insert(0, f"example counts differ in {len(comparison['n_examples'])} scores")
        if not differences:
            parts.append(
                "no recorded provenance difference (nondeterminism, or a setting results do not "
                "record, such as compute.tf32)"
            )
    for what, verdict in checkpoints.items():
        if verdict in ("identical", "differ"):
            parts.append(f"{what} weights {verdict}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# the outcome: printed, and recorded in the database


def print_report(report: Mapping[str, Any]) -> None:
    """The replication table (rich): one row per cell with its status, largest difference,
    scores compared and stages re-run; below it each cell's cause (a drift) or provenance
    differences (a replication that held despite them), whole lines that can be copied; then
    the counts per status and the report's path."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    colours = {"exact": "green", "within tolerance": "cyan", DRIFTED: "red", "failed": "yellow"}
    table = Table(title=f"Replication (tolerance {report['tolerance']:g})", title_justify="left")
    table.add_column("cell", no_wrap=True)
    for column in ("status", "max |diff|", "scores", "re-ran"):
        table.add_column(column, overflow="fold")
    for cell in report["cells"]:
        status = cell["status"]
        diff = cell.get("max_abs_diff")
        table.add_row(
            cell["cell"],
            f"[{colours.get(status, 'white')}]{status}[/]",
            "-" if diff is None else f"{diff:.3g}",
            str(cell.get("n_scores", "-")),
            "+".join(cell["stages"]),
        )
    console = Console(soft_wrap=True)
    console.print(table)
    for cell in report["cells"]:
        if cell.get("cause"):
            label = "cause" if cell["status"] in (DRIFTED, "failed") else "note"
            console.print(f"{cell['cell']} {label}: {escape(cell['cause'])}", highlight=False)
    counts = ", ".join(f"{n} {s}" for s, n in report["summary"].items() if n)
    console.print(f"{counts}. Report: {report.get('report')}", highlight=False)


def _row(cell: Mapping[str, Any], report: Mapping[str, Any]) -> tuple[Any, ...]:
    env = report["environment"]
    return (
        cell["run_id"],
        cell["config_hash"],
        cell.get("stored_finished_at"),
        cell["replicated_at"],
        cell["status"],
        cell.get("max_abs_diff"),
        report["tolerance"],
        "+".join(cell["stages"]),
        cell.get("cause"),
        json.dumps(cell.get("differences", []), default=str),
        env.get("git_commit"),
        env.get("git_dirty"),
        env.get("harness_version"),
        json.dumps(env.get("packages", {}), sort_keys=True),
        json.dumps(env.get("hardware", {}), sort_keys=True, default=str),
        report.get("report"),
    )


def record(db_path: Path, report: Mapping[str, Any], lock_timeout_s: float = 600.0) -> int:
    """Record the compared cells of ``report`` (not the failed ones) in the ``replications``
    table of ``db_path``'s sidecar database (:func:`sidecar`), in one transaction, under the
    results database's writer lock (no ingest runs meanwhile); returns the count. A lock held by
    another writer for ``lock_timeout_s``, or a failed write, leaves both databases as they
    were and raises :class:`HarnessError` saying the report still has the outcomes."""
    rows = [_row(c, report) for c in report["cells"] if c["status"] != "failed"]
    if not rows:
        return 0
    target = sidecar(db_path)
    try:
        with _write_lock(db_path, lock_timeout_s):
            try:
                con = duckdb.connect(str(target))
            except (duckdb.Error, OSError) as exc:
                raise HarnessError(f"Could not open '{target}': {exc}") from exc
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(REPLICATIONS_TABLE)
                con.executemany(
                    "INSERT OR REPLACE INTO replications VALUES "
                    "(?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?::JSON, ?, ?, ?, "
                    "?::JSON, ?::JSON, ?)",
                    rows,
                )
                con.execute("COMMIT")
            except (duckdb.Error, OSError) as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise HarnessError(f"Writing to '{target}' failed: {exc}") from exc
            finally:
                con.close()
    except HarnessError as exc:
        raise HarnessError(
            f"The replication outcomes were not recorded in '{target}' (nothing in it "
            f"changed); the report '{report.get('report')}' has them. {exc}"
        ) from exc
    return len(rows)


def stored_identity(result: ResultFile) -> dict[str, Any]:
    """How a replication names the stored run: its key in ``runs`` (``run_id``), the
    configuration hash and the stored result's finish time."""
    return {
        "run_id": run_key(result),
        "result_run_id": result.run_id,
        "config_hash": result.provenance.params_hash,
        "stored_finished_at": result.provenance.finished_at,
    }


def attach_replications(con: duckdb.DuckDBPyConnection, db_path: Path) -> bool:
    """Attach ``db_path``'s sidecar (:func:`sidecar`) read-only to ``con`` as ``replicated``;
    False when there is none yet, or it has no replications table."""
    path = sidecar(db_path)
    if not path.is_file():
        return False
    for attempt in range(20):
        try:
            con.execute("ATTACH ? AS replicated (READ_ONLY)", [str(path)])
            break
        except duckdb.IOException:  # a replication being recorded: retry briefly
            time.sleep(0.05 * (1 + attempt))
    else:
        return False
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = 'replicated' AND table_name = 'replications'"
    ).fetchone()
    return bool(row and row[0])

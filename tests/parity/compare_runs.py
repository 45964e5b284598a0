"""Compare the outputs of two pipeline runs, e.g. the toy profile at the commit before a
behaviour-preserving refactor and at the commit after it.

Not collected by pytest. Run the pipeline in two fresh clones, then::

    git clone REPO /tmp/before && git -C /tmp/before checkout OLD
    git clone REPO /tmp/after
    (cd /tmp/before && python3 -m nox -s repro) && (cd /tmp/after && python3 -m nox -s repro)
    python -m tests.parity.compare_runs /tmp/before /tmp/after

It compares every result file's scores, run id and parameters hash, every per-example file,
difficulty file (but its timestamps), test-prediction file, analysis output and model weight
file byte for byte, and the rows of the DuckDB tables and views (runs by key and parameters:
their commits and timestamps differ by design). Exit status 1 on any difference.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

TABLES = {
    "languages": "SELECT * FROM languages",
    "tasks": "SELECT * FROM tasks",
    "scores": "SELECT * FROM scores",
    "difficulty": "SELECT * FROM difficulty",
    "cell_means": "SELECT * FROM cell_means",
    "runs (keys and parameters)": (
        "SELECT run_id, model, intermediate_task, target_task, seed, config_hash, "
        "harness_version, params, exact_replication FROM runs"
    ),
    "view gains": "SELECT * FROM gains",
    "view difficulty_tiers": "SELECT * FROM difficulty_tiers",
    "view difficulty_gains": "SELECT * FROM difficulty_gains",
}


def _bytes(path: Path) -> Any:
    return path.read_bytes()


def _cell(path: Path) -> Any:
    r = json.loads(path.read_text(encoding="utf-8"))
    scores = sorted(
        (s["language"], s["split"], s["metric"], s["value"], s["n_examples"]) for s in r["scores"]
    )
    return r["run_id"], r["primary_metric"], r["provenance"]["params_hash"], scores


def _difficulty(path: Path) -> Any:
    r = json.loads(path.read_text(encoding="utf-8"))
    for key in ("started_at", "finished_at", "seconds"):
        r.pop(key, None)
    return r


def _stable(value: Any) -> Any:
    # DuckDB's parallel aggregates (the views' means) add floats in an order that varies from
    # one query to the next: the same database gives results that differ in the last bits
    return float(f"{value:.12g}") if isinstance(value, float) else value


def _rows(root: Path, sql: str) -> list[Any]:
    con = duckdb.connect(str(root / "results/xtransfer.duckdb"), read_only=True)
    try:
        rows = [tuple(_stable(v) for v in row) for row in con.execute(sql).fetchall()]
        return sorted(rows, key=repr)
    finally:
        con.close()


def compare(a: Path, b: Path) -> tuple[dict[str, int], list[str]]:
    """(what was compared: kind -> count, the differences found) of two workspaces."""
    diffs: list[str] = []
    counts: dict[str, int] = {}

    def same_files(pattern: str, what: str, read: Callable[[Path], Any] = _bytes) -> None:
        fa = sorted(p.relative_to(a) for p in a.glob(pattern))
        fb = sorted(p.relative_to(b) for p in b.glob(pattern))
        if fa != fb:
            diffs.append(f"{what}: file lists differ: {sorted(set(fa) ^ set(fb))}")
        for rel in fa:
            if rel in fb:
                counts[what] = counts.get(what, 0) + 1
                if read(a / rel) != read(b / rel):
                    diffs.append(f"{what}: {rel} differs")

    same_files("results/cells/*[0-9].json", "result files (scores, run id, params hash)", _cell)
    same_files("results/cells/*.examples.jsonl", "per-example files")
    same_files("results/difficulty/*.json", "difficulty files (all but timestamps)", _difficulty)
    same_files("results/predictions/**/*.jsonl", "prediction files")
    same_files("results/analysis/*", "analysis outputs")
    same_files("models/**/model.safetensors", "model weights")
    for table, sql in TABLES.items():
        ra, rb = _rows(a, sql), _rows(b, sql)
        counts[f"DuckDB {table} rows"] = len(ra)
        if ra != rb:
            changed = len(set(map(repr, ra)) ^ set(map(repr, rb)))
            diffs.append(f"DuckDB {table}: {changed} rows differ")
    return counts, diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.parity.compare_runs BEFORE AFTER", file=sys.stderr)
        return 2
    counts, diffs = compare(Path(argv[0]), Path(argv[1]))
    for what, n in counts.items():
        print(f"{n:6d}  {what}")
    print(f"differences: {len(diffs)}")
    for line in diffs:
        print(f"  {line}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

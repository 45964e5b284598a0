"""Leaderboard first-render time per view at 1M score rows (server side, Streamlit AppTest).

Builds a synthetic results database at the current schema (13 models x 11 intermediate settings
x 12 target tasks x 3 seeds x 50 languages x 2 splits x 2 metrics = 1,029,600 score rows), then
renders each view once with an empty cache, the way a reader's first visit does, and prints the
time per view. Not part of the test suite: run with `nox -s bench` or
`python benchmarks/bench_leaderboard.py [--rows-scale 1.0]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import record  # noqa: E402
from harness.results.languages import language_rows  # noqa: E402
from harness.results.store import migrate, refresh_cell_means  # noqa: E402

GROUPS = ["classification", "tagging", "qa", "retrieval", "multi_choice"]
PAGES = ["Overview", "By language", "By difficulty", "Run details"]


def build(db: Path, models: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    languages = [row["code"] for row in language_rows() if row["xtreme_r"]]
    intermediates = ["none", *(f"task_{i:02d}" for i in range(10))]
    targets = [f"target_{i:02d}" for i in range(12)]
    con = duckdb.connect(str(db))
    con.execute("BEGIN TRANSACTION")
    migrate(con, db)
    rows = language_rows()
    con.executemany(
        "INSERT INTO languages (code, name, family, genus, script, resource_class, "
        "distance_rank, xtreme, xtreme_r) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [tuple(r[k] for k in ("code", "name", "family", "genus", "script", "resource_class",
                              "distance_rank", "xtreme", "xtreme_r")) for r in rows],
    )  # fmt: skip
    tasks = [
        (t, "target", "classification", GROUPS[i % len(GROUPS)], "en", "accuracy", "x", None,
         None, "{}")
        for i, t in enumerate(targets)
    ] + [
        (t, "intermediate", "classification", None, "en", "accuracy", "x", None, rank, "{}")
        for rank, t in enumerate(intermediates[1:], start=1)
    ]  # fmt: skip
    con.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tasks)
    runs = []
    for m in range(models):
        for i in intermediates:
            for t in targets:
                for s in range(3):
                    runs.append((f"model_{m:02d}", i, t, s))
    run_frame = pd.DataFrame(runs, columns=["model", "intermediate", "target", "seed"])
    run_frame["run_id"] = (
        run_frame["model"] + "/" + run_frame["intermediate"] + "/" + run_frame["target"]
        + "/s" + run_frame["seed"].astype(str)
    )  # fmt: skip
    runs_table = pd.DataFrame(
        {
            "run_id": run_frame["run_id"],
            "model": run_frame["model"],
            "intermediate_task": run_frame["intermediate"].where(
                run_frame["intermediate"] != "none", None
            ),
            "target_task": run_frame["target"],
            "seed": run_frame["seed"],
            "config_hash": "h",
            "git_commit": "c",
            "git_dirty": False,
            "harness_version": "0.1.0",
            "packages": json.dumps({"torch": "2.13.0"}),
            "hardware": json.dumps({"cpu": "x"}),
            "started_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "finished_at": pd.Timestamp("2026-01-01 01:00", tz="UTC"),
            "source_file": None,
            "dvc_stage_hash": "d",
            "inputs": json.dumps({}),
            "container_image": None,
            "timings": json.dumps({"evaluate": 1.0}),
            "params": json.dumps({"seed": 1}),
        }
    )
    con.register("runs_frame", runs_table)
    con.execute("INSERT INTO runs BY NAME SELECT * FROM runs_frame")
    n_runs = len(run_frame)
    per_run = len(languages) * 2 * 2
    scores = pd.DataFrame(
        {
            "run_id": np.repeat(run_frame["run_id"].to_numpy(), per_run),
            "language": np.tile(np.repeat(languages, 4), n_runs),
            "split": np.tile(["dev", "dev", "test", "test"], n_runs * len(languages)),
            "metric": np.tile(["accuracy", "f1"], n_runs * len(languages) * 2),
            "value": rng.uniform(0.2, 0.9, size=n_runs * per_run),
            "n_examples": 1000,
        }
    )
    con.register("scores_frame", scores)
    con.execute("INSERT INTO scores BY NAME SELECT * FROM scores_frame")
    refresh_cell_means(con)  # as every ingest does
    con.execute("COMMIT")
    con.close()
    return len(scores)


def render_seconds(db: Path, page: str) -> float:
    from streamlit.testing.v1 import AppTest

    sys.argv = ["app.py", "--db", str(db)]
    app = AppTest.from_file(str(REPO / "leaderboard" / "app.py"), default_timeout=600)
    app.query_params["page"] = page
    import streamlit as st

    st.cache_data.clear()
    started = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(f"{page}: {app.exception}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=13, help="13 gives ~1M score rows")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        n = build(db, args.models)
        print(f"built {n:,} score rows in {time.perf_counter() - started:.1f} s "
              f"({db.stat().st_size / 2**20:.0f} MiB)")  # fmt: skip
        print(f"{'view':<15} {'first render, median of ' + str(args.repeats):>28} {'max':>8}")
        for page in PAGES:
            times = [render_seconds(db, page) for _ in range(args.repeats)]
            print(f"{page:<15} {statistics.median(times):>26.2f} s {max(times):>6.2f} s")
            record(f"leaderboard ({n:,} score rows)", f"first render of {page}, median of "
                   f"{args.repeats}", statistics.median(times), "s", at_most=2.0)  # fmt: skip


if __name__ == "__main__":
    main()

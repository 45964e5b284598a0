"""The leaderboard's views, computed with pandas from one long frame of primary-metric scores.

:func:`load_scores` reads the frame (read-only, parametrised SQL); every other function here is
a pure function of frames, so the Streamlit app, the terminal and the tests share them.

Conventions: a *cell* is (model, intermediate task, target task); its zero-shot score is the mean
over the non-training languages, averaged over seeds; its *gain* is that minus the baseline's
(``none``) zero-shot score. Intervals are 95 % percentile bootstrap intervals (fixed seed, so a
page shows the same numbers on every load).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from harness.config import BASELINE
from harness.results.languages import resource_band
from harness.results.stats import (
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    Correlation,
    bootstrap_mean_interval,
    spearman_with_interval,
    tiers,
)

__all__ = [
    "BASELINE",
    "BENCHMARKS",
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "LANGUAGE_GROUPINGS",
    "Correlation",
    "bootstrap_mean_interval",
    "difficulty_relation",
    "drift_marks",
    "group_scores",
    "language_matrix",
    "load_difficulty",
    "load_replications",
    "load_runs",
    "load_scores",
    "load_tier_count",
    "overview",
    "replication_mark",
    "replication_status",
    "resource_band",
    "select",
    "spearman_with_interval",
]
Benchmark = Literal["all", "xtreme", "xtreme_r"]
BENCHMARKS: dict[str, str] = {"all": "all languages", "xtreme": "XTREME", "xtreme_r": "XTREME-R"}
LANGUAGE_GROUPINGS = ("family", "script", "resource_class")

SCORES_SQL = f"""
SELECT r.run_id, r.model, coalesce(r.intermediate_task, {BASELINE!r}) AS intermediate,
       r.target_task AS target, t.xtreme_group, r.seed, r.harness_version,
       s.language, coalesce(l.name, s.language) AS language_name, l.family, l.script,
       l.resource_class, l.distance_rank, coalesce(l.xtreme, false) AS xtreme,
       coalesce(l.xtreme_r, false) AS xtreme_r, s.language = t.train_language AS is_train_language,
       s.metric, s.value, b.value AS baseline, s.value - b.value AS gain,
       r.exact_replication
FROM scores s
JOIN runs r USING (run_id)
JOIN tasks t ON t.name = r.target_task AND t.primary_metric = s.metric
LEFT JOIN languages l ON l.code = s.language
LEFT JOIN runs br ON br.model = r.model AND br.target_task = r.target_task AND br.seed = r.seed
     AND br.intermediate_task IS NULL AND NOT list_contains($excluded, br.harness_version)
LEFT JOIN scores b ON b.run_id = br.run_id AND b.language = s.language AND b.split = s.split
     AND b.metric = s.metric
WHERE s.split = $split AND NOT list_contains($excluded, r.harness_version)
ORDER BY r.model, r.target_task, intermediate, r.seed, s.language
"""

RUNS_SQL = f"""
SELECT run_id, model, coalesce(intermediate_task, {BASELINE!r}) AS intermediate,
       target_task AS target, seed, harness_version, config_hash, params, git_commit, git_dirty,
       dvc_stage_hash, inputs, container_image, packages, hardware, timings, started_at,
       finished_at, source_file, exact_replication, replication_notes, throughput
FROM runs ORDER BY run_id
"""

REPLICATIONS_SQL = f"""
SELECT p.run_id, r.model, coalesce(r.intermediate_task, {BASELINE!r}) AS intermediate,
       r.target_task AS target, r.seed, p.replicated_at, p.status, p.max_abs_diff, p.tolerance,
       p.rerun, p.cause, p.git_commit, p.harness_version,
       row_number() OVER (PARTITION BY p.run_id ORDER BY p.replicated_at DESC) = 1 AS latest
FROM replicated.replications p
JOIN runs r ON r.run_id = p.run_id AND r.config_hash = p.config_hash
     AND (p.stored_finished_at IS NULL OR p.stored_finished_at = r.finished_at)
ORDER BY p.run_id, p.replicated_at DESC
"""
"""Every replication of a stored run (``harness replicate``) that still describes it: same
configuration, same stored result (a run replaced since is not marked by its predecessor's
replications); ``latest`` flags each run's last one."""
REPLICATION_COLUMNS = (
    "run_id", "model", "intermediate", "target", "seed", "replicated_at", "status",
    "max_abs_diff", "tolerance", "rerun", "cause", "git_commit", "harness_version", "latest",
)  # fmt: skip

DIFFICULTY_SQL = """
SELECT name AS task, 'constructed rank' AS measure, CAST(difficulty_rank AS DOUBLE) AS value
FROM tasks WHERE role = 'intermediate' AND difficulty_rank IS NOT NULL
UNION ALL
SELECT task, measure, avg(value) AS value FROM difficulty GROUP BY task, measure
ORDER BY measure, task
"""


TIERS_SQL = "SELECT max(TRY_CAST(value AS INTEGER)) FROM meta WHERE key = 'difficulty_tiers'"


def load_scores(
    con: duckdb.DuckDBPyConnection, split: str, exclude_versions: Sequence[str] = ()
) -> pd.DataFrame:
    """Primary-metric score of every run and language on ``split``, with the baseline's score
    for the same model, target, seed and language, and the language's metadata."""
    return con.execute(SCORES_SQL, {"split": split, "excluded": list(exclude_versions)}).df()


def load_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(RUNS_SQL).df()


def load_replications(con: duckdb.DuckDBPyConnection, db_path: Path) -> pd.DataFrame:
    """Replications of the stored runs, newest first per run (:data:`REPLICATIONS_SQL`), from
    the sidecar database of ``db_path`` (``con``'s database); empty where none was recorded."""
    from harness.results.replications import attach_replications

    if not attach_replications(con, db_path):
        return pd.DataFrame(columns=list(REPLICATION_COLUMNS))
    try:
        return con.execute(REPLICATIONS_SQL).df()
    finally:
        con.execute("DETACH replicated")


def replication_mark(row: pd.Series | dict[str, object]) -> str:
    """How the leaderboard shows one replication: ``⚠ drifted on 2026-12-08: <cause>``,
    ``✓ exact on 2026-12-08``, ``≈ within tolerance on 2026-12-08``."""
    when = pd.Timestamp(row["replicated_at"]).strftime("%Y-%m-%d")
    status = str(row["status"])
    if status == "drifted":
        return f"⚠ drifted on {when}: {row['cause'] or 'see the replication report'}"
    sign = "✓" if status == "exact" else "≈"
    return f"{sign} {status} on {when}"


def drift_marks(replications: pd.DataFrame) -> pd.DataFrame:
    """Per cell (model, intermediate, target): the mark of its runs' last replications (one per
    seed): the latest drift if any seed's last replication drifted, else the latest
    replication; cells never replicated have no row."""
    columns = ["model", "intermediate", "target", "drift_check"]
    last = replications[replications["latest"].astype(bool)] if len(replications) else None
    if last is None or last.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for key, group in last.groupby(["model", "intermediate", "target"], sort=True):
        drifted = group[group["status"] == "drifted"]
        chosen = (drifted if len(drifted) else group).sort_values("replicated_at").iloc[-1]
        out.append(dict(zip(columns[:3], key, strict=True), drift_check=replication_mark(chosen)))
    return pd.DataFrame(out, columns=columns)


def load_difficulty(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Difficulty of each intermediate task by measure: the constructed rank of toy tasks, and
    the measured values of the ``difficulty`` table (mean over models and seeds)."""
    return con.execute(DIFFICULTY_SQL).df()


def load_tier_count(con: duckdb.DuckDBPyConnection) -> int:
    """The number of difficulty tiers the last ingest stored (``difficulty.tiers``; 3 before
    any was stored)."""
    row = con.execute(TIERS_SQL).fetchone()
    return int(row[0]) if row and row[0] is not None else 3


def select(
    scores: pd.DataFrame,
    model: str | None = None,
    benchmark: str = "all",
    seed: int | None = None,
    include_train_language: bool = False,
) -> pd.DataFrame:
    """Rows of one model, of the languages of a benchmark, of one seed (None: all seeds)."""
    keep = pd.Series(True, index=scores.index)
    if model is not None:
        keep &= scores["model"] == model
    if benchmark in ("xtreme", "xtreme_r"):
        keep &= scores[benchmark].astype(bool)
    if seed is not None:
        keep &= scores["seed"] == seed
    if not include_train_language:
        keep &= ~scores["is_train_language"].astype(bool)
    return scores[keep]


def overview(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, intermediate, target): zero-shot mean, gain over the baseline with a
    bootstrap interval over (language, seed) gains, and whether it is the best intermediate
    setting for that target. ``rows`` come from :func:`select` (train language excluded)."""
    columns = [
        "model", "intermediate", "target", "xtreme_group", "zero_shot", "gain", "gain_low",
        "gain_high", "n_languages", "n_seeds", "best", "replication",
    ]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = []
    keys = ["model", "intermediate", "target", "xtreme_group"]
    for key, group in rows.groupby(keys, sort=True, dropna=False):
        per_seed = group.groupby("seed")["value"].mean()
        gains = group["gain"].to_numpy(dtype=float)
        low, high = bootstrap_mean_interval(gains)
        out.append(
            dict(
                zip(keys, key, strict=True),
                zero_shot=float(per_seed.mean()),
                gain=float(np.nanmean(gains)) if not np.isnan(gains).all() else float("nan"),
                gain_low=low,
                gain_high=high,
                n_languages=int(group["language"].nunique()),
                n_seeds=int(group["seed"].nunique()),
                replication=replication_status(group),
            )
        )
    frame = pd.DataFrame(out)
    frame.loc[frame["intermediate"] == BASELINE, ["gain", "gain_low", "gain_high"]] = 0.0
    best = frame.groupby(["model", "target"])["zero_shot"].transform("max")
    frame["best"] = frame["zero_shot"] == best
    return frame[columns]


def replication_status(rows: pd.DataFrame) -> str:
    """``exact`` if every run behind ``rows`` is an exact replication (committed code, pinned
    data), ``not exact`` if any is not, ``unknown`` if some predate the check."""
    flags = rows["exact_replication"] if "exact_replication" in rows else pd.Series([None])
    if (flags == False).any():  # noqa: E712 (a nullable column: False, not falsy)
        return "not exact"
    if flags.isna().any():
        return "unknown"
    return "exact"


def group_scores(cells: pd.DataFrame) -> pd.DataFrame:
    """XTREME-style summary per (model, intermediate): the mean zero-shot score of each task
    group (classification, tagging, ...) and the overall score, the mean of the group means."""
    if cells.empty:
        return pd.DataFrame(columns=["model", "intermediate", "overall"])
    groups = cells.groupby(["model", "intermediate", "xtreme_group"])["zero_shot"].mean().unstack()
    groups["overall"] = groups.mean(axis=1)
    return groups.reset_index()


def language_matrix(
    rows: pd.DataFrame, target: str, value: Literal["value", "gain"] = "gain"
) -> pd.DataFrame:
    """Long frame for a heatmap of one target task: intermediate x language, mean over seeds of
    ``value`` (the score or the gain over the baseline), with the language's metadata."""
    part = rows[rows["target"] == target]
    keys = ["intermediate", "language", "language_name", "family", "script", "resource_class"]
    return (
        part.groupby(keys, dropna=False)[value]
        .mean()
        .reset_index()
        .rename(columns={value: "value"})
        .assign(best=lambda f: f["value"] == f.groupby("language")["value"].transform("max"))
    )


def difficulty_relation(
    rows: pd.DataFrame,
    difficulty: pd.DataFrame,
    measure: str,
    band: str = "all",
    n_tiers: int = 3,
) -> tuple[pd.DataFrame, Correlation]:
    """Per intermediate task: its difficulty (``measure``), tier (of ``n_tiers``,
    :func:`harness.results.stats.tiers`), and mean zero-shot gain over the languages of resource
    ``band`` (``all`` or a :func:`resource_band` label) and every target task; and the rank
    correlation of difficulty with gain."""
    chosen = difficulty[difficulty["measure"] == measure][["task", "value"]]
    part = rows[rows["intermediate"] != BASELINE]
    if band != "all":
        part = part[part["resource_class"].map(resource_band) == band]
    gains = part.groupby("intermediate")["gain"].mean().rename("gain").reset_index()
    frame = chosen.rename(columns={"task": "intermediate", "value": "difficulty"}).merge(
        gains, on="intermediate", how="inner"
    )
    tier_of = tiers(dict(zip(frame["intermediate"], frame["difficulty"], strict=True)), n_tiers)
    frame["tier"] = [tier_of[task] for task in frame["intermediate"]]
    return frame, spearman_with_interval(frame["difficulty"], frame["gain"])

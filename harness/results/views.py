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
    "GROUP_ORDER",
    "LANGUAGE_GROUPINGS",
    "MATRIX_AVERAGE",
    "MATRIX_FIELDS",
    "Correlation",
    "bootstrap_mean_interval",
    "difficulty_relation",
    "drift_marks",
    "flat_matrix",
    "group_scores",
    "language_matrix",
    "load_difficulty",
    "load_replications",
    "load_runs",
    "load_scores",
    "load_tier_count",
    "matrix_colours",
    "overview",
    "paper_matrix",
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


MATRIX_AVERAGE = "average"
"""The paper matrix's last column: the XTREME-style average (:func:`group_scores`' overall)."""
MATRIX_FIELDS = ("text", "value", "low", "high", "significant")
"""The fields of every cell of :func:`paper_matrix` (the first level of its columns)."""
GROUP_ORDER = ("classification", "multi_choice", "tagging", "qa", "retrieval")
"""The order of the task groups in the paper matrix, as XTREME's tables print them (groups
not listed here follow, alphabetically)."""


def _target_order(cells: pd.DataFrame) -> list[str]:
    """Target tasks ordered by task group (:data:`GROUP_ORDER`), then by name."""
    rank = {group: i for i, group in enumerate(GROUP_ORDER)}
    groups = cells.drop_duplicates("target").set_index("target")["xtreme_group"]
    keys = {
        str(target): (rank.get(str(group), len(GROUP_ORDER)), str(group), str(target))
        for target, group in groups.fillna("").items()
    }
    return sorted(keys, key=keys.__getitem__)


def _cell_text(is_baseline: bool, value: float, low: float, high: float, score: float) -> str:
    if is_baseline:
        return "" if np.isnan(value) else f"{value:.1f}"
    if np.isnan(value):  # a score without a baseline score to compare with: in parentheses
        return "" if np.isnan(score) else f"({score:.1f})"
    if np.isnan(low) or np.isnan(high):
        return f"{value:+.1f}"
    return f"{value:+.1f} [{low:+.1f}, {high:+.1f}]"


def paper_matrix(cells: pd.DataFrame, scale: float = 100.0) -> pd.DataFrame:
    """The Overview as papers print it, from :func:`overview`'s cells: one row per (model,
    intermediate setting), baseline (``none``) first; one column per target task (ordered by
    task group) and the XTREME-style :data:`MATRIX_AVERAGE`.

    The baseline row holds the zero-shot *scores*; every other row the *gain* over the
    baseline with its 95 % interval. The average column holds :func:`group_scores`' overall
    score (the mean over task groups of the group means) for the baseline, and for the other
    rows that overall score minus the baseline's; it has no interval (:func:`overview` keeps
    no bootstrap samples to combine) and is left empty for a row that lacks a target task
    its model has elsewhere (an average over other tasks is not comparable).

    Columns are two-level, (field, column), field one of :data:`MATRIX_FIELDS`: ``text``
    ("61.2" for a score, "+3.1 [+0.4, +5.9]" for a gain, "+3.1" for a gain without an
    interval, "(49.2)" for a score whose gain has no baseline, "" for a missing cell),
    ``value`` (the score or gain), ``low`` and ``high`` (the interval), all multiplied by
    ``scale`` (points by default), and ``significant`` (1 / -1 where the interval lies above /
    below 0, 0 where it includes 0, NaN without an interval). Missing cells are NaN, never 0.
    """
    index_names = ["model", "intermediate"]
    if cells.empty:
        columns = pd.MultiIndex.from_product([MATRIX_FIELDS, [MATRIX_AVERAGE]])
        empty_index = pd.MultiIndex.from_tuples([], names=index_names)
        return pd.DataFrame(index=empty_index, columns=columns, dtype=object)
    targets = _target_order(cells)
    keyed = cells.set_index([*index_names, "target"])
    baseline = keyed.index.get_level_values("intermediate") == BASELINE

    def wide(values: pd.Series) -> pd.DataFrame:
        frame = values.astype(float).unstack("target").reindex(columns=targets)
        return frame * scale

    value = wide(keyed["zero_shot"].where(baseline, keyed["gain"]))
    low = wide(keyed["gain_low"].where(~baseline))
    high = wide(keyed["gain_high"].where(~baseline))
    score = wide(keyed["zero_shot"])

    overall = group_scores(cells).set_index(index_names)["overall"].reindex(value.index) * scale
    # a row is complete when it has a score for every target its model has in any row
    has = score.notna()
    present = has.groupby(level="model").transform("any")
    complete = (has | ~present).all(axis=1)
    overall = overall.where(complete)
    is_base = value.index.get_level_values("intermediate") == BASELINE
    base_overall = overall[is_base].droplevel("intermediate")
    models = value.index.get_level_values("model")
    base_for_row = base_overall.reindex(models).to_numpy()
    value[MATRIX_AVERAGE] = np.where(is_base, overall, overall.to_numpy() - base_for_row)
    for frame in (low, high, score):
        frame[MATRIX_AVERAGE] = np.nan
    score[MATRIX_AVERAGE] = overall

    significant = pd.DataFrame(
        np.select([low > 0, high < 0], [1.0, -1.0], default=0.0),
        index=value.index,
        columns=value.columns,
    ).where(low.notna() & high.notna())
    text = pd.DataFrame(
        [
            [
                _cell_text(row_is_base, v, lo, hi, sc)
                for v, lo, hi, sc in zip(v_row, lo_row, hi_row, sc_row, strict=True)
            ]
            for row_is_base, v_row, lo_row, hi_row, sc_row in zip(
                is_base,
                value.to_numpy(dtype=float),
                low.to_numpy(dtype=float),
                high.to_numpy(dtype=float),
                score.to_numpy(dtype=float),
                strict=True,
            )
        ],
        index=value.index,
        columns=value.columns,
    )
    matrix = pd.concat(
        {"text": text, "value": value, "low": low, "high": high, "significant": significant},
        axis=1,
    )
    order = sorted(
        range(len(matrix)),
        key=lambda i: (str(models[i]), not is_base[i], str(matrix.index[i][1])),
    )
    return matrix.iloc[order]


def flat_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """:func:`paper_matrix` as one flat table (a CSV download): ``model``, ``intermediate``,
    then per column its text and ``<column> value|low|high|significant``."""
    flat = matrix["text"].copy()
    for column in matrix["text"].columns:
        for field in MATRIX_FIELDS[1:]:
            flat[f"{column} {field}"] = matrix[(field, column)]
    ordered = [
        name
        for column in matrix["text"].columns
        for name in (column, *(f"{column} {field}" for field in MATRIX_FIELDS[1:]))
    ]
    return flat[ordered].reset_index()


MATRIX_COLOURS = {
    1: "34, 139, 34",  # significant gain: green
    -1: "200, 40, 40",  # significant loss: red
}
NEUTRAL = "background-color: rgba(128, 128, 128, 0.18)"
SIGN_FONT = {1: "color: #1a7f37", -1: "color: #c62828"}


def matrix_colours(matrix: pd.DataFrame) -> pd.DataFrame:
    """CSS for each text cell of :func:`paper_matrix` (a pandas Styler's ``apply``): gains
    whose interval excludes 0 green (above) or red (below), stronger the larger the gain
    (relative to the largest such gain in the matrix); gains whose interval includes 0
    neutral grey; gains without an interval (the average) only a green or red font; the
    baseline row and missing cells unstyled."""
    value = matrix["value"].to_numpy(dtype=float)
    significant = matrix["significant"].to_numpy(dtype=float)
    is_base = matrix.index.get_level_values("intermediate") == BASELINE
    magnitude = np.abs(np.where(np.isin(significant, (1.0, -1.0)), value, np.nan))
    largest = float(np.nanmax(magnitude)) if np.isfinite(magnitude).any() else 1.0
    css = np.full(value.shape, "", dtype=object)
    for i, j in np.ndindex(value.shape):
        if is_base[i] or np.isnan(value[i, j]):
            continue
        if significant[i, j] in MATRIX_COLOURS:
            share = abs(value[i, j]) / largest if largest > 0 else 1.0
            alpha = 0.25 + 0.45 * min(share, 1.0)
            rgb = MATRIX_COLOURS[int(significant[i, j])]
            css[i, j] = f"background-color: rgba({rgb}, {alpha:.2f})"
        elif significant[i, j] == 0:
            css[i, j] = NEUTRAL
        elif value[i, j] != 0:
            css[i, j] = SIGN_FONT[1 if value[i, j] > 0 else -1]
    return pd.DataFrame(css, index=matrix.index, columns=matrix["text"].columns)


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

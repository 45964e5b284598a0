"""xtransfer leaderboard (Streamlit). Read-only over the results database.

Run: ``streamlit run leaderboard/app.py -- --db results/xtransfer.duckdb``

Four views (Overview, By language, By difficulty, Run details) share the filters in the
sidebar. Every filter lives in the URL's query parameters, so a view can be shared; values in
the URL that are not valid choices are ignored with a note. The database is opened read-only,
briefly, and queries are cached for 30 s.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from harness.errors import HarnessError
from harness.results.schema import ORACLE_SPLIT
from harness.results.store import connect_readonly, require_current_schema
from harness.results.views import (
    BASELINE,
    BENCHMARKS,
    LANGUAGE_GROUPINGS,
    difficulty_relation,
    drift_marks,
    flat_matrix,
    group_scores,
    language_matrix,
    load_difficulty,
    load_replications,
    load_runs,
    load_scores,
    load_tier_count,
    matrix_colours,
    overview,
    paper_matrix,
    replication_mark,
    select,
)

DEFAULT_DB = Path("results/xtransfer.duckdb")
PAGES = ("Overview", "By language", "By difficulty", "Run details")
SPLITS = {
    "test": "test (model selected on English dev)",
    "dev": "dev",
    ORACLE_SPLIT: "test (target-dev oracle: best mean target-language dev)",
}
BANDS = ("all", "low (0-2)", "mid (3)", "high (4-5)")
MEAN = "mean over seeds"


def _db_path() -> Path:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.db)


@st.cache_data(ttl=30, show_spinner=False)
def _runs(db: str) -> pd.DataFrame:
    con = connect_readonly(Path(db))
    try:
        require_current_schema(con, Path(db))
        return load_runs(con)
    finally:
        con.close()


@st.cache_data(ttl=30, show_spinner=False)
def _scores(
    db: str, split: str, excluded: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Open briefly, read, close: the app never holds the database open. Returns the scores,
    the difficulty measures and the number of difficulty tiers (``difficulty.tiers``)."""
    con = connect_readonly(Path(db))
    try:
        return load_scores(con, split, excluded), load_difficulty(con), load_tier_count(con)
    finally:
        con.close()


@st.cache_data(ttl=30, show_spinner=False)
def _replications(db: str) -> pd.DataFrame:
    """The stored runs' replications (`harness replicate`), newest first per run."""
    con = connect_readonly(Path(db))
    try:
        return load_replications(con, Path(db))
    finally:
        con.close()


class Url:
    """Filters backed by the URL's query parameters; unknown values are ignored, with a note."""

    def __init__(self) -> None:
        self.ignored: list[str] = []
        self.chosen: dict[str, str | list[str]] = {}
        self.noted: set[str] = set()

    def _initial(self, key: str, options: Sequence[str], default: str) -> str:
        wanted = st.query_params.get(key)
        if wanted is None:
            return default
        if wanted in options:
            return wanted
        self.ignored.append(key)
        return default

    def choice(
        self,
        label: str,
        key: str,
        options: Sequence[str],
        default: str | None = None,
        where: Any = st.sidebar,
        **kwargs: Any,
    ) -> str:
        options = list(options)
        initial = self._initial(key, options, default if default is not None else options[0])
        if key not in st.session_state or st.session_state[key] not in options:
            st.session_state[key] = initial
        value = str(where.selectbox(label, options, key=key, **kwargs))
        self.chosen[key] = value
        return value

    def flag(self, label: str, key: str, default: bool, where: Any = st) -> bool:
        initial = self._initial(key, ["0", "1"], "1" if default else "0") == "1"
        if key not in st.session_state:
            st.session_state[key] = initial
        value = bool(where.toggle(label, key=key))
        self.chosen[key] = "1" if value else "0"
        return value

    def several(
        self, label: str, key: str, options: Sequence[str], where: Any = st.sidebar
    ) -> list[str]:
        wanted = [v for v in st.query_params.get_all(key) if v]
        if any(v not in options for v in wanted):
            self.ignored.append(key)
        if key not in st.session_state:
            st.session_state[key] = [v for v in wanted if v in options]
        value = list(where.multiselect(label, list(options), key=key))
        self.chosen[key] = value
        return value

    def publish(self) -> None:
        """Write the current filters back to the URL."""
        for key, value in self.chosen.items():
            if st.query_params.get_all(key) != (value if isinstance(value, list) else [value]):
                st.query_params[key] = value
        fresh = sorted(set(self.ignored) - self.noted)
        if fresh:
            st.sidebar.caption("Ignored URL values that are not valid choices: " + ", ".join(fresh))
            self.noted.update(fresh)


def _points(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Scores and gains as points (x100), the unit the tables show."""
    out = frame.copy()
    for column in columns:
        out[column] = out[column] * 100
    return out


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        f"Download {name} (CSV)",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
    )


REPLICATION_MARKS = {"exact": "exact", "not exact": "⚠ not exact", "unknown": "unknown"}
NUMBER = st.column_config.NumberColumn(format="%.2f")
SIGNED = st.column_config.NumberColumn(format="%+.2f")


def _matrix(cells: pd.DataFrame) -> None:
    """The paper-style matrix: intermediate settings x target tasks (+ the XTREME average),
    colour-coded by the gain's interval."""
    st.subheader("Intermediate setting x target task, as papers print it")
    st.caption(
        "Rows: intermediate settings; columns: target tasks (by XTREME task group) and the "
        "XTREME-style average (the mean over task groups of the group means). Zero-shot mean "
        "over the non-English languages, in points (x100). The baseline row "
        f"({BASELINE}: no intermediate task) shows scores; every other row shows the gain "
        "over the baseline with its 95% bootstrap interval over (language, seed) gains, "
        "+3.1 [+0.4, +5.9]. Green / red: the interval lies above / below 0 (stronger for "
        "larger gains); grey: the interval includes 0. The average's gain is the row's "
        "average minus the baseline's, with no interval (the per-target intervals come from "
        "separate bootstraps and are not combined), so only its font shows its sign; it is "
        "empty for a row that lacks one of the target tasks. A score in parentheses has no "
        "baseline score to compare with; an empty cell has no runs in this selection."
    )
    matrix = paper_matrix(cells)
    text = matrix["text"].reset_index().drop(columns=["model"])
    text.columns.name = None
    css = matrix_colours(matrix).reset_index(drop=True)
    css.insert(0, "intermediate", "")
    css.columns = text.columns
    st.dataframe(
        text.style.apply(lambda _: css, axis=None),
        hide_index=True,
        width="stretch",
        key="matrix_table",
    )
    _download(flat_matrix(matrix), "overview_matrix", "dl_matrix")


def page_overview(rows: pd.DataFrame, replications: pd.DataFrame | None = None) -> None:
    cells = overview(rows)
    table = _points(cells, ["zero_shot", "gain", "gain_low", "gain_high"])
    table["best"] = table["best"].map({True: "★", False: ""})
    table["replication"] = table["replication"].map(REPLICATION_MARKS)
    if replications is not None and len(replications):
        marks = drift_marks(replications)
        table = table.merge(marks, on=["model", "intermediate", "target"], how="left")
        table["drift_check"] = table["drift_check"].fillna("")
        if table["drift_check"].str.startswith("⚠").any():
            st.warning(
                "⚠ drifted: the last `harness replicate` of a run of a cell did not reproduce "
                "its stored scores (All cells, below, marks the cell, the date and the cause; "
                "Run details has the run's replications)."
            )
    if (cells["replication"] == "not exact").any():
        st.warning(
            "⚠ marks cells (All cells, below) with a run that is not an exact replication "
            "(uncommitted code, data that differ from the snapshot pinned in data.dvc, or an "
            "unpinned Hub revision): see Run details."
        )
    _matrix(cells)
    st.subheader("All cells: zero-shot mean over non-English languages")
    st.caption(
        "Scores and gains in points (x100). Gain: zero-shot mean minus the baseline's (no "
        "intermediate task); 95% bootstrap interval over (language, seed) gains. "
        "★ marks the best intermediate setting per target task. Click a column to sort."
    )
    st.dataframe(
        table.drop(columns=["model"]),
        hide_index=True,
        width="stretch",
        key="overview_table",
        column_config={
            "zero_shot": NUMBER,
            "gain": SIGNED,
            "gain_low": SIGNED,
            "gain_high": SIGNED,
        },
    )
    _download(table, "overview", "dl_overview")
    st.subheader("Task-group scores and overall average")
    st.caption("Mean zero-shot score per XTREME task group; overall = mean of the group means.")
    groups = group_scores(cells)
    numeric = [c for c in groups.columns if c not in ("model", "intermediate")]
    groups = _points(groups, numeric)
    st.dataframe(
        groups.drop(columns=["model"]),
        hide_index=True,
        width="stretch",
        key="groups_table",
        column_config={c: NUMBER for c in numeric},
    )
    _download(groups, "group_scores", "dl_groups")


def page_by_language(url: Url, rows_all_languages: pd.DataFrame) -> None:
    targets = sorted(rows_all_languages["target"].unique())
    target = url.choice("Target task", "target", targets, where=st)
    value = url.choice("Show", "show", ["gain", "value"], where=st, format_func=_show_label)
    grouping = url.choice("Group languages by", "group", LANGUAGE_GROUPINGS, where=st)
    english = url.flag("Include the training language (English)", "english", default=False)
    rows = rows_all_languages
    if not english:
        rows = rows[~rows["is_train_language"].astype(bool)]
    matrix = _points(language_matrix(rows, target, value), ["value"])  # type: ignore[arg-type]
    if matrix.empty:
        st.info("No scores for this selection.")
        return
    matrix["group"] = matrix[grouping].astype(str)
    order = matrix.sort_values(["group", "language"])["language"].drop_duplicates().tolist()
    title = "gain over the baseline (points)" if value == "gain" else "score (points)"
    heat = (
        alt.Chart(matrix)
        .mark_rect()
        .encode(
            x=alt.X("language:N", sort=order, title=f"language (grouped by {grouping})"),
            y=alt.Y("intermediate:N", title="intermediate task"),
            color=alt.Color(
                "value:Q",
                title=title,
                scale=alt.Scale(scheme="redblue", domainMid=0)
                if value == "gain"
                else alt.Undefined,
            ),
            tooltip=[
                "intermediate",
                "language",
                "language_name",
                "group",
                alt.Tooltip("value:Q", format=".2f"),
            ],
        )
    )
    labels = heat.mark_text(fontSize=11).encode(
        text=alt.Text("value:Q", format=".1f"), color=alt.value("black")
    )
    st.altair_chart(heat + labels, width="stretch")
    table = matrix.pivot(index="intermediate", columns="language", values="value")[order]
    st.dataframe(
        table, width="stretch", key="language_table", column_config={c: NUMBER for c in order}
    )
    best = (
        matrix[matrix["intermediate"] != BASELINE]
        .sort_values("value", ascending=False)
        .drop_duplicates("language")
        .sort_values(["group", "language"])[
            ["language", "language_name", "group", "intermediate", "value"]
        ]
        .rename(columns={"intermediate": "best intermediate task", "value": title})
    )
    st.caption("Best intermediate task per language")
    st.dataframe(
        best, hide_index=True, width="stretch", key="best_table", column_config={title: NUMBER}
    )
    _download(matrix.drop(columns=["best"]), f"by_language_{target}", "dl_language")


def _show_label(value: str) -> str:
    return "gain over baseline" if value == "gain" else "score"


def page_by_difficulty(
    url: Url, rows: pd.DataFrame, difficulty: pd.DataFrame, n_tiers: int = 3
) -> None:
    measures = sorted(difficulty["measure"].unique())
    if not measures:
        st.info("No difficulty measures for the intermediate tasks yet.")
        return
    measure = url.choice("Difficulty measure", "measure", measures, where=st)
    band = url.choice("Languages (resource class, Joshi et al. 2020)", "band", BANDS, where=st)
    levels = ["all", *(str(t) for t in range(1, n_tiers + 1))]
    tier = url.choice("Difficulty tier", "tier", levels, where=st)
    frame, correlation = difficulty_relation(rows, difficulty, measure, band, n_tiers)
    if tier != "all":
        frame = frame[frame["tier"] == int(tier)]
    if frame.empty:
        st.info("No intermediate task has both a difficulty and a gain for this selection.")
        return
    frame = _points(frame, ["gain"])
    st.caption(
        "One point per intermediate task: its difficulty against its mean zero-shot gain over "
        "the chosen languages and every target task (points). Tier 1 = the easiest tasks."
    )
    points = (
        alt.Chart(frame)
        .mark_circle(size=120)
        .encode(
            x=alt.X("difficulty:Q", title=measure),
            y=alt.Y("gain:Q", title="mean zero-shot gain (points)"),
            color=alt.Color("tier:N"),
            tooltip=["intermediate", "difficulty", alt.Tooltip("gain:Q", format="+.2f"), "tier"],
        )
    )
    names = points.mark_text(dy=-12).encode(text="intermediate:N")
    st.altair_chart(points + names, width="stretch")
    interval = (
        f"95% bootstrap interval [{correlation.low:+.2f}, {correlation.high:+.2f}]"
        if correlation.low == correlation.low
        else "interval needs more tasks"
    )
    st.metric(
        "Spearman rank correlation, difficulty vs gain (all tiers)",
        "n/a" if correlation.rho != correlation.rho else f"{correlation.rho:+.2f}",
        help=f"{interval}; n = {correlation.n} intermediate tasks",
    )
    st.caption(f"{interval}; n = {correlation.n} intermediate tasks.")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="difficulty_table",
        column_config={"gain": SIGNED},
    )
    _download(frame, "by_difficulty", "dl_difficulty")


def _throughput(value: Any) -> None:
    """The run's throughput per phase (training and evaluation), as a table."""
    record = json.loads(value) if isinstance(value, str) else None
    if not record:
        return
    columns = (
        "real_tokens", "padding_fraction", "tokens_per_s", "model_tflops_per_s", "mfu",
        "device", "device_hours",
    )  # fmt: skip
    rows = [{"run": phase, **{c: part.get(c) for c in columns}} for phase, part in record.items()]
    st.caption("throughput (model FLOPs count real tokens only; MFU against the device's peak)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="run_throughput")


def _replication_history(run: str, replications: pd.DataFrame | None) -> None:
    """The run's replications, newest first; a warning when the last one drifted."""
    if replications is None or not len(replications):
        return
    mine = replications[replications["run_id"] == run]
    if mine.empty:
        return
    if mine.iloc[0]["status"] == "drifted":
        st.warning(replication_mark(mine.iloc[0]))
    st.caption("replications (`harness replicate`), newest first")
    columns = ["replicated_at", "status", "max_abs_diff", "tolerance", "rerun", "cause"]
    st.dataframe(mine[columns], hide_index=True, width="stretch", key="run_replications")


def page_run_details(
    url: Url, runs: pd.DataFrame, replications: pd.DataFrame | None = None
) -> None:
    run = url.choice("Run", "run", runs["run_id"].tolist(), where=st)
    row = runs[runs["run_id"] == run].iloc[0]
    fields = (
        "model", "intermediate", "target", "seed", "harness_version", "config_hash",
        "git_commit", "git_dirty", "dvc_stage_hash", "container_image", "started_at",
        "finished_at", "source_file", "exact_replication", "replication_notes",
    )  # fmt: skip
    summary = {k: row[k] for k in fields}
    flag = row["exact_replication"]
    if flag is not None and not pd.isna(flag) and not bool(flag):
        st.warning(f"⚠ Not an exact replication: {row['replication_notes']}")
    st.dataframe(
        pd.DataFrame({"field": list(summary), "value": [str(v) for v in summary.values()]}),
        hide_index=True,
        width="stretch",
        key="run_table",
    )
    _throughput(row.get("throughput"))
    _replication_history(run, replications)
    for name in ("params", "inputs", "timings", "hardware", "packages"):
        value = row[name]
        st.caption(name)
        st.json(json.loads(value) if isinstance(value, str) else {}, expanded=name == "params")
    _download(runs[runs["run_id"] == run], "run", "dl_run")


def main() -> None:
    st.set_page_config(page_title="xtransfer leaderboard", layout="wide")
    st.title("xtransfer: intermediate-task training and zero-shot transfer")
    st.caption(
        "Each cell: English intermediate task (phase 1) -> target task trained on English "
        "(phase 2), scored zero-shot on every other language."
    )
    url = Url()
    db = _db_path()
    page = url.choice("View", "page", PAGES)
    split = url.choice("Split", "split", list(SPLITS), format_func=SPLITS.get)
    try:
        runs = _runs(str(db))
    except HarnessError as exc:
        st.warning(str(exc))
        url.publish()
        return
    if runs.empty:
        st.info(f"The database '{db}' holds no results yet. Run the pipeline (`dvc repro`).")
        url.publish()
        return
    model = url.choice("Model", "model", sorted(runs["model"].unique()))
    benchmark = url.choice(
        "Benchmark languages", "benchmark", list(BENCHMARKS), format_func=BENCHMARKS.get
    )
    seeds = [MEAN, *(str(s) for s in sorted(runs["seed"].unique()))]
    seed = url.choice("Seeds", "seed", seeds)
    excluded = url.several(
        "Leave out harness versions", "exclude", sorted(runs["harness_version"].unique())
    )
    try:
        scores, difficulty, n_tiers = _scores(str(db), split, tuple(excluded))
    except HarnessError as exc:  # e.g. the database was removed or replaced since the runs query
        st.warning(str(exc))
        url.publish()
        return
    try:
        replications = _replications(str(db))
    except HarnessError:  # replaced since the runs query: the pages show no replications
        replications = None
    chosen_seed = None if seed == MEAN else int(seed)
    rows = select(scores, model, benchmark, chosen_seed)
    url.publish()
    if page == "Run details":
        page_run_details(url, runs[runs["model"] == model], replications)
        url.publish()
        return
    if rows.empty:
        st.info(
            f"No {split} scores for this selection (model, benchmark languages, seeds, versions)."
        )
        return
    if page == "Overview":
        if replications is not None and chosen_seed is not None:
            replications = replications[replications["seed"] == chosen_seed]
        page_overview(rows, replications)
    elif page == "By language":
        page_by_language(
            url, select(scores, model, benchmark, chosen_seed, include_train_language=True)
        )
    else:
        page_by_difficulty(url, rows, difficulty, n_tiers)
    url.publish()


main()

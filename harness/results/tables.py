"""Tables for the terminal (rich): the leaderboard (``harness leaderboard``) and the analysis
(``harness analyze``).

The leaderboard fits an 80-column terminal: one table per model (the model is in the title),
task and setting names are never cut or wrapped, and a value that does not exist (an English
score of a retrieval task, a gain without a baseline) prints as ``n/a``, never ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from harness.config import BASELINE

MISSING = "n/a"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _points(value: Any, signed: bool = False) -> str:
    """A fraction as points (x100, two decimals), or ``n/a``."""
    if not _finite(value):
        return MISSING
    return f"{100 * float(value):+.2f}" if signed else f"{100 * float(value):.2f}"


def leaderboard_tables(frame: pd.DataFrame, split: str) -> list[Table]:
    """One table per model of the leaderboard frame (:func:`harness.results.queries.
    leaderboard`): target, metric, intermediate setting, zero-shot mean, English, gain."""
    tables = []
    for model, part in frame.groupby("model", sort=True):
        table = Table(
            title=f"{model} ({split}; zero-shot: mean over non-English languages)",
            box=box.SIMPLE_HEAD,
            title_justify="left",
        )
        for column in ("target", "metric", "intermediate"):
            table.add_column(column, no_wrap=True)
        for column in ("zero-shot", "English", "gain"):
            table.add_column(column, justify="right", no_wrap=True)
        for row in part.itertuples():
            baseline = row.intermediate == BASELINE
            table.add_row(
                str(row.target),
                str(row.metric),
                str(row.intermediate),
                _points(row.zero_shot),
                _points(row.english),
                "" if baseline else _points(row.gain, signed=True),
            )
        tables.append(table)
    return tables


def print_leaderboard(
    db_path: Path, split: str, exclude_versions: Sequence[str] = (), as_json: bool = False
) -> None:
    """The leaderboard of the results database: a table per model, or JSON records."""
    from harness.results.queries import leaderboard
    from harness.results.store import connect_readonly, require_current_schema

    con = connect_readonly(db_path)
    try:
        require_current_schema(con, db_path)
        frame = leaderboard(con, split, exclude_versions)
    finally:
        con.close()
    if as_json:
        print(frame.to_json(orient="records", indent=2))
        return
    console = Console()
    if frame.empty:
        console.print(f"No results for split '{split}' in '{db_path}'.")
        return
    for table in leaderboard_tables(frame, split):
        console.print(table)


def print_analysis(tables: dict[str, Any], confidence: float) -> None:
    """The analysis in the terminal (rich): gains, difficulty, correlations."""
    console = Console()
    level = f"{100 * confidence:g}%"
    gains: pd.DataFrame = tables["gains"]
    table = Table(title=f"Gain over the baseline (points; {level} bootstrap interval)")
    for column in ("target", "language", "intermediate", "gain", "interval", "p", "seeds"):
        table.add_column(
            column, justify="left" if column in ("target", "language", "intermediate") else "right"
        )
    for row in gains.itertuples():
        mark = " *" if row.significant else ""
        table.add_row(
            str(row.target),
            str(row.language),
            str(row.intermediate),
            f"{100 * row.gain:+.2f}{mark}",
            f"[{100 * row.low:+.2f}, {100 * row.high:+.2f}]",
            f"{row.p_value:.3f}",
            str(row.n_seeds),
        )
    console.print(table)
    difficulty: pd.DataFrame = tables["difficulty"]
    if not difficulty.empty:
        dt = Table(title="Difficulty of the intermediate tasks (higher = harder; tier 1 = easiest)")
        for column in ("measure", "task", "value", "tier"):
            dt.add_column(column)
        for row in difficulty.sort_values(["measure", "value"]).itertuples():
            dt.add_row(str(row.measure), str(row.task), f"{row.value:.4f}", str(row.tier))
        console.print(dt)
    correlations: pd.DataFrame = tables["correlations"]
    if not correlations.empty:
        ct = Table(
            title=f"Rank correlation of difficulty with gain ({level} intervals over "
            "examples and seeds)"
        )
        for column in ("measure", "grouping", "group", "tasks", "Spearman", "Kendall"):
            ct.add_column(column)
        for row in correlations.itertuples():
            ct.add_row(
                str(row.measure),
                str(row.grouping),
                str(row.group),
                str(row.n_tasks),
                _fmt_corr(row.spearman, row.spearman_low, row.spearman_high),
                _fmt_corr(row.kendall, row.kendall_low, row.kendall_high),
            )
        console.print(ct)


def _fmt_corr(value: float, low: float, high: float) -> str:
    if not _finite(value):
        return "n/a"
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"

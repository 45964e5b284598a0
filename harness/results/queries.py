"""Read-only queries shared by the terminal table and the Streamlit leaderboard."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from harness.config import BASELINE

LEADERBOARD_SQL = f"""
WITH cells AS (
    SELECT model, intermediate, target, metric,
           avg(zero_shot_mean) AS zero_shot, avg(english) AS english,
           max(n_languages) AS n_languages, count(*) AS n_seeds
    FROM cell_means
    WHERE split = ? AND is_primary AND NOT list_contains(?::VARCHAR[], harness_version)
    GROUP BY model, intermediate, target, metric
)
SELECT c.model, c.intermediate, c.target, c.metric, c.zero_shot, c.english,
       c.zero_shot - b.zero_shot AS gain, c.n_languages, c.n_seeds
FROM cells c
LEFT JOIN cells b ON b.model = c.model AND b.target = c.target AND b.intermediate = {BASELINE!r}
ORDER BY c.model, c.target, c.intermediate = {BASELINE!r} DESC, c.zero_shot DESC
"""


def leaderboard(
    con: duckdb.DuckDBPyConnection,
    split: str = "test",
    exclude_versions: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per (model, intermediate, target): mean primary score over non-English languages,
    English score, and the gain of the zero-shot mean over the baseline (``none``). Runs made by
    a harness version in ``exclude_versions`` (known-bad releases) are left out."""
    return con.execute(LEADERBOARD_SQL, [split, list(exclude_versions)]).df()

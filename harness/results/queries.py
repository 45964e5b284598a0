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


MEASURED_RATES_SQL = """
SELECT task, median(rate) AS rate, count(*) AS runs, any_value(device) AS device
FROM (
    SELECT intermediate_task AS task,
           CAST(throughput->'$.phase1.tokens_per_s' AS DOUBLE) AS rate,
           throughput->>'$.phase1.device' AS device
    FROM runs WHERE model = ? AND intermediate_task IS NOT NULL
    UNION ALL
    SELECT target_task, CAST(throughput->'$.phase2.tokens_per_s' AS DOUBLE),
           throughput->>'$.phase2.device'
    FROM runs WHERE model = ?
)
WHERE rate > 0
GROUP BY task ORDER BY task
"""


def measured_training_rates(con: duckdb.DuckDBPyConnection, model: str) -> pd.DataFrame:
    """Per task, the median real training tokens/s of the stored runs of ``model`` (phase 1 of
    an intermediate task, phase 2 of a target; each run's ``throughput`` record), how many
    runs, and a device they ran on (``harness plan --measured``)."""
    return con.execute(MEASURED_RATES_SQL, [model, model]).df()

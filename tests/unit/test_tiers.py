"""Difficulty tiers have one definition (:func:`harness.results.stats.tiers`): the analysis,
the database's ``difficulty_tiers`` view and the leaderboard give the same tiers for any number
of tiers (``difficulty.tiers``)."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from harness.results.stats import tiers
from harness.results.store import TIERS_KEY, migrate
from harness.results.views import difficulty_relation, load_tier_count


def _database(
    rows: list[tuple[str, str, float, str, int]], n: int | None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    migrate(con, Path(":memory:"))
    con.executemany("INSERT INTO difficulty VALUES (?, ?, ?, ?, ?)", [
        (task, measure, model, seed, value) for task, measure, value, model, seed in rows
    ])  # fmt: skip
    if n is not None:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [TIERS_KEY, str(n)])
    return con


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
def test_the_view_and_the_python_rule_agree(n: int) -> None:
    rng = random.Random(n)
    rows = []
    for measure in ("neg_mean_pvi", "hard_to_learn"):
        for t in range(rng.randint(1, 11)):
            # a few equal values, to exercise the tie-break by name
            value = rng.choice([0.1, 0.25, 0.5]) if t % 3 == 0 else rng.random()
            rows += [(f"task{t:02d}", measure, value, "m", seed) for seed in (1, 2)]
    con = _database(rows, n)
    view = con.execute("SELECT measure, task, tier FROM difficulty_tiers").fetchall()
    for measure in ("neg_mean_pvi", "hard_to_learn"):
        values = {task: v for task, m, v, _, _ in rows if m == measure}
        expected = tiers(values, n)
        assert {task: tier for m, task, tier in view if m == measure} == expected
    assert load_tier_count(con) == n


def test_without_a_stored_count_the_view_uses_terciles() -> None:
    rows = [(f"t{i}", "m1", float(i), "m", 1) for i in range(4)]
    con = _database(rows, None)
    view = dict(con.execute("SELECT task, tier FROM difficulty_tiers").fetchall())
    assert view == tiers({f"t{i}": float(i) for i in range(4)}, 3) == {
        "t0": 1, "t1": 2, "t2": 3, "t3": 3
    }  # fmt: skip
    assert load_tier_count(con) == 3


def test_the_leaderboard_relation_uses_the_same_tiers() -> None:
    difficulty = pd.DataFrame(
        {"task": ["a", "b", "c", "d"], "measure": ["x"] * 4, "value": [0.4, 0.1, 0.3, 0.2]}
    )
    rows = pd.DataFrame(
        {"intermediate": ["a", "b", "c", "d", "none"], "gain": [0.1, 0.2, 0.3, 0.4, 0.0],
         "resource_class": [3] * 5}
    )  # fmt: skip
    frame, _ = difficulty_relation(rows, difficulty, "x", n_tiers=2)
    assert dict(zip(frame["intermediate"], frame["tier"], strict=True)) == tiers(
        {"a": 0.4, "b": 0.1, "c": 0.3, "d": 0.2}, 2
    )

"""The terminal tables: the leaderboard fits 80 columns, keeps names whole, prints no NaN."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console

from harness.results.tables import leaderboard_tables

LONG = {
    "model": ["xlm-roberta-large"] * 4 + ["toy-xlmr-tiny"] * 2,
    "intermediate": ["none", "commonsense_qa", "toy_compositional", "anli_plus", "none", "x"],
    "target": ["bucc2018", "bucc2018", "mewslix", "tydiqa", "toy_retrieval", "toy_retrieval"],
    "metric": ["f1", "f1", "map@20", "f1", "accuracy", "accuracy"],
    "zero_shot": [0.71, 0.734, 0.4, 0.5, 0.167, 0.159],
    "english": [math.nan, math.nan, 0.61, 0.7, math.nan, math.nan],
    "gain": [0.0, 0.024, math.nan, -0.01, 0.0, -0.008],
}


def _render(frame: pd.DataFrame, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    for table in leaderboard_tables(frame, "test"):
        console.print(table)
    return console.export_text().splitlines()


def test_the_leaderboard_fits_80_columns_and_keeps_every_name_whole() -> None:
    frame = pd.DataFrame(LONG)
    lines = _render(frame)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for name in {*LONG["intermediate"], *LONG["target"], *LONG["model"]}:
        assert name in text  # never cut ("toy_compo…") or wrapped
    assert "…" not in text
    assert "nan" not in text.lower()
    # a missing English score or gain reads n/a; the baseline's gain is left empty
    assert text.count("n/a") == 4 + 1
    row = next(line for line in lines if "commonsense_qa" in line)
    assert row.split()[-3:] == ["73.40", "n/a", "+2.40"]
    assert next(line for line in lines if "tydiqa" in line).split()[-1] == "-1.00"


def test_one_table_per_model_titled_with_the_model() -> None:
    tables = leaderboard_tables(pd.DataFrame(LONG), "dev")
    assert [str(t.title).split(" (")[0] for t in tables] == ["toy-xlmr-tiny", "xlm-roberta-large"]
    assert all("dev" in str(t.title) for t in tables)


def test_an_80_column_terminal_shows_the_paper_titles_on_one_line() -> None:
    lines = _render(pd.DataFrame(LONG))
    titles = [line.strip() for line in lines if "zero-shot:" in line]
    assert "xlm-roberta-large (test; zero-shot: mean over non-English languages)" in titles

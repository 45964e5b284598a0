"""xtransfer leaderboard (Streamlit). Read-only over the results database.

Run: ``streamlit run leaderboard/app.py -- --db results/xtransfer.duckdb``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from harness.errors import HarnessError
from harness.results.queries import by_language, leaderboard
from harness.results.store import connect_readonly

DEFAULT_DB = Path("results/xtransfer.duckdb")


def _db_path() -> Path:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.db)


@st.cache_data(ttl=30, show_spinner=False)
def _load(db: str, split: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Open briefly, read, close: the app never holds the database open."""
    con = connect_readonly(Path(db))
    try:
        board = leaderboard(con, split)
        per_language = {t: by_language(con, t, split) for t in sorted(board["target"].unique())}
    finally:
        con.close()
    return board, per_language


def main() -> None:
    st.set_page_config(page_title="xtransfer leaderboard", layout="wide")
    st.title("xtransfer: intermediate-task training and zero-shot transfer")
    st.caption(
        "Each cell: English intermediate task (phase 1) -> target task trained on English "
        "(phase 2), scored zero-shot on every other language. Gain = zero-shot mean minus the "
        "baseline's (no intermediate task)."
    )
    db = _db_path()
    split = st.radio("Split", ["test", "dev"], horizontal=True, key="split")
    try:
        board, per_language = _load(str(db), split)
    except HarnessError as exc:
        st.warning(str(exc))
        return
    if board.empty:
        st.info(f"The database '{db}' holds no results yet. Run the pipeline (`dvc repro`).")
        return
    models = sorted(board["model"].unique())
    model = st.selectbox("Model", models, key="model")
    board = board[board["model"] == model]

    st.subheader("Zero-shot mean over non-English languages (primary metric, x100)")
    scores = board.pivot(index="intermediate", columns="target", values="zero_shot") * 100
    st.dataframe(scores.style.format("{:.2f}"), width="stretch")

    st.subheader("Gain over the baseline (points)")
    gains = (
        board[board["intermediate"] != "none"].pivot(
            index="intermediate", columns="target", values="gain"
        )
        * 100
    )
    st.dataframe(gains.style.format("{:+.2f}"), width="stretch")

    st.subheader("By language")
    target = st.selectbox("Target task", sorted(per_language), key="target")
    frame = per_language[target]
    table = frame.pivot(index="intermediate", columns="language", values="value") * 100
    order = frame.drop_duplicates("language").sort_values("distance_rank")["language"].tolist()
    st.dataframe(table[order].style.format("{:.2f}"), width="stretch")
    st.caption("Languages ordered by constructed distance from English (toy profile).")


main()

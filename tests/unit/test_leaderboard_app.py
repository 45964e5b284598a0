"""The Streamlit leaderboard, driven headless with Streamlit's AppTest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from harness.results.store import ingest
from tests.conftest import REPO
from tests.unit.test_store import LANGS, SPECS, result, write

APP = str(REPO / "leaderboard" / "app.py")


def _app(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "board.duckdb"
    files = [
        write(tmp_path, "base-nli", result(None, "toy_nli", base=0.6)),
        write(tmp_path, "lex-nli", result("toy_lexical", "toy_nli", base=0.7)),
        write(tmp_path, "base-ner", result(None, "toy_ner", base=0.5)),
        write(tmp_path, "lex-ner", result("toy_lexical", "toy_ner", base=0.45)),
    ]
    ingest(path, files, LANGS, SPECS)
    return path


def test_tables_show_scores_and_gains(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    app = _app(monkeypatch, db)
    scores, gains, per_language = (frame.value for frame in app.dataframe)
    # zero-shot mean over xa..xd: base - 0.1 * mean(1..4)/4 = base - 0.0625, shown x100
    assert scores.loc["none", "toy_nli"] == pytest.approx(53.75)
    assert scores.loc["toy_lexical", "toy_nli"] == pytest.approx(63.75)
    assert gains.loc["toy_lexical", "toy_nli"] == pytest.approx(10.0)
    assert gains.loc["toy_lexical", "toy_ner"] == pytest.approx(-5.0)
    assert "none" not in gains.index
    # languages ordered by distance from English, English included
    assert list(per_language.columns) == ["en", "xa", "xb", "xc", "xd"]
    # the first target task in name order is shown first: toy_ner, xd = 0.45 - 0.1
    assert per_language.loc["toy_lexical", "xd"] == pytest.approx(35.0)


def test_target_filter_changes_the_language_table(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db)
    assert app.selectbox(key="target").value == "toy_ner"
    app.selectbox(key="target").select("toy_nli").run()
    per_language = app.dataframe[2].value
    assert per_language.loc["none", "en"] == pytest.approx(60.0)
    assert per_language.loc["toy_lexical", "xd"] == pytest.approx(60.0)


def test_dev_split_without_results_says_so(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    app = _app(monkeypatch, db)
    app.radio(key="split").set_value("dev").run()
    assert not app.exception
    assert not app.dataframe
    assert "holds no results" in app.info[0].value


def test_missing_database_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = _app(monkeypatch, tmp_path / "absent.duckdb")
    assert not app.dataframe
    assert "absent.duckdb" in app.warning[0].value

"""The Streamlit leaderboard, driven headless with Streamlit's AppTest: every page, its filters
and the values it shows, URL query parameters (shared views, hostile values), empty and missing
databases."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from harness.results.store import ingest
from tests.conftest import REPO
from tests.unit.test_store import LANGS, SPECS, result, write

APP = str(REPO / "leaderboard" / "app.py")
# per intermediate task: the score on each language (en, xa, xb, xc, xd) of toy_nli
NLI = {
    None: [0.80, 0.60, 0.50, 0.40, 0.30],
    "toy_lexical": [0.80, 0.70, 0.50, 0.40, 0.30],  # helps xa (+10)
    "toy_relational": [0.80, 0.60, 0.55, 0.40, 0.36],  # helps xb (+5) and xd (+6)
    "toy_compositional": [0.80, 0.60, 0.50, 0.45, 0.42],  # helps xc (+5) and xd (+12)
}


def _result(intermediate: str | None, target: str, values: list[float], seed: int = 1) -> Any:
    data = copy.deepcopy(result(intermediate, target))
    for score, value in zip(data["scores"], values, strict=True):
        score["value"] = value
    data["seed"] = seed
    data["schema_version"] = 2
    data["provenance"]["params"] = {"seed": seed, "phase2": {"learning_rate": 3e-4}}
    data["provenance"]["timings"] = {"phase2_train": 2.0, "evaluate": 0.5}
    data["provenance"]["throughput"] = {
        "phase2": {"real_tokens": 5000 + seed, "tokens_per_s": 2500.0, "mfu": None},
        "evaluate": {"real_tokens": 900, "tokens_per_s": 9000.0, "mfu": None},
    }
    return data


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "board.duckdb"
    files = []
    for i, (intermediate, values) in enumerate(NLI.items()):
        files.append(write(tmp_path, f"nli{i}", _result(intermediate, "toy_nli", values)))
        ner = [v - 0.1 for v in NLI[None]]  # no gain on toy_ner, but for toy_lexical on xa
        if intermediate == "toy_lexical":
            ner[1] += 0.05
        files.append(write(tmp_path, f"ner{i}", _result(intermediate, "toy_ner", ner)))
    # a second seed of the lexical cell, made by a known-bad harness version
    bad = _result("toy_lexical", "toy_nli", [0.8, 0.9, 0.9, 0.9, 0.9], seed=2)
    bad["provenance"]["harness_version"] = "0.0.1"
    files.append(write(tmp_path, "bad", bad))
    base2 = _result(None, "toy_nli", NLI[None], seed=2)
    files.append(write(tmp_path, "base2", base2))
    ingest(path, files, LANGS, SPECS)
    return path


def _app(monkeypatch: pytest.MonkeyPatch, db: Path, query: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


# each table is recognised by a column only it has (Streamlit drops the keys of plain tables)
MARKERS = {
    "matrix_table": "average",
    "overview_table": "gain_low",
    "groups_table": "overall",
    "best_table": "best intermediate task",
    "difficulty_table": "difficulty",
    "run_table": "field",
    "throughput_table": "tokens_per_s",
}


def _frame(app: AppTest, key: str) -> Any:
    frames = [d.value for d in app.dataframe]
    if key == "language_table":
        found = [f for f in frames if f.columns.name == "language"]
    else:
        found = [f for f in frames if MARKERS[key] in f.columns]
    assert len(found) == 1, (key, [list(f.columns) for f in frames])
    return found[0]


def test_overview_values_best_cell_and_groups(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    app = _app(monkeypatch, db, {"exclude": "0.0.1"})
    table = _frame(app, "overview_table").set_index(["intermediate", "target"])
    nli = table.xs("toy_nli", level="target")
    # zero-shot mean over xa..xd (seed 1 only: the 0.0.1 run is left out)
    assert nli.loc["none", "zero_shot"] == pytest.approx(45.0)
    assert nli.loc["toy_compositional", "zero_shot"] == pytest.approx(49.25)
    assert nli.loc["toy_compositional", "gain"] == pytest.approx(4.25)
    assert nli.loc["toy_lexical", "gain"] == pytest.approx(2.5)
    # the interval brackets the gain; the best cell per target is marked
    row = nli.loc["toy_compositional"]
    assert row["gain_low"] <= row["gain"] <= row["gain_high"]
    assert nli.loc["toy_compositional", "best"] == "★" and nli.loc["none", "best"] == ""
    groups = _frame(app, "groups_table").set_index("intermediate")
    assert groups.loc["none", "classification"] == pytest.approx(45.0)
    assert groups.loc["none", "tagging"] == pytest.approx(35.0)
    assert groups.loc["none", "overall"] == pytest.approx(40.0)
    assert [b.label for b in app.get("download_button")] == [
        "Download overview_matrix (CSV)",
        "Download overview (CSV)",
        "Download group_scores (CSV)",
    ]


def test_overview_matrix_as_papers_print_it(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    """The Overview opens with the matrix: intermediate settings x target tasks and the XTREME
    average; the baseline row shows scores, the others gain [95% interval], colour-coded."""
    app = _app(monkeypatch, db, {"exclude": "0.0.1"})
    matrix = _frame(app, "matrix_table")
    assert app.dataframe[0].value.equals(matrix)  # the first table on the page
    assert list(matrix.columns) == ["intermediate", "toy_nli", "toy_ner", "average"]
    matrix = matrix.set_index("intermediate")
    assert list(matrix.index) == ["none", "toy_compositional", "toy_lexical", "toy_relational"]
    # the baseline row: scores (points), the average the mean of the group means (45 and 35)
    assert matrix.loc["none"].tolist() == ["45.0", "35.0", "40.0"]
    # the other rows: the gain [interval] of the All cells table below
    cells = _frame(app, "overview_table").set_index(["intermediate", "target"])
    for (intermediate, target), cell in cells.iterrows():
        if intermediate != "none":
            text = f"{cell['gain']:+.1f} [{cell['gain_low']:+.1f}, {cell['gain_high']:+.1f}]"
            assert matrix.loc[intermediate, target] == text, (intermediate, target)
    # the average's gain: the row's overall minus the baseline's (task-group table below)
    groups = _frame(app, "groups_table").set_index("intermediate")["overall"]
    gain = groups["toy_lexical"] - groups["none"]
    assert gain == pytest.approx((2.5 + 1.25) / 2)
    assert matrix.loc["toy_lexical", "average"] == f"{gain:+.1f}"  # no interval
    # every interval here includes 0: grey; the averages' sign in the font; the baseline plain
    styles = app.dataframe[0].proto.arrow_data.styler.styles
    assert "rgba(128, 128, 128, 0.18)" in styles and "color: #1a7f37" in styles
    assert "row0_" not in styles and "rgba(34, 139, 34" not in styles
    caption = " ".join(c.value for c in app.caption)
    assert "baseline row" in caption and "95% bootstrap interval" in caption
    assert "no interval" in caption


def test_overview_matrix_marks_an_interval_above_zero_green(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    """With the 0.0.1 run kept, toy_lexical's second seed lifts every language: its toy_nli
    interval lies above 0, the only green cell."""
    app = _app(monkeypatch, db)
    matrix = _frame(app, "matrix_table").set_index("intermediate")
    low = float(matrix.loc["toy_lexical", "toy_nli"].split("[")[1].split(",")[0])
    assert low > 0
    styles = app.dataframe[0].proto.arrow_data.styler.styles
    green = [rule for rule in styles.splitlines() if "rgba(34, 139, 34" in rule]
    assert len(green) == 1 and "_row2_col1 " in green[0]  # toy_lexical x toy_nli


def test_excluding_a_harness_version_changes_the_table(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db)
    everything = _frame(app, "overview_table").set_index(["intermediate", "target"])
    assert everything.loc[("toy_lexical", "toy_nli"), "n_seeds"] == 2
    app.multiselect(key="exclude").select("0.0.1").run()
    trusted = _frame(app, "overview_table").set_index(["intermediate", "target"])
    assert trusted.loc[("toy_lexical", "toy_nli"), "n_seeds"] == 1
    assert app.query_params["exclude"] == "0.0.1"


def test_by_language_answers_which_task_helps_a_language_most(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db, {"page": "By language", "target": "toy_nli", "seed": "1"})
    gains = _frame(app, "language_table")
    assert list(gains.columns) == ["xa", "xb", "xc", "xd"]  # English excluded by default
    assert gains.loc["toy_compositional", "xd"] == pytest.approx(12.0)
    best = _frame(app, "best_table").set_index("language")["best intermediate task"]
    assert best.to_dict() == {
        "xa": "toy_lexical",
        "xb": "toy_relational",
        "xc": "toy_compositional",
        "xd": "toy_compositional",
    }
    app.toggle(key="english").set_value(True).run()
    assert "en" in _frame(app, "language_table").columns
    app.selectbox(key="show").select("value").run()
    assert _frame(app, "language_table").loc["none", "xa"] == pytest.approx(60.0)
    assert app.query_params["show"] == "value" and app.query_params["english"] == "1"


def test_by_difficulty_relates_rank_to_gain_per_language_band(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db, {"page": "By difficulty", "seed": "1"})
    assert app.selectbox(key="measure").value == "constructed rank"
    frame = _frame(app, "difficulty_table").set_index("intermediate")
    assert frame["difficulty"].to_dict() == {  # the ranks of the builtin specs (of six)
        "toy_lexical": 2.0,
        "toy_relational": 4.0,
        "toy_compositional": 6.0,
    }
    # low-resource band = xc, xd (classes 2 and 1 here): mean gains 0, +1.5, +4.25
    app.selectbox(key="band").select("low (0-2)").run()
    low = _frame(app, "difficulty_table").set_index("intermediate")["gain"]
    assert low["toy_compositional"] > low["toy_relational"] > low["toy_lexical"]
    assert app.metric[0].value == "+1.00"
    app.selectbox(key="tier").select("3").run()
    assert list(_frame(app, "difficulty_table")["intermediate"]) == ["toy_compositional"]


def test_run_details_show_provenance_and_parameters(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db, {"page": "Run details"})
    runs = app.selectbox(key="run").options
    assert "m/toy_lexical/toy_nli/s2" in runs
    app.selectbox(key="run").select("m/toy_lexical/toy_nli/s2").run()
    fields = _frame(app, "run_table").set_index("field")["value"]
    assert fields["harness_version"] == "0.0.1" and fields["seed"] == "2"
    params = app.json[0].value
    assert '"learning_rate": 0.0003' in params and '"seed": 2' in params
    speed = _frame(app, "throughput_table").set_index("run")
    assert speed.loc["phase2", "real_tokens"] == 5002  # this run's, seed 2
    assert speed.loc["evaluate", "tokens_per_s"] == 9000.0


@pytest.mark.parametrize(
    ("query", "ignored"),
    [
        ({"page": "'; DROP TABLE runs; --"}, "page"),
        ({"page": "By language", "target": "x" * 10_000}, "target"),
        ({"model": "nope"}, "model"),
        ({"benchmark": "1 OR 1=1"}, "benchmark"),
        ({"exclude": "<script>alert(1)</script>"}, "exclude"),
        ({"page": "By difficulty", "measure": "../../etc/passwd", "tier": "-1"}, "measure"),
    ],
)
def test_hostile_url_values_are_ignored(
    monkeypatch: pytest.MonkeyPatch, db: Path, query: dict[str, str], ignored: str
) -> None:
    app = _app(monkeypatch, db, query)
    notes = [c.value for c in app.sidebar.caption if "Ignored URL values" in c.value]
    assert len(notes) == 1 and ignored in notes[0]
    # the view falls back to valid choices and the database is intact and fully shown
    assert app.dataframe
    if query.get("page", "Overview") == "Overview" or ignored == "page":
        assert app.selectbox(key="page").value == "Overview"
        assert len(_frame(app, "overview_table")) == 8


def test_xtreme_languages_only_is_an_empty_view_for_toy_results(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db, {"benchmark": "xtreme"})
    assert not app.dataframe
    assert "No test scores for this selection" in app.info[0].value


def test_dev_split_without_results_says_so(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    app = _app(monkeypatch, db, {"split": "dev"})
    assert not app.dataframe
    assert "No dev scores" in app.info[0].value


def test_missing_database_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = _app(monkeypatch, tmp_path / "absent.duckdb")
    assert not app.dataframe
    assert "absent.duckdb" in app.warning[0].value


def test_old_schema_says_how_to_migrate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import duckdb

    from harness.results.store import SCHEMA_V1

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(SCHEMA_V1)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.close()
    app = _app(monkeypatch, old)
    assert "schema version 1" in app.warning[0].value
    assert "harness ingest" in app.warning[0].value


def test_the_target_dev_oracle_is_a_split_of_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Cells trained with ``selection.oracle`` also carry the test scores of the target-dev
    oracle's model (split ``test_oracle``): the Split filter shows them beside the English-dev
    selected model's."""
    path = tmp_path / "oracle.duckdb"
    files = []
    for i, (intermediate, values) in enumerate(NLI.items()):
        data = _result(intermediate, "toy_nli", values)
        data["scores"] += [
            {**s, "split": "test_oracle", "value": s["value"] + 0.1} for s in data["scores"]
        ]
        files.append(write(tmp_path, f"nli{i}", data))
    ingest(path, files, LANGS, SPECS)
    app = _app(monkeypatch, path, {"split": "test_oracle"})
    table = _frame(app, "overview_table").set_index(["intermediate", "target"])
    # every language 10 points above the English-dev selected test scores of the first test
    assert table.loc[("none", "toy_nli"), "zero_shot"] == pytest.approx(55.0)
    assert table.loc[("toy_compositional", "toy_nli"), "gain"] == pytest.approx(4.25)
    labels = app.selectbox(key="split").options
    assert "test (target-dev oracle: best mean target-language dev)" in labels
    app = _app(monkeypatch, path, {"split": "test"})
    table = _frame(app, "overview_table").set_index(["intermediate", "target"])
    assert table.loc[("none", "toy_nli"), "zero_shot"] == pytest.approx(45.0)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from harness.results import views
from harness.results.languages import resource_band
from harness.results.stats import (
    bootstrap_mean_interval,
    resampled_spearman,
    spearman_with_interval,
    tiers,
)


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    values = np.random.default_rng(1).normal(2.0, 1.0, size=200)
    low, high = bootstrap_mean_interval(values)
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.25)  # ~ normal theory
    assert bootstrap_mean_interval(values) == (low, high)
    assert np.isnan(bootstrap_mean_interval(np.array([1.0]))[0])


def test_bootstrap_interval_covers_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(7)
    covered = sum(
        low <= 0.0 <= high
        for low, high in (
            bootstrap_mean_interval(rng.normal(0.0, 1.0, size=40), samples=400) for _ in range(200)
        )
    )
    assert 0.88 <= covered / 200 <= 0.99


def test_spearman_matches_scipy() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [0.1, 0.3, 0.2, 0.5, 0.4, 0.9]
    result = spearman_with_interval(x, y)
    assert result.rho == pytest.approx(spearmanr(x, y).statistic)
    assert result.low <= result.rho <= result.high and result.n == 6
    assert np.isnan(spearman_with_interval([1, 2], [2, 1]).rho)  # too few points
    assert np.isnan(spearman_with_interval([1, 1, 1], [1, 2, 3]).rho)  # constant


def test_tiers_and_resource_bands() -> None:
    values = dict(zip("abcdef", [0.3, 0.1, 0.9, 0.5, 0.7, 0.2], strict=True))
    assert [tiers(values)[t] for t in "abcdef"] == [2, 1, 3, 2, 3, 1]
    assert [resource_band(c) for c in (0, 2, 3, 4, 5, None)] == [
        "low (0-2)",
        "low (0-2)",
        "mid (3)",
        "high (4-5)",
        "high (4-5)",
        "unknown",
    ]


def test_resampled_spearman_equals_scipy_on_each_resample() -> None:
    x = np.array([1.0, 2.0, 2.0, 4.0, 5.0])
    y = np.array([0.3, 0.1, 0.4, 0.4, 0.9])
    idx = np.random.default_rng(3).integers(0, 5, size=(50, 5))
    ours = resampled_spearman(x, y, idx)
    for row, value in zip(idx, ours, strict=True):
        if np.unique(x[row]).size < 2 or np.unique(y[row]).size < 2:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(spearmanr(x[row], y[row]).statistic)


# --------------------------------------------------------------------------------------------
# the Overview as papers print it: intermediate setting x target task (+ the XTREME average)

LANGUAGES = ("xa", "xb", "xc", "xd")
GROUPS = {"nli": "classification", "pawsx": "classification", "ner": "tagging"}
# per model, intermediate setting and target: the zero-shot score on xa..xd (seed 1)
SCORES = {
    ("m", "none", "nli"): [0.60, 0.50, 0.40, 0.30],
    ("m", "none", "pawsx"): [0.70, 0.60, 0.50, 0.40],
    ("m", "none", "ner"): [0.40, 0.35, 0.30, 0.27],
    ("m", "up", "nli"): [0.65, 0.56, 0.44, 0.37],  # gains +5, +6, +4, +7: above 0
    ("m", "up", "pawsx"): [0.66, 0.55, 0.47, 0.38],  # gains -4, -5, -3, -2: below 0
    ("m", "up", "ner"): [0.44, 0.33, 0.32, 0.27],  # gains +4, -2, +2, 0: includes 0
    ("m", "partial", "nli"): [0.62, 0.50, 0.40, 0.30],  # no pawsx, no ner
    ("m2", "none", "nli"): [0.20, 0.20, 0.20, 0.20],
    ("m2", "up", "nli"): [0.30, 0.30, 0.30, 0.30],
}


def _rows(scores: dict[tuple[str, str, str], list[float]] = SCORES) -> pd.DataFrame:
    """Rows as :func:`views.select` returns them (train language left out)."""
    out = []
    for (model, intermediate, target), values in scores.items():
        baseline = scores[(model, "none", target)]
        for language, value, base in zip(LANGUAGES, values, baseline, strict=True):
            out.append(
                dict(model=model, intermediate=intermediate, target=target,
                     xtreme_group=GROUPS[target], seed=1, language=language, value=value,
                     baseline=base, gain=value - base, exact_replication=True)
            )  # fmt: skip
    return pd.DataFrame(out)


@pytest.fixture
def cells() -> pd.DataFrame:
    return views.overview(_rows())


def test_paper_matrix_shape_order_and_baseline_scores(cells: pd.DataFrame) -> None:
    matrix = views.paper_matrix(cells)
    text = matrix["text"]
    # one row per (model, intermediate), the baseline first; targets by task group, then average
    assert list(text.index) == [("m", "none"), ("m", "partial"), ("m", "up"),
                                ("m2", "none"), ("m2", "up")]  # fmt: skip
    assert list(text.columns) == ["nli", "pawsx", "ner", "average"]
    assert set(matrix.columns.get_level_values(0)) == set(views.MATRIX_FIELDS)
    # the baseline row shows scores (points), not "+0.00 [0, 0]"
    assert text.loc[("m", "none")].tolist() == ["45.0", "55.0", "33.0", "41.5"]
    assert matrix["value"].loc[("m", "none"), "nli"] == pytest.approx(45.0)
    assert matrix["low"].loc[("m", "none")].isna().all()
    assert matrix["high"].loc[("m", "none")].isna().all()
    assert matrix["significant"].loc[("m", "none")].isna().all()
    assert text.loc[("m2", "none"), "nli"] == "20.0"


def test_paper_matrix_gains_and_intervals_land_in_their_cells(cells: pd.DataFrame) -> None:
    matrix = views.paper_matrix(cells)
    cell = cells.set_index(["model", "intermediate", "target"])
    for target, gain in (("nli", 5.5), ("pawsx", -3.5), ("ner", 1.0)):
        source = cell.loc[("m", "up", target)]
        low, high = source["gain_low"] * 100, source["gain_high"] * 100
        assert matrix[("value", target)].loc[("m", "up")] == pytest.approx(gain)
        assert matrix[("low", target)].loc[("m", "up")] == pytest.approx(low)
        assert matrix[("high", target)].loc[("m", "up")] == pytest.approx(high)
        assert matrix[("text", target)].loc[("m", "up")] == f"{gain:+.1f} [{low:+.1f}, {high:+.1f}]"
    significant = matrix["significant"].loc[("m", "up")]
    assert significant[["nli", "pawsx", "ner"]].tolist() == [1.0, -1.0, 0.0]
    assert matrix["text"].loc[("m", "up"), "nli"].startswith("+5.5 [+")
    assert matrix["text"].loc[("m", "up"), "pawsx"].startswith("-3.5 [-")
    # the second model's gain is over its own baseline; constant gains have a zero-width interval
    assert matrix["text"].loc[("m2", "up"), "nli"] == "+10.0 [+10.0, +10.0]"


def test_paper_matrix_average_is_the_group_mean_computation(cells: pd.DataFrame) -> None:
    matrix = views.paper_matrix(cells)
    overall = views.group_scores(cells).set_index(["model", "intermediate"])["overall"] * 100
    average = matrix[("value", views.MATRIX_AVERAGE)]
    # baseline: mean(classification = mean(45, 55), tagging = 33) = 41.5
    assert average[("m", "none")] == pytest.approx(overall[("m", "none")]) == pytest.approx(41.5)
    # other rows: their average minus the baseline's; by hand: mean(mean(50.5, 51.5), 34) - 41.5
    assert average[("m", "up")] == pytest.approx(overall[("m", "up")] - overall[("m", "none")])
    assert average[("m", "up")] == pytest.approx(1.0)
    assert matrix[("text", "average")].loc[("m", "up")] == "+1.0"  # no interval: none shown
    assert matrix[("low", "average")].isna().all() and matrix[("high", "average")].isna().all()
    assert average[("m2", "up")] == pytest.approx(10.0)


def test_paper_matrix_missing_cells_are_empty_not_zero(cells: pd.DataFrame) -> None:
    matrix = views.paper_matrix(cells)
    partial = ("m", "partial")
    low, high = matrix["low"].loc[partial, "nli"], matrix["high"].loc[partial, "nli"]
    assert matrix["text"].loc[partial].tolist() == [f"+0.5 [{low:+.1f}, {high:+.1f}]", "", "", ""]
    for field in ("value", "low", "high", "significant"):
        assert matrix[field].loc[partial, ["pawsx", "ner", "average"]].isna().all(), field
    # the second model ran nli only: its other columns are empty, and its average is nli's
    assert matrix["text"].loc[("m2", "up"), ["pawsx", "ner"]].tolist() == ["", ""]
    assert matrix["value"].loc[("m2", "up"), ["pawsx", "ner"]].isna().all()


def test_paper_matrix_gain_without_baseline_or_interval() -> None:
    scores = {k: v for k, v in SCORES.items() if k[0] == "m" and k[2] == "nli"}
    cells = views.overview(_rows(scores))
    cells.loc[cells["intermediate"] == "up", ["gain", "gain_low", "gain_high"]] = float("nan")
    cells.loc[cells["intermediate"] == "partial", ["gain_low", "gain_high"]] = float("nan")
    matrix = views.paper_matrix(cells)
    assert matrix[("text", "nli")].loc[("m", "up")] == "(50.5)"  # a score, no baseline
    assert np.isnan(matrix[("value", "nli")].loc[("m", "up")])
    assert matrix[("text", "nli")].loc[("m", "partial")] == "+0.5"  # a gain, no interval
    assert np.isnan(matrix[("significant", "nli")].loc[("m", "partial")])


def test_paper_matrix_of_nothing_is_empty() -> None:
    matrix = views.paper_matrix(views.overview(_rows({})))
    assert matrix.empty and list(matrix["text"].columns) == [views.MATRIX_AVERAGE]
    assert views.flat_matrix(matrix).columns[:2].tolist() == ["model", "intermediate"]


def test_matrix_colours_follow_the_interval(cells: pd.DataFrame) -> None:
    matrix = views.paper_matrix(cells)
    css = views.matrix_colours(matrix)
    assert css.shape == matrix["text"].shape and list(css.columns) == list(matrix["text"].columns)
    up = css.loc[("m", "up")]
    assert up["nli"].startswith("background-color: rgba(34, 139, 34,")  # above 0: green
    assert up["pawsx"].startswith("background-color: rgba(200, 40, 40,")  # below 0: red
    assert up["ner"] == views.NEUTRAL  # includes 0: grey
    assert up["average"] == "color: #1a7f37"  # no interval: the font shows the sign only
    assert (css.loc[("m", "none")] == "").all() and (css.loc[("m2", "none")] == "").all()
    assert css.loc[("m", "partial"), ["pawsx", "ner", "average"]].tolist() == ["", "", ""]

    def alpha(rule: str) -> float:
        return float(rule.rsplit(",", 1)[1].rstrip(")"))

    # stronger for the larger gain: +10 (m2) is the largest, +5.5 less, -3.5 less again
    assert alpha(css.loc[("m2", "up"), "nli"]) > alpha(up["nli"]) > alpha(up["pawsx"])


def test_flat_matrix_keeps_text_and_numbers(cells: pd.DataFrame) -> None:
    flat = views.flat_matrix(views.paper_matrix(cells)).set_index(["model", "intermediate"])
    assert flat.columns[:5].tolist() == [
        "nli", "nli value", "nli low", "nli high", "nli significant",
    ]  # fmt: skip
    assert flat.loc[("m", "none"), "nli"] == "45.0"
    assert flat.loc[("m", "up"), "nli value"] == pytest.approx(5.5)
    assert flat.columns[-5:].tolist()[0] == "average"
    assert len(flat) == 5

"""Statistics of the analysis: they match scipy / seqeval on the same inputs, and the bootstrap
intervals cover the true value at about the nominal rate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from harness.results.stats import (
    kendall,
    metric_of,
    paired_bootstrap_gain,
    rank_correlation,
    spearman,
)
from tests.conftest import kind_example_stats as example_stats
from tests.conftest import kind_score as score


def test_example_stats_reproduce_the_corpus_metrics() -> None:
    golds = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "O"], ["B-LOC", "O"]]
    preds = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG", "I-ORG"], ["B-PER", "O"]]
    rows = example_stats("tagging", preds, golds)
    expected = score("tagging", preds, golds)
    assert metric_of("f1", np.array(rows["f1"])) == pytest.approx(expected["f1"])
    assert metric_of("token_accuracy", np.array(rows["token_accuracy"])) == pytest.approx(
        expected["token_accuracy"]
    )
    labels = ["a", "b", "a", "c", "b"]
    guesses = ["a", "a", "a", "c", "c"]
    acc = example_stats("pair_classification", guesses, labels)["accuracy"]
    assert metric_of("accuracy", np.array(acc)) == pytest.approx(
        score("pair_classification", guesses, labels)["accuracy"]
    )


def test_rank_correlations_match_scipy() -> None:
    rng = np.random.default_rng(3)
    for n in (3, 5, 9):
        x, y = rng.normal(size=n), rng.normal(size=n)
        y[0] = y[1]  # a tie: tau-b and average ranks
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
        assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)


def test_correlation_intervals_use_the_gain_replicates() -> None:
    difficulty = [1.0, 2.0, 3.0, 4.0]
    gains = np.array([0.4, 0.3, 0.2, 0.1])
    rng = np.random.default_rng(0)
    draws = gains + rng.normal(scale=0.01, size=(500, 4))  # tiny noise: ranking is certain
    result = rank_correlation(difficulty, gains, draws)
    assert result.spearman == pytest.approx(-1.0)
    assert result.kendall == pytest.approx(-1.0)
    assert result.spearman_low == pytest.approx(-1.0) and result.spearman_high == pytest.approx(
        -1.0
    )
    assert result.kendall_high == pytest.approx(-1.0)
    noisy = gains + rng.normal(scale=1.0, size=(500, 4))  # noise swamps the ranking
    wide = rank_correlation(difficulty, gains, noisy)
    assert wide.spearman_low < -0.5 and wide.spearman_high > 0.5
    for row in noisy[:20]:  # every replicate's rho is scipy's on that replicate
        assert stats.spearmanr(difficulty, row).statistic >= wide.spearman_low - 1e-9


def test_gain_point_estimate_and_interval_match_scipy_bootstrap() -> None:
    rng = np.random.default_rng(1)
    n = 400
    base = (rng.random(n) < 0.6).astype(float)[:, None]
    system = (rng.random(n) < 0.7).astype(float)[:, None]
    gain, draws = paired_bootstrap_gain([system], [base], "accuracy", samples=4000, seed=5)
    assert gain.gain == pytest.approx(system.mean() - base.mean())
    assert draws.shape == (4000,)
    reference = stats.bootstrap(
        (system[:, 0], base[:, 0]),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        paired=True,
        method="percentile",
        n_resamples=4000,
        rng=np.random.default_rng(9),
    ).confidence_interval
    # different random draws: equal up to Monte Carlo error
    assert gain.low == pytest.approx(reference.low, abs=0.01)
    assert gain.high == pytest.approx(reference.high, abs=0.01)


def test_gain_p_value_separates_real_and_null_effects() -> None:
    rng = np.random.default_rng(2)
    n = 500
    base = [(rng.random((n, 1)) < 0.5).astype(float) for _ in range(2)]
    better = [(rng.random((n, 1)) < 0.65).astype(float) for _ in range(2)]
    same = [b.copy() for b in base]
    real, _ = paired_bootstrap_gain(better, base, "accuracy", samples=2000)
    null, _ = paired_bootstrap_gain(same, base, "accuracy", samples=2000)
    assert real.p_value < 0.01
    assert null.gain == 0.0 and null.p_value == 1.0
    assert real.n_seeds == 2 and real.n_examples == n


def test_f1_gain_resamples_span_counts() -> None:
    rng = np.random.default_rng(4)
    gold = rng.integers(1, 3, size=300).astype(float)
    pred = gold.copy()
    tp_sys = np.minimum(gold, rng.integers(0, 3, size=300))
    tp_base = np.minimum(gold, rng.integers(0, 2, size=300))
    system = np.stack([tp_sys, pred, gold], axis=1)
    base = np.stack([tp_base, pred, gold], axis=1)
    gain, _ = paired_bootstrap_gain([system], [base], "f1", samples=500)
    expected = 2 * tp_sys.sum() / (2 * gold.sum()) - 2 * tp_base.sum() / (2 * gold.sum())
    assert gain.gain == pytest.approx(expected)
    assert gain.low < gain.gain < gain.high


def test_gain_interval_covers_the_true_gain_at_about_the_nominal_rate() -> None:
    """Simulation: an example is solved when 0.7 U + 0.3 V < c + e, U shared by both systems
    (paired examples), V per seed and example, e ~ N(0, 0.01) per seed (training-seed
    variance); c = 0.62 for the system and 0.55 for the baseline. For thresholds in [0.3, 0.7],
    P(0.7 U + 0.3 V < t) = (t - 0.15) / 0.7 (linear, so E over e is exact), and the true gain
    is 0.07 / 0.7 = 0.1. The 90 % interval over examples and 3 seeds must cover it in about
    90 % of the repetitions."""
    rng = np.random.default_rng(7)
    true_gain, repetitions, n, seeds = 0.1, 300, 300, 3
    covered = 0
    for rep in range(repetitions):
        shared = rng.random(n)
        system, base = [], []
        for _ in range(seeds):
            x = 0.7 * shared + 0.3 * rng.random(n)
            base.append((x < 0.55 + rng.normal(0, 0.01)).astype(float)[:, None])
            system.append((x < 0.62 + rng.normal(0, 0.01)).astype(float)[:, None])
        gain, _ = paired_bootstrap_gain(
            system, base, "accuracy", samples=400, confidence=0.9, seed=rep
        )
        covered += gain.low <= true_gain <= gain.high
    rate = covered / repetitions
    assert 0.84 <= rate <= 0.96, rate


def _cell(
    folder: Path, setting: str, seed: int, accuracy_by_language: dict[str, np.ndarray]
) -> None:
    """A result file and its per-example file for one toy_nli cell."""
    from harness.results.schema import examples_path
    from tests.unit.test_store import result

    data = result(None if setting == "none" else setting, "toy_nli")
    data["seed"] = seed
    data["run_id"] = f"m/{setting}/toy_nli/s{seed}"
    for score_row in data["scores"]:
        score_row["value"] = float(accuracy_by_language[score_row["language"]].mean())
    path = folder / f"{setting}-toy_nli-s{seed}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    lines = [
        json.dumps(
            {
                "language": lang,
                "split": "test",
                "metric": "accuracy",
                "ids": [str(i) for i in range(len(correct))],
                "stats": [[float(c)] for c in correct],
            }
        )
        for lang, correct in accuracy_by_language.items()
    ]
    examples_path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_analyze_end_to_end(tmp_path: Path) -> None:
    """Three intermediate tasks whose gain falls with their difficulty, two seeds: gains equal
    the per-example means, the correlation is -1 with a tight interval, files are written."""
    from harness.stages.analyze import analyze
    from tests.unit.test_store import LANGS

    cells, difficulty = tmp_path / "cells", tmp_path / "difficulty"
    cells.mkdir()
    difficulty.mkdir()
    rng = np.random.default_rng(0)
    n = 400
    uniform = {lang["code"]: rng.random(n) for lang in LANGS}
    true_gain = {"none": 0.0, "easy": 0.15, "mid": 0.08, "hard": 0.0}
    for seed in (1, 2):
        for setting, gain in true_gain.items():
            _cell(cells, setting, seed, {c: u < 0.5 + gain for c, u in uniform.items()})
    for rank, task in enumerate(("easy", "mid", "hard")):
        (difficulty / f"{task}.json").write_text(
            json.dumps(
                {"task": task, "model": "m", "seed": 1, "measures": {"neg_mean_pvi": rank - 1.0}}
            )
        )
    tables = analyze(cells, difficulty, LANGS, tmp_path / "out", samples=500)
    gains = tables["gains"]
    row = gains[(gains["intermediate"] == "easy") & (gains["language"] == "xb")].iloc[0]
    u = uniform["xb"]
    assert row["gain"] == pytest.approx((u < 0.65).mean() - (u < 0.5).mean())
    assert row["n_seeds"] == 2 and row["p_value"] < 0.01 and row["low"] < row["gain"] < row["high"]
    hard = gains[gains["intermediate"] == "hard"]
    assert (hard["gain"] == 0).all() and (hard["p_value"] == 1).all()
    corr = tables["correlations"]
    everything = corr[(corr["grouping"] == "all") & (corr["measure"] == "neg_mean_pvi")].iloc[0]
    assert everything["spearman"] == pytest.approx(-1.0)
    assert everything["kendall"] == pytest.approx(-1.0)
    assert everything["spearman_high"] == pytest.approx(-1.0)  # the ranking is certain
    assert everything["n_languages"] == 4  # English left out
    assert set(corr["grouping"]) == {"all", "language", "genus", "script", "resource_band"}
    assert tables["difficulty"].set_index("task")["tier"].to_dict() == {
        "easy": 1,
        "mid": 2,
        "hard": 3,
    }
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["difficulty_ranking"]["neg_mean_pvi"] == ["easy", "mid", "hard"]
    assert metrics["correlation"]["neg_mean_pvi"]["spearman"] == pytest.approx(-1.0)
    for name in ("gains", "correlations", "difficulty", "difficulty_gain"):
        assert (tmp_path / "out" / f"{name}.csv").is_file()


def test_analyze_needs_the_per_example_files(tmp_path: Path) -> None:
    from harness.errors import HarnessError
    from harness.stages.analyze import analyze
    from tests.unit.test_store import LANGS

    _cell(tmp_path, "none", 1, {lang["code"]: np.ones(3) for lang in LANGS})
    (tmp_path / "none-toy_nli-s1.examples.jsonl").unlink()
    with pytest.raises(HarnessError, match="per-example file"):
        analyze(tmp_path, tmp_path / "nothing", LANGS, tmp_path / "out")

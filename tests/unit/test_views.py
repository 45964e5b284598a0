from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

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
